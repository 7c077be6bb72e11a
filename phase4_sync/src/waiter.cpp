// Wait lists and the waiting half of every primitive. See detail/waiter.hpp.
#include <green/detail/deadlock.hpp>
#include <green/detail/futex.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/waiter.hpp>

#include <limits>
#include <stdexcept>
#include <string>

namespace green::detail {

void WaitList::push_back(Waiter* w) noexcept {
  w->next = nullptr;
  w->prev = tail_;
  (tail_ ? tail_->next : head_) = w;
  tail_ = w;
  w->queued = true;
  ++size_;
}

void WaitList::push_front(Waiter* w) noexcept {
  w->prev = nullptr;
  w->next = head_;
  (head_ ? head_->prev : tail_) = w;
  head_ = w;
  w->queued = true;
  ++size_;
}

void WaitList::remove(Waiter* w) noexcept {
  (w->prev ? w->prev->next : head_) = w->next;
  (w->next ? w->next->prev : tail_) = w->prev;
  w->next = w->prev = nullptr;
  w->queued = false;
  --size_;
}

Waiter* WaitList::pop_front() noexcept {
  Waiter* w = head_;
  if (w) remove(w);
  return w;
}

bool Wakeups::add(Waiter* w) noexcept {
  Item it{w->task, w->parker};  // read before the claim: after it, w may be gone
  if (!w->claim()) return false;
  items_[n_++] = it;
  return true;
}

void Wakeups::deliver() noexcept {
  for (int i = 0; i < n_; ++i) {
    if (items_[i].task) {
      unpark(items_[i].task);
    } else {
      // release: pairs with the sleeper's acquire load of gen; seeing the
      // bump, it sees the claim that came before it.
      items_[i].parker->gen.fetch_add(1, std::memory_order_release);
      // Every sleeper on it: one thread's, but see ~ThreadParker.
      futex_wake(items_[i].parker->gen, std::numeric_limits<int>::max());
    }
  }
  n_ = 0;
}

namespace {
SpinLock parker_pool_lock;
Parker* parker_pool = nullptr;   // under parker_pool_lock
Parker* parkers_made = nullptr;  // every Parker, through `made`; under parker_pool_lock

struct ThreadParker {
  Parker* p = nullptr;
  // The thread exits: its Parker goes back, still alive. A wait in a later
  // thread_local's destructor takes another (kept: this one is gone); were
  // it to reuse p, two threads could sleep on one Parker at once, hence the
  // wake of every sleeper in deliver.
  ~ThreadParker() {
    if (!p) return;
    parker_pool_lock.lock();
    p->next = parker_pool, parker_pool = p;
    parker_pool_lock.unlock();
    p = nullptr;
  }
};
thread_local ThreadParker this_thread_parker;
}  // namespace

Parker* thread_parker() noexcept {
  ThreadParker& mine = this_thread_parker;
  if (mine.p) return mine.p;
  parker_pool_lock.lock();
  Parker* p = parker_pool;
  if (p) parker_pool = p->next;
  else p = new Parker, p->made = parkers_made, parkers_made = p;  // never freed (see Parker), always reachable
  parker_pool_lock.unlock();
  return mine.p = p;
}

namespace {
// Plain threads waiting in a primitive. relaxed: a hint for the deadlock
// detector, which reads it with every worker parked (deadlock.hpp).
std::atomic<int> waiting_threads{0};
struct ThreadWaiting {
  ThreadWaiting() noexcept { waiting_threads.fetch_add(1, std::memory_order_relaxed); }
  ~ThreadWaiting() { waiting_threads.fetch_sub(1, std::memory_order_relaxed); }
};

struct WaitTimer : Timer {
  Waiter* w = nullptr;
};
// Under the timer heap's lock: the waiter cannot be gone (it cancels its
// timer, which waits for this, before it returns).
[[maybe_unused]] void wait_timed_out(Timer* t) {  // (unused in a starter tree)
  Waiter* w = static_cast<WaitTimer*>(t)->w;
  if (w->time_out()) unpark(w->task);
}
}  // namespace

bool sleep_queued(Waiter& me, SpinLock& guard, WaitList& list, std::int64_t deadline, void (*then)(void*),
                  void* arg) {
  // BEGIN SOLUTION
  if (me.task) {
    WaitTimer timer;
    if (deadline != kNever) {
      timer.w = &me;
      timer.deadline = deadline;
      timer.fire = wait_timed_out;
      arm_timer(*current_worker(), &timer);  // the caller's PreemptOff keeps us on this worker
    } else if (Worker* w = current_worker()) {
      me.blocked.task = me.task;
      me.blocked.on = &list;
      note_blocked(*w, me.blocked);  // for the deadlock report, should it come to that
    }
    Waiting waiting(me.task, list.what, reinterpret_cast<std::intptr_t>(list.owner));
    guard.unlock();
    if (then) then(arg);
    park_current(nullptr, nullptr);  // until claimed and unparked, or timed out
    if (deadline != kNever) timer.heap->cancel(&timer);  // waits for a fire in progress
    else note_unblocked(me.blocked);
  } else {
    ThreadWaiting counted;
    guard.unlock();
    if (then) then(arg);
    timespec ts = to_timespec(deadline);
    for (;;) {
      // acquire: pairs with deliver's release bump. gen is read first, so a
      // claim this misses bumps gen after, and the futex wait returns at once.
      std::uint32_t gen = me.parker->gen.load(std::memory_order_acquire);
      if (me.state.load(std::memory_order_acquire) != Waiter::kWaiting) break;  // pairs with claim
      if (deadline != kNever && now_ns() >= deadline && me.time_out()) break;
      futex_wait(me.parker->gen, gen, deadline == kNever ? nullptr : &ts);
    }
  }
  if (me.state.load(std::memory_order_acquire) == Waiter::kWoken) return true;
  guard.lock();  // timed out: unlink, unless a waker unlinked us and then lost the claim
  if (me.queued) list.remove(&me);
  guard.unlock();
  return false;
  // STUB: (void)me, (void)guard, (void)list, (void)deadline, (void)then, (void)arg;
  // STUB: unimplemented("phase 4: sleep_queued (waiter.cpp) is yours to write");
  // END SOLUTION
}

void require_timers(const char* what) {
  if (current_task() && !current_worker())
    throw std::logic_error(std::string(what) + ": a timed wait needs a Runtime's timers; a LocalScheduler has none");
}

int threads_waiting() noexcept { return waiting_threads.load(std::memory_order_relaxed); }

const void* self_id() noexcept {
  static thread_local const char thread_tag = 0;
  Task* t = current_task();
  return t ? static_cast<const void*>(t) : &thread_tag;
}

}  // namespace green::detail
