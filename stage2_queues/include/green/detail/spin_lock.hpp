// SpinLock: a test-and-test-and-set lock for critical sections of a few
// instructions (the join slot). Never held across a switch or a system call.
#pragma once
#include <green/detail/unimplemented.hpp>

#include <atomic>

namespace green::detail {

class SpinLock {
 public:
  void lock() noexcept {
    // acquire: pairs with unlock()'s release; the critical section sees what
    // the previous holder wrote.
    // BEGIN SOLUTION
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    // STUB: unimplemented("stage 2: SpinLock::lock is yours to write (include/green/detail/spin_lock.hpp)");
    // END SOLUTION
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }  // pairs with lock()

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace green::detail
