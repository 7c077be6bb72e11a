// Semaphore: a counting semaphore (phase 4). It parks tasks and blocks plain
// threads; waiters are served first come, first served.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>

#include <atomic>
#include <cstddef>

namespace green {

class Semaphore {
 public:
  // initial < 0: std::invalid_argument.
  explicit Semaphore(std::ptrdiff_t initial);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  void acquire();
  bool try_acquire() noexcept;
  // Gives n permits: to up to n waiters, oldest first, the rest to the count.
  // n < 0: std::invalid_argument.
  void release(std::ptrdiff_t n = 1);

 private:
  std::atomic<std::ptrdiff_t> count_;  // permits nobody holds
  detail::SpinLock guard_;             // guards waiters_; release adds to count_ under it
  detail::WaitList waiters_{"green::Semaphore", this};
};

}  // namespace green
