// Stage 2's scheduling policy: where a Ready task goes and where a worker
// looks for work. (Stage 3 replaces this file with work stealing.)
//
// Where a Ready task goes (submit):
//   - priority above or below the default: the global queue, so that every
//     worker sees it (workers look there first for higher priorities);
//   - made Ready on a worker: that worker's local ring, at the tail;
//     when the ring is full, the older half of it moves to the global queue;
//   - made Ready anywhere else: the global queue.
// Where a worker looks (find_work), in order:
//   1. the global queue, if it holds a priority above the default;
//   2. the global queue, once every 61 picks, so nothing of default priority
//      starves there (lower priorities wait until nothing else is Ready);
//   3. its local ring (FIFO: yields and spawns take turns, round robin);
//   4. the global queue;
//   5. spin a little watching the global queue (a futex wake-up across
//      CPUs costs tens of microseconds here), then park.
// In this stage a worker never takes from another worker's ring: an idle
// worker can only help through the global queue. Stage 3 fixes that.
// Preemption (phase 3's timer asks; see Scheduler): whether a running task
// is outranked, and where a preempted one goes, at the end.
#include <green/detail/unimplemented.hpp>
#include <green/detail/runtime_impl.hpp>

namespace green::detail {

void RuntimeImpl::submit(Task* t) {
  // BEGIN SOLUTION
  Worker* w = this_worker();
  if (!w || t->word.priority() != kDefaultPriority) return push_global(t);
  if (!w->local.push(t)) spill_to_global(*w, t);
  // STUB: (void)t;
  // STUB: unimplemented("stage 2: RuntimeImpl::submit (worker_loop.cpp) is yours to write");
  // END SOLUTION
}

// The ring is FIFO: a yielded task goes behind every other local task.
void RuntimeImpl::submit_yielded(Dispatcher&, Task* t) { submit(t); }

Task* RuntimeImpl::find_work(Worker& w) {
  // BEGIN SOLUTION
  constexpr int kSpins = 2000;  // ~ tens of microseconds of pause
  for (;;) {
    Task* t = nullptr;
    if (global.maybe_above(kDefaultPriority) && (t = global.pop())) return t;
    if (w.fair_turn() && (t = global.pop(kDefaultPriority))) return t;
    if ((t = w.local.pop())) return t;
    if ((t = global.pop())) return t;
    if (stopping()) return nullptr;

    // While we spin, producers need not wake anyone: we will see their work.
    nspinning_.fetch_add(1, std::memory_order_relaxed);  // a hint; the decrement below decides
    for (int i = 0; i < kSpins && !global.maybe_nonempty() && !stopping(); ++i) __builtin_ia32_pause();
    // seq_cst RMW, then a seq_cst look: a Dekker pair with push_global_chain
    // [seq_cst push; seq_cst load of nspinning_]. A producer that still saw
    // us spinning (and woke nobody) pushed before this decrement in the
    // total order, so the look below sees its work.
    nspinning_.fetch_sub(1, std::memory_order_seq_cst);
    if (global.nonempty_sc()) {
      // Producers that saw us spinning woke nobody, and there may be more
      // than the one task we take: hand the looking on (Go's resetspinning).
      // Without this, two spawns from a thread while one worker spun left the
      // second task queued behind the first's worker, the other one asleep.
      // seq_cst: as push_global_chain's load of nspinning_ (another spinner will look).
      if (nspinning_.load(std::memory_order_seq_cst) == 0) wake_one();
      continue;
    }
    park(w, [this] { return global.nonempty_sc(); });
  }
  // STUB: (void)w;
  // STUB: unimplemented("stage 2: RuntimeImpl::find_work (worker_loop.cpp) is yours to write");
  // END SOLUTION
}

// Does a Ready task outrank t? Priorities other than the default always go
// through the global queue, whose bitmap says which are there; tasks of the
// default priority sit in the worker's ring, so they outrank a t below it.
// Both looks are relaxed loads (maybe_above, the ring's size): hints, which
// is all a tick needs, and async-signal-safe.
bool RuntimeImpl::outranked(Dispatcher& d, const Task& t) noexcept {
  int p = t.word.priority();
  return global.maybe_above(p) || (p < kDefaultPriority && !static_cast<Worker&>(d).local.empty());
}

// Where a preempted task goes: behind everything Ready that its worker would
// run. If the global queue holds work, to its back (as in Go): requeued like
// a yield, into the worker's ring, it would be picked again ahead of that
// work, which the worker serves after the ring. Otherwise like a yield:
// behind the worker's own tasks, and at once again if there are none. (Not
// always the global queue: the check every 61 picks prefers it to the ring,
// so a preempted task put there could overtake a task that yielded to it.)
void RuntimeImpl::submit_preempted(Dispatcher& d, Task* t) {
  if (global.maybe_nonempty()) push_global(t);
  else submit_yielded(d, t);
}

}  // namespace green::detail
