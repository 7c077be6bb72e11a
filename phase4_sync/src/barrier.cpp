// Barrier. See include/green/barrier.hpp and detail/waiter.hpp.
#include <green/barrier.hpp>

#include <stdexcept>
#include <utility>

namespace green {

using detail::PreemptOff;

Barrier::Barrier(std::size_t count) : count_(count) {
  // BEGIN SOLUTION
  if (count == 0) throw std::invalid_argument("green::Barrier: a count of 0");
  // STUB: detail::unimplemented("phase 4: Barrier's argument check (barrier.cpp) is yours to write");
  // END SOLUTION
}

void Barrier::arrive_and_wait() {
  detail::Waiter me;
  PreemptOff no_preempt;
  guard_.lock();
  // BEGIN SOLUTION
  if (++arrived_ < count_) {
    waiters_.push_back(&me);
    detail::sleep_queued(me, guard_, waiters_, detail::kNever);
    return;
  }
  // The last to arrive: this round's waiters go, the next round starts empty.
  // Barrier waits have no timeout, so no waiter leaves before it is claimed,
  // and the round's list can be walked after guard_ is released.
  arrived_ = 0;
  detail::WaitList round{"green::Barrier", this};
  round.take_all(waiters_);
  guard_.unlock();
  while (!round.empty()) {
    detail::Wakeups wake;
    while (!wake.full() && !round.empty()) wake.add(round.pop_front());
  }
  // STUB: detail::unimplemented("phase 4: Barrier::arrive_and_wait (barrier.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green
