// SpinLock: a test-and-test-and-set lock for critical sections of a few
// instructions (the join slot). Never held across a switch or a system call.
#pragma once
#include <atomic>

namespace green::detail {

class SpinLock {
 public:
  void lock() noexcept {
    // acquire: pairs with unlock()'s release; the critical section sees what
    // the previous holder wrote.
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }  // pairs with lock()

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace green::detail
