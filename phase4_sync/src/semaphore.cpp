// Semaphore. See include/green/semaphore.hpp and detail/waiter.hpp.
#include <green/semaphore.hpp>

#include <stdexcept>
#include <string>

namespace green {

using detail::PreemptOff;

Semaphore::Semaphore(std::ptrdiff_t initial) : count_(initial) {
  // BEGIN SOLUTION
  if (initial < 0) throw std::invalid_argument("green::Semaphore: initial count " + std::to_string(initial) + " < 0");
  // STUB: detail::unimplemented("phase 4: Semaphore's argument checks (semaphore.cpp) are yours to write");
  // END SOLUTION
}

bool Semaphore::try_acquire() noexcept {
  // BEGIN SOLUTION
  std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
  // acquire: pairs with release's release; we see what the releaser did.
  while (c > 0)
    if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  return false;
  // STUB: detail::unimplemented("phase 4: Semaphore::try_acquire (semaphore.cpp) is yours to write");
  // END SOLUTION
}

void Semaphore::acquire() {
  if (try_acquire()) return;
  detail::Waiter me;
  PreemptOff no_preempt;
  guard_.lock();
  // BEGIN SOLUTION
  // Checked again under guard_: release adds to count_ only under it, after
  // serving the queue, so either we see its permit or it sees us queued.
  if (try_acquire()) return guard_.unlock();
  waiters_.push_back(&me);
  detail::sleep_queued(me, guard_, waiters_, detail::kNever);  // woken = handed a permit
  // STUB: detail::unimplemented("phase 4: Semaphore::acquire (semaphore.cpp) is yours to write");
  // END SOLUTION
}

void Semaphore::release(std::ptrdiff_t n) {
  // BEGIN SOLUTION
  if (n < 0) throw std::invalid_argument("green::Semaphore::release: n " + std::to_string(n) + " < 0");
  // STUB: detail::unimplemented("phase 4: Semaphore's argument checks (semaphore.cpp) are yours to write");
  // END SOLUTION
  while (n > 0) {
    PreemptOff no_preempt;
    detail::Wakeups wake;  // delivered after guard_ is released
    guard_.lock();
    // BEGIN SOLUTION
    while (n > 0 && !wake.full()) {
      detail::Waiter* w = waiters_.pop_front();
      if (!w) {
        count_.fetch_add(n, std::memory_order_release);  // pairs with try_acquire's acquire
        n = 0;
      } else if (wake.add(w)) {
        --n;  // handed over directly (published by the claim's release)
      }
    }
    // STUB: n = 0;
    // STUB: detail::unimplemented("phase 4: Semaphore::release (semaphore.cpp) is yours to write");
    // END SOLUTION
    guard_.unlock();
  }
}

}  // namespace green
