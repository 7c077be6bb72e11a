// Stage 3's scheduling policy: work stealing. (Replaces stage 2's file.)
//
// Where a Ready task goes (submit):
//   - priority above or below the default: the global queue (every worker
//     looks there first for higher priorities);
//   - made Ready on a worker: that worker's next slot, and the task it
//     displaces to the bottom of the deque (detail/local_queue.hpp); when
//     the deque is full, its older half moves to the global queue; then, if
//     some worker is parked and none is looking for work, wake one so it can
//     steal. Not when an event source says the worker runs it next itself
//     (Worker::runs_next_itself: phase 4's timers, fired as its idle sleep
//     ends) and the next slot was empty: a thief would find nothing, and the
//     futile wake-up costs: on a 2-vCPU VM the woken thread was put on the
//     waker's CPU and the waker waited up to a scheduler tick, so 1 ms
//     sleeps on 2 workers woke 2-3 ms late. (I/O does wake one: a second
//     worker spinning is what takes a server's next ready connections;
//     without it an echo server on 2 workers lost 15-35%);
//   - made Ready anywhere else: the global queue (and wake as above).
// Where a worker looks (find_work), in order:
//   1. the global queue, if it holds a priority above the default;
//   2. once every 61 picks, the global queue (default priority or higher)
//      and then the yielded ring, so nothing starves there while the deque
//      keeps refilling (lower priorities wait until nothing else is Ready);
//   3. its next slot, its own deque at the bottom (newest, LIFO: cache-warm,
//      depth-first), then its ring of yielded tasks (detail/local_queue.hpp);
//   4. the global queue: its oldest task, and a share of the others moved
//      to its deque (take_global: one lock per batch, as Go's globrunqget);
//   5. as a spinning thief (only while another worker runs, and at most
//      half the busy workers at once), a few rounds over the other workers'
//      deques from a random victim, taking one task from the top, and the
//      global queue and the event sources' steal_events (phase 6: the job
//      deques) in between; every kNextEvery-th round, their next slots
//      too, if a task has sat in one since the round before that
//      (detail/local_queue.hpp). Between rounds it pauses for about what a
//      park and a wake-up cost (~10 us), then yields the CPU (sched_yield:
//      at once back if nobody else wants it), so that a spinner never takes
//      a CPU from another thread or process (HANDOUT 4.4);
//   6. park on the futex.
//
// Lost wake-ups. A producer publishes work with a seq_cst store (the
// deque's bottom, or the global queue's bitmap) and then reads nspinning_
// and nparked_ with seq_cst loads. A thief that stops spinning decrements
// nspinning_ with a seq_cst RMW and then re-checks every queue with seq_cst
// loads; a worker that parks increments nparked_ the same way and re-checks.
// In the single total order of seq_cst operations, either the producer's
// loads come after the thief's RMW (the producer sees it parked or no
// longer spinning, and wakes someone) or its store comes before the thief's
// re-check (the thief sees the work). Both cannot miss.
//
// Preemption (phase 3's timer asks; see Scheduler), at the end: stage 2's
// rules (its worker_loop.cpp says why), adapted to the deque and the ring.
#include <green/detail/help_join.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/unimplemented.hpp>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>
#include <sched.h>

