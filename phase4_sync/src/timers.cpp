// The timer heaps. See include/green/detail/timers.hpp.
#include <green/detail/io_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

#include <sys/prctl.h>

namespace green::detail {

void TimerHeap::publish() noexcept {
  next_.store(a_.empty() ? kNever : a_[0].deadline, std::memory_order_seq_cst);  // see next_
}

void TimerHeap::sift_up(std::uint32_t i) noexcept {
  // BEGIN SOLUTION
  Entry e = a_[i];
  while (i > 0) {
    std::uint32_t parent = (i - 1) / kArity;
    if (a_[parent].deadline <= e.deadline) break;
    place(i, a_[parent]);
    i = parent;
  }
  place(i, e);
  // STUB: (void)i;
  // STUB: unimplemented("phase 4: TimerHeap::sift_up (timers.cpp) is yours to write");
  // END SOLUTION
}

void TimerHeap::sift_down(std::uint32_t i) noexcept {
  // BEGIN SOLUTION
  Entry e = a_[i];
  const auto n = static_cast<std::uint32_t>(a_.size());
  for (;;) {
    std::uint32_t first = kArity * i + 1, child = first;
    if (first >= n) break;
    for (std::uint32_t c = first + 1; c < first + kArity && c < n; ++c)  // the earliest child
      if (a_[c].deadline < a_[child].deadline) child = c;
    if (e.deadline <= a_[child].deadline) break;
    place(i, a_[child]);
    i = child;
  }
  place(i, e);
  // STUB: (void)i;
  // STUB: unimplemented("phase 4: TimerHeap::sift_down (timers.cpp) is yours to write");
  // END SOLUTION
}

void TimerHeap::arm(Timer* t) {
  std::lock_guard lk(m_);
  t->heap = this;
  a_.push_back({t->deadline, t});
  sift_up(static_cast<std::uint32_t>(a_.size() - 1));
  publish();
}

bool TimerHeap::cancel(Timer* t) noexcept {
  std::lock_guard lk(m_);
  std::uint32_t i = t->index;
  if (i == Timer::kNotArmed) return false;
  // BEGIN SOLUTION
  // The last timer takes t's place, then moves up or down to where it belongs.
  Entry last = a_.back();
  a_.pop_back();
  if (last.t != t) {
    place(i, last);
    sift_up(i);
    sift_down(last.t->index);
  }
  // STUB: unimplemented("phase 4: TimerHeap::cancel (timers.cpp) is yours to write");
  // END SOLUTION
  t->index = Timer::kNotArmed;
  publish();
  return true;
}

int TimerHeap::fire_due(std::int64_t now) {
  if (next() > now) return 0;  // the common case: no lock
  std::lock_guard lk(m_);
  int n = 0;
  while (!a_.empty() && a_[0].deadline <= now) {
    Timer* t = a_[0].t;
    Entry last = a_.back();
    a_.pop_back();
    if (last.t != t) {
      place(0, last);
      sift_down(0);
    }
    t->index = Timer::kNotArmed;
    t->fire(t);  // under m_: cancel waits for it (see timers.hpp)
    ++n;
  }
  publish();
  return n;
}

std::size_t TimerHeap::size() noexcept {
  std::lock_guard lk(m_);
  return a_.size();
}

std::int64_t Timers::earliest() const noexcept {
  std::int64_t e = kNever;
  for (const TimerHeap& h : heaps) e = std::min(e, h.next());
  return e;
}

// Wakes the keeper without picking it (wake 0 -> 2; see event_source.cpp):
// it finds the new deadline and sleeps again. The caller is one of k's
// runtime's workers, so the runtime outlives the call.
void poke_keeper(Worker* k) noexcept {
  std::uint32_t idle = 0;
  // relaxed: the wake-up orders nothing; the keeper re-reads the heaps (seq_cst).
  if (k->wake.compare_exchange_strong(idle, 2, std::memory_order_relaxed)) io_wake(*k, io_source_of(*k->rt));
}

void cut_timer_slack() noexcept {
  thread_local bool cut = (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0), true);
  (void)cut;
}

void arm_timer(Worker& w, Timer* t) {
  Timers& ts = timers_of(*w.rt);
  ts.heaps[w.index].arm(t);
  // BEGIN SOLUTION
  // seq_cst: after arm's seq_cst store of next_; the keeper stores
  // keeper_until and then re-reads every next_ (event_source.cpp). One of us
  // sees the other: the keeper sees this timer, or we see its later wake-up.
  if (t->deadline < ts.keeper_until.load(std::memory_order_seq_cst))
    if (Worker* k = ts.keeper.load(std::memory_order_seq_cst)) poke_keeper(k);
  // STUB: unimplemented("phase 4: arm_timer (timers.cpp): waking the keeper is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
