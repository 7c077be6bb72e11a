// Phase 4's event source: the timers (see detail/timers.hpp for the design;
// this file replaces stage 2's, which had no sources), and the keeper's watch
// for a runtime whose tasks are all blocked (detail/deadlock.hpp).
//
// The keeper's wake word (Worker::wake) takes a third value: 0 asleep, 1
// picked by a waker (wake_one took it off the idle list), 2 poked by
// arm_timer (a timer earlier than the keeper's deadline: look again). How it
// sleeps, and what I/O it polls meanwhile, is the io source's business
// (detail/io_source.hpp: a futex wait here, epoll_wait in phase 5). An idle
// worker also asks the job source (detail/job_source.hpp: nothing here,
// phase 6's job deques) before it sleeps.
#include <green/detail/deadlock.hpp>
#include <green/detail/futex.hpp>
#include <green/detail/io_source.hpp>
#include <green/detail/job_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

namespace green::detail {

namespace {
struct Events {  // RuntimeImpl::events
  explicit Events(unsigned workers) : timers(workers), deadlocks(workers) {}
  Timers timers;
  Deadlocks deadlocks;
  std::shared_ptr<void> io;    // make_io_source's
  std::shared_ptr<void> jobs;  // make_job_source's
};
}  // namespace

void attach_event_sources(RuntimeImpl& rt) {
  auto e = std::make_shared<Events>(rt.nworkers());
  e->deadlocks.detect = rt.detect_deadlock;
  rt.events = e;
  e->io = make_io_source(rt);  // it may look at rt.events
  e->jobs = make_job_source(rt);
}
Timers& timers_of(RuntimeImpl& rt) noexcept { return static_cast<Events*>(rt.events.get())->timers; }
Deadlocks& deadlocks_of(RuntimeImpl& rt) noexcept { return static_cast<Events*>(rt.events.get())->deadlocks; }
void* io_source_of(RuntimeImpl& rt) noexcept { return static_cast<Events*>(rt.events.get())->io.get(); }
void* job_source_of(RuntimeImpl& rt) noexcept { return static_cast<Events*>(rt.events.get())->jobs.get(); }

static bool fire_timers(Worker& w, bool all);

// Out of line, so the common case below saves no registers.
// A sleeper whose timer an idle worker fires is that worker's next task: it
// wakes nobody else for it (stage 3's submit, runs_next_itself).
[[gnu::noinline]] static bool poll_all(Worker& w, bool idle, bool all) {
  w.runs_next_itself = idle;
  const bool fired = fire_timers(w, all);
  w.runs_next_itself = false;
  return fired | io_poll(w, idle) | (idle && job_poll(w, idle));
}

// A busy worker comes here after every task it ran (idle false). It looks at
// its own timer heap, and every 64th time (or idle) at every worker's; the
// common case, no timer of its own, is a few loads and a tail call.
bool poll_events(Worker& w, bool idle) {
  thread_local unsigned polls = 0;
  const bool all = idle || (++polls & 63) == 0;
  if (!all && timers_of(*w.rt).heaps[w.index].next() == kNever) return io_poll(w, false);
  return poll_all(w, idle, all);
}
// A spinning thief takes jobs too: a job pushed while it spins wakes nobody
// (the pusher sees it spinning), so it must not wait for the end of the spin.
bool steal_events(Worker& w) { return job_poll(w, true); }
bool events_waiting_sc(Worker& w) { return jobs_waiting_sc(w); }

// Fires w's due timers, or every worker's (all).
static bool fire_timers(Worker& w, bool all) {
  Timers& ts = timers_of(*w.rt);
  std::int64_t next = all ? ts.earliest() : ts.heaps[w.index].next();
  if (next == kNever) return false;
  std::int64_t now = now_ns();
  if (next > now) return false;
  const std::uint64_t began = tracing() ? trace_now() : 0;  // the trace's timers span
  int fired = 0;
  if (all)
    for (TimerHeap& h : ts.heaps) fired += h.fire_due(now);
  else
    fired = ts.heaps[w.index].fire_due(now);
  if (fired && began) trace_span(TraceKind::Timers, fired, began, trace_now());
  return fired > 0;
}

bool idle_wait(Worker& w) noexcept {
  Timers& ts = timers_of(*w.rt);
  Worker* none = nullptr;
  // seq_cst: arm_timer's load of keeper comes after its heap store (see there).
  if (!ts.keeper.compare_exchange_strong(none, &w, std::memory_order_seq_cst)) {
    // Somebody else keeps the timers. The last worker to go idle pokes it, to
    // look for a deadlock at once (deadlock.hpp).
    if (deadlocks_of(*w.rt).detect && w.rt->nparked_.load(std::memory_order_seq_cst) == w.rt->nworkers())
      if (Worker* k = ts.keeper.load(std::memory_order_seq_cst)) poke_keeper(k);
    wait_until_picked(w);
    return true;
  }
  bool picked = false;
  // BEGIN SOLUTION
  for (;;) {
    // Publish how long we sleep, then look again: a timer armed before the
    // store is seen by the second look; one armed after it sees our
    // keeper_until and pokes us (seq_cst, the Dekker pair of arm_timer).
    std::int64_t until;
    do {
      until = ts.earliest();
      if (until == kNever) until = watch_for_deadlock(w);  // no timer: maybe a deadlock to look at
      ts.keeper_until.store(until, std::memory_order_seq_cst);
    } while (ts.earliest() < until);
    // seq_cst: pairs with idle_wake's store of 1 and its load of keeper (the
    // Dekker pair with our CAS of keeper, above): either we see 1 here, or
    // the waker sees us keeping and wakes the io source's sleep. (Its
    // release/acquire half: we see what the waker did, as in wait_until_picked.)
    std::uint32_t v = w.wake.load(std::memory_order_seq_cst);
    if (v == 1) {
      picked = true;
      break;
    }
    if (v == 2) {  // poked: take the poke back and look again
      // relaxed: the poke carries no data; the heaps are re-read seq_cst above.
      // (A waker's 1 may replace the 2 first: then the CAS fails and we see 1.)
      w.wake.compare_exchange_strong(v, 0, std::memory_order_relaxed);
      continue;
    }
    if (until != kNever && now_ns() >= until) break;  // due: fire, below
    if (io_sleep(w, until)) break;                    // I/O made work
  }
  // STUB: unimplemented("phase 4: idle_wait (event_source.cpp): the keeper's sleep is yours to write");
  // END SOLUTION
  ts.keeper_until.store(kNever, std::memory_order_seq_cst);
  ts.keeper.store(nullptr, std::memory_order_seq_cst);
  if (!picked) poll_events(w, true);  // what woke us is due: fire it now, not after a spin
  return picked;
}

void idle_wake(Worker& w) noexcept {
  // A worker still on the idle list as its sleep ends makes tasks Ready
  // there (the keeper's I/O harvest, the timers idle_wait's caller fires),
  // and its submit may pick it: it is awake, and runs them itself. The word
  // is all it needs: an eventfd write (and its read, and the epoll_wait it
  // cuts short) at each of its sleeps cost an echo server on 1 worker 5% of
  // its round trips per CPU second at 10 connections (HANDOUT 8.8).
  // relaxed: only this thread acts on the 1. (A poke racing it, 0 to 2, is
  // lost or fails; either way this worker, awake, looks at the timers next.)
  if (&w == current_worker()) {
    w.wake.store(1, std::memory_order_relaxed);
    return;
  }
  // Once w.wake is 1, w may run, end the last task and let its runtime go:
  // hold the event sources (and their io source) until we are done.
  std::shared_ptr<void> events = w.rt->events;
  Events& e = *static_cast<Events*>(events.get());
  // seq_cst: the Dekker pair with the keeper (idle_wait): store wake, load
  // keeper; it stores keeper, loads wake. Also release for the sleeper's
  // acquire loads (wait_until_picked).
  w.wake.store(1, std::memory_order_seq_cst);
  if (e.timers.keeper.load(std::memory_order_seq_cst) == &w)
    io_wake(w, e.io.get());  // it sleeps in io_sleep, or will see the 1 first
  else
    futex_wake(w.wake);      // in wait_until_picked, or will see the 1 first
}

}  // namespace green::detail
