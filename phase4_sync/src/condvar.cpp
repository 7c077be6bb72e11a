// CondVar. See include/green/condvar.hpp and detail/waiter.hpp.
#include <green/condvar.hpp>

#include <cstdint>

namespace green {

using detail::PreemptOff;

bool CondVar::wait_until_ns(std::unique_lock<Mutex>& lk, std::int64_t deadline) {
  // BEGIN SOLUTION
  if (!lk.owns_lock())
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "green::CondVar::wait: the unique_lock does not hold its mutex");
  if (deadline != detail::kNever) detail::require_timers("green::CondVar::wait_for");
  // STUB: (void)lk, (void)deadline;
  // STUB: detail::unimplemented("phase 4: CondVar's argument checks (condvar.cpp) are yours to write");
  // END SOLUTION
  detail::Waiter me;
  bool woken;
  {
    PreemptOff no_preempt;  // queued, then parked (detail/waiter.hpp)
    // BEGIN SOLUTION
    guard_.lock();
    waiters_.push_back(&me);
    // Queued first, then the mutex goes: a notify after the unlock finds us.
    woken = detail::sleep_queued(me, guard_, waiters_, deadline,
                                 [](void* m) { static_cast<Mutex*>(m)->unlock(); }, lk.mutex());
    // STUB: woken = false;
    // STUB: detail::unimplemented("phase 4: CondVar::wait_until_ns (condvar.cpp) is yours to write");
    // END SOLUTION
  }
  lk.mutex()->lock();  // lk still owns it, as far as lk knows
  return woken;
}

void CondVar::notify_one() {
  PreemptOff no_preempt;
  detail::Wakeups wake;  // delivered after guard_ is released
  guard_.lock();
  // BEGIN SOLUTION
  while (detail::Waiter* w = waiters_.pop_front())
    if (wake.add(w)) break;  // else its timeout won: it is leaving anyway, try the next
  // STUB: detail::unimplemented("phase 4: CondVar::notify_one (condvar.cpp) is yours to write");
  // END SOLUTION
  guard_.unlock();
}

void CondVar::notify_all() {
  // In batches (Wakeups holds 32), each claimed under guard_ and woken after,
  // at most as many as were queued when we started.
  for (std::size_t left = SIZE_MAX; left;) {
    PreemptOff no_preempt;
    detail::Wakeups wake;
    guard_.lock();
    // BEGIN SOLUTION
    if (left == SIZE_MAX) left = waiters_.size();
    for (; left && !wake.full(); --left) {
      detail::Waiter* w = waiters_.pop_front();
      if (!w) left = 1;  // fewer than counted: some timed out meanwhile
      else wake.add(w);
    }
    // STUB: left = 0;
    // STUB: detail::unimplemented("phase 4: CondVar::notify_all (condvar.cpp) is yours to write");
    // END SOLUTION
    guard_.unlock();
  }
}

}  // namespace green
