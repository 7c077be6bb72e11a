// Mutex. See include/green/mutex.hpp for the policy, detail/waiter.hpp for
// how a waiter sleeps and is woken.
//
// state_ holds kLocked and kWaiters. kWaiters changes only under guard_, and
// is set by a locker before its last try: an unlock that lands after that
// sees kWaiters (its CAS from plain kLocked fails) and takes guard_, which
// the locker holds until it is queued; an unlock that lands before it has
// cleared kLocked, and the last try succeeds. So no waiter sleeps on a free
// lock.
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/detail/wait_graph.hpp>
#include <green/mutex.hpp>

#include <cstdio>
#include <cstdlib>

namespace green {

using detail::PreemptOff;

static constexpr int kSpins = 64;  // tries before queueing: ~ a microsecond of pause

// Spinning pays only while this worker has nothing else to run (Go's
// canSpin asks the same of its P's run queue): with other tasks waiting, the
// worker does better to park this one and run them, and the spinner's loads
// would only pull the lock's line away from its holder. Threads always spin.
static bool worth_spinning() noexcept {
  detail::Worker* w = detail::current_task() ? detail::current_worker() : nullptr;
  return !w || !w->local.nonempty_sc();  // a hint (its own queue; plain loads on x86): orders nothing
}

bool Mutex::try_acquire() noexcept {
  // BEGIN SOLUTION
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  // acquire: pairs with unlock's release; we see the previous holder's writes.
  while (!(s & kLocked))
    if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  return false;
  // STUB: detail::unimplemented("phase 4: Mutex::try_acquire (mutex.cpp) is yours to write");
  // END SOLUTION
}

// A task counts the Mutexes it holds: only a joiner that holds one enters the
// wait-for graph (join_wait.cpp). Its own field, its own writes.
static void count_held(int d) noexcept {
  if (detail::Task* t = detail::current_task()) t->held += static_cast<std::uint32_t>(d);
}

bool Mutex::try_lock() noexcept {
  if (!try_acquire()) return false;
  owner_.store(detail::self_id(), std::memory_order_relaxed);  // read by the holder's checks and the graph
  count_held(1);
  return true;
}

void Mutex::lock() {
  const void* self = detail::self_id();
  if (!try_acquire()) {
    // relaxed: only our own earlier store can make it equal self.
    if (owner_.load(std::memory_order_relaxed) == self)
      detail::wait_for_mutex(self, *this);  // a cycle of one: throws DeadlockError naming it
    bool got = false;
    for (int i = worth_spinning() ? 0 : kSpins; i < kSpins && !got; ++i) {
      __builtin_ia32_pause();
      got = !(state_.load(std::memory_order_relaxed) & kLocked) && try_acquire();
    }
    if (!got) lock_slow(self);
  }
  count_held(1);
  owner_.store(self, std::memory_order_relaxed);  // read only by the holder's own checks
}

// relaxed: the graph lock orders what the walk needs (wait_graph.hpp).
const void* detail::holder_of(const Mutex& m) noexcept { return m.owner_.load(std::memory_order_relaxed); }

void Mutex::lock_slow(const void* self) {
  detail::wait_for_mutex(self, *this);  // throws DeadlockError if this wait closes a cycle
  struct Over {
    const void* self;
    ~Over() { detail::wait_over(self); }
  } over{self};
  detail::Waiter me;
  bool again = false;  // woken once and beaten to it: keep our place at the front
  for (;;) {
    PreemptOff no_preempt;  // guard_ is a spin lock; and queued-then-parked (waiter.hpp)
    guard_.lock();
    // BEGIN SOLUTION
    // relaxed: flags under guard_; the CASes on state_ order them.
    if (again) state_.fetch_and(~kWoken, std::memory_order_relaxed);  // unlock may wake another now
    state_.fetch_or(kWaiters, std::memory_order_relaxed);
    if (try_acquire()) {
      if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
      guard_.unlock();
      return;
    }
    if (!me.since) me.since = detail::now_ns();
    again ? waiters_.push_front(&me) : waiters_.push_back(&me);
    detail::sleep_queued(me, guard_, waiters_, detail::kNever);
    if (me.handoff) return;  // unlock gave us the lock (kLocked stayed set)
    again = true;
    me.rearm();
    // STUB: (void)again;
    // STUB: detail::unimplemented("phase 4: Mutex::lock_slow (mutex.cpp) is yours to write");
    // END SOLUTION
  }
}

void Mutex::unlock() {
  // BEGIN SOLUTION
  if (owner_.load(std::memory_order_relaxed) != detail::self_id()) {
    std::fprintf(stderr, "green::Mutex::unlock: the caller does not hold this mutex\n");
    std::abort();
  }
  // STUB: detail::unimplemented("phase 4: Mutex::unlock's check of the caller (mutex.cpp) is yours to write");
  // END SOLUTION
  owner_.store(nullptr, std::memory_order_relaxed);
  count_held(-1);
  std::uint32_t s = kLocked;
  // release: pairs with try_acquire's acquire. Fails if a flag is set.
  if (state_.compare_exchange_strong(s, 0, std::memory_order_release, std::memory_order_relaxed)) return;
  // A woken waiter is on its way: it will try, and either take the lock or
  // queue again and clear kWoken, so that the next unlock wakes somebody.
  // Nobody to wake now: release, without guard_ (Go's unlockSlow does the same).
  while (s & kWoken)
    if (state_.compare_exchange_weak(s, s & ~kLocked, std::memory_order_release, std::memory_order_relaxed)) return;
  unlock_slow();
}

void Mutex::unlock_slow() {
  PreemptOff no_preempt;
  detail::Wakeups wake;  // delivered by its destructor, after guard_ is released
  guard_.lock();
  // BEGIN SOLUTION
  // One woken waiter at a time: while one is on its way (kWoken), waking
  // another would only add a loser to the race (Go's mutexWoken).
  detail::Waiter* w = waiters_.front();
  bool starving = w && detail::now_ns() - w->since >= kStarvation;
  if (w && (starving || !(state_.load(std::memory_order_relaxed) & kWoken))) waiters_.pop_front();
  else w = nullptr;
  // relaxed: flags under guard_; the CASes on state_ order them.
  if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
  if (starving) {
    w->handoff = true;  // kLocked stays set: the lock passes to w (published by claim's release)
  } else {
    if (w) state_.fetch_or(kWoken, std::memory_order_relaxed);
    state_.fetch_and(~kLocked, std::memory_order_release);  // pairs with try_acquire's acquire
  }
  if (w) wake.add(w);  // mutex waits have no timeout: the claim always succeeds
  // STUB: detail::unimplemented("phase 4: Mutex::unlock_slow (mutex.cpp) is yours to write");
  // END SOLUTION
  guard_.unlock();
}

}  // namespace green