namespace green::detail {

// BEGIN SOLUTION
namespace {

// Per-worker random victim selection: xorshift, seeded from the worker's
// index on first use. Only the worker's own loop uses it.
std::uint32_t next_random(std::uint32_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

thread_local std::uint32_t tl_rng = 0;
thread_local std::vector<std::uint64_t> tl_next_seen;  // per victim: its next slot's push count

}  // namespace

// After new work appeared where a thief could take it.
static void wake_a_thief(RuntimeImpl& rt) noexcept {
  // seq_cst: the producer's half of the Dekker pairs described above.
  if (rt.nspinning_.load(std::memory_order_seq_cst) == 0 && rt.nparked_.load(std::memory_order_seq_cst) != 0)
    rt.wake_one();
}

Task* GlobalQueue::pop_batch(std::size_t share, std::size_t max) {
  if (!maybe_nonempty()) return nullptr;
  std::lock_guard lk(m_);
  Task* head = q_.pop();
  if (!head) return nullptr;
  const std::size_t want = head->word.priority() == kDefaultPriority ? std::min(max, size_ / share + 1) : 1;
  std::size_t n = 1;
  Task* tail = head;
  for (; n < want && q_.top_priority() == kDefaultPriority; ++n) tail = tail->next = q_.pop();
  tail->next = nullptr;
  size_ -= n;
  // relaxed: taking work away publishes nothing and needs no wake-up (as pop()).
  bitmap_.store(q_.bitmap(), std::memory_order_relaxed);
  return head;
}

// The global queue's oldest task, for w to run, and with it a share of the
// other default-priority tasks there, moved to w's deque (pop_batch): a
// worker that lives off the global queue, behind a spawner whose deque
// overflows, then takes its lock once per batch, not once per task (a
// million spawns and joins on 2 workers spent a third of their time in that
// lock's futex calls). The deque is empty when we get here (w found nothing
// in it), so the batch, at most half of it, fits. Pushed oldest last, so
// that w runs them in the queue's order and thieves take the newest.
static Task* take_global(RuntimeImpl& rt, Worker& w) noexcept {
  Task* t = rt.global.pop_batch(rt.nworkers(), LocalQueue::capacity() / 2);
  if (!t || !t->next) return t;
  Task* rest = t->next;
  t->next = nullptr;
  Task* reversed = nullptr;
  while (rest) {
    Task* n = rest->next;
    rest->next = reversed;
    reversed = rest;
    rest = n;
  }
  while (reversed) {
    Task* n = reversed->next;
    w.local.push(reversed);  // (seq_cst: publishes it, as submit's push)
    reversed = n;
  }
  wake_a_thief(rt);  // work a thief could take, as after submit
  return t;
}

void RuntimeImpl::submit(Task* t) {
  Worker* w = this_worker();
  if (!w || t->word.priority() != kDefaultPriority) return push_global(t);
  if (Task* old = w->local.push_next(t)) {
    if (!w->local.push(old)) return spill_to_global(*w, old);
  } else if (w->runs_next_itself) {
    return;  // w runs t next itself; a thief would find nothing (see the top)
  }
  wake_a_thief(*this);
}

// Any queue a thief could take from, with seq_cst loads (see the top).
static bool any_work_sc(const RuntimeImpl& rt) noexcept {
  if (rt.global.nonempty_sc()) return true;
  for (auto& v : rt.workers_)
    if (v->local.nonempty_sc()) return true;
  return false;
}

// One pass over the other workers, from a random one; their stale next
// slots too if `next`.
static Task* steal_round(RuntimeImpl& rt, Worker& w, bool next) noexcept {
  if (tl_rng == 0) tl_rng = 0x9E3779B9u * (w.index + 1);
  unsigned n = rt.nworkers();
  if (next && tl_next_seen.size() < n) next = false, tl_next_seen.resize(n);  // (allocates once)
  unsigned start = next_random(tl_rng) % n;
  for (unsigned i = 0; i < n; ++i) {
    Worker& v = *rt.workers_[(start + i) % n];
    if (&v == &w) continue;
    if (Task* t = v.local.steal(); t || (next && (t = v.local.steal_stale_next(&tl_next_seen[v.index])))) {
      w.steals.inc();
      if (!t->run) on_stolen_unstarted(t);  // phase 6: room for its joins to help
      if (tracing()) {
        std::uint64_t now = trace_now();
        trace_span(TraceKind::Steal, v.index, now, now);
      }
      return t;
    }
  }
  return nullptr;
}

void RuntimeImpl::submit_yielded(Dispatcher& d, Task* t) {
  auto& w = static_cast<Worker&>(d);
  if (t->word.priority() != kDefaultPriority || !w.local.push_yielded(t)) push_global(t);
}

// Steps 5 and 6 of find_work: spin as a thief, then park. Returns a task,
// or nullptr when the caller should look at its own queues again (work
// showed up, it was woken, or the runtime is stopping). Out of line, so the
// hot part of find_work (a yield comes through it) stays small.
[[gnu::noinline]] static Task* spin_then_park(RuntimeImpl& rt, Worker& w) {
  constexpr int kRounds = 64, kPausingRounds = 8, kPausesPerRound = 32;  // a pause: ~40 ns (a few on old Intel)
  constexpr int kNextEvery = 8;  // rounds between looks at next slots: microseconds
  // Become a thief, if another worker runs (only a running worker makes
  // work to steal: a thread's spawn or an event wakes a parked one) and
  // not enough workers are already looking.
  unsigned busy = rt.nworkers() - rt.nparked_.load(std::memory_order_relaxed);  // a hint; counts us
  if (busy > 1 && 2 * rt.nspinning_.load(std::memory_order_relaxed) < busy) {
    Task* t = nullptr;
    rt.nspinning_.fetch_add(1, std::memory_order_relaxed);  // a hint; the decrement decides
    for (int r = 0; r < kRounds && !t && !rt.stopping(); ++r) {
      if (!(t = steal_round(rt, w, r % kNextEvery == kNextEvery - 1)) && !(t = take_global(rt, w)) &&
          !(steal_events(w) && (t = w.local.pop()))) {
        if (r < kPausingRounds)
          for (int p = 0; p < kPausesPerRound; ++p) __builtin_ia32_pause();
        else
          sched_yield();
      }
    }
    // seq_cst: see "Lost wake-ups" above.
    bool last = rt.nspinning_.fetch_sub(1, std::memory_order_seq_cst) == 1;
    if (t || any_work_sc(rt)) {
      // We were the last one looking and there may be more where this came
      // from (or, with no t, producers that saw us spinning woke nobody):
      // hand the looking over to a parked worker.
      if (last) wake_a_thief(rt);
      return t;
    }
  }
  rt.park(w, [&rt] { return any_work_sc(rt); });
  return nullptr;
}

Task* RuntimeImpl::find_work(Worker& w) {
  for (;;) {
    Task* t = nullptr;
    if (global.maybe_above(kDefaultPriority) && (t = global.pop())) return t;
    if (w.fair_turn() && ((t = global.pop(kDefaultPriority)) || (t = w.local.pop_yielded()))) return t;
    if ((t = w.local.pop())) return t;
    if ((t = take_global(*this, w))) return t;
    if (stopping()) return nullptr;
    if ((t = spin_then_park(*this, w))) return t;
  }
}
// STUB: Task* GlobalQueue::pop_batch(std::size_t share, std::size_t max) {
// STUB:   (void)share, (void)max;
// STUB:   unimplemented("stage 3: GlobalQueue::pop_batch (worker_loop.cpp) is yours to write");
// STUB: }
// STUB: void RuntimeImpl::submit(Task* t) {
// STUB:   (void)t;
// STUB:   unimplemented("stage 3: RuntimeImpl::submit (worker_loop.cpp) is yours to write");
// STUB: }
// STUB: void RuntimeImpl::submit_yielded(Dispatcher& d, Task* t) {
// STUB:   (void)d, (void)t;
// STUB:   unimplemented("stage 3: RuntimeImpl::submit_yielded (worker_loop.cpp) is yours to write");
// STUB: }
// STUB: Task* RuntimeImpl::find_work(Worker& w) {
// STUB:   (void)w;
// STUB:   unimplemented("stage 3: RuntimeImpl::find_work (worker_loop.cpp) is yours to write");
// STUB: }
// END SOLUTION

// A t below the default priority is outranked by work in the worker's deque.
// The yield ring is not looked at: it is empty when such a t is picked (the
// global queue's lower levels come after it), only this worker's own
// switches fill it, and a task there waits at most for the end of the slice.
// nonempty_sc's seq_cst is more than a hint needs, but its loads are plain
// lock-free loads, async-signal-safe.
bool RuntimeImpl::outranked(Dispatcher& d, const Task& t) noexcept {
  int p = t.word.priority();
  return global.maybe_above(p) || (p < kDefaultPriority && static_cast<Worker&>(d).local.nonempty_sc());
}

// The ring a preempted task must not wait in ahead of the global queue's
// work is the yield ring, served after the deque and before the global queue.
void RuntimeImpl::submit_preempted(Dispatcher& d, Task* t) {
  if (global.maybe_nonempty()) push_global(t);
  else submit_yielded(d, t);
}

}  // namespace green::detail
