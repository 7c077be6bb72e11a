// Barrier: a cyclic barrier (phase 4). It parks tasks and blocks plain threads.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>

#include <cstddef>

namespace green {

class Barrier {
 public:
  // count == 0: std::invalid_argument.
  explicit Barrier(std::size_t count);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Waits until `count` callers have arrived, then releases them all; the
  // barrier is then ready for the next round.
  void arrive_and_wait();

 private:
  const std::size_t count_;
  std::size_t arrived_ = 0;   // this round; guarded by guard_
  detail::SpinLock guard_;
  detail::WaitList waiters_{"green::Barrier", this};  // this round's; guarded by guard_
};

}  // namespace green
