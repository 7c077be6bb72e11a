// Help-first join of tasks: a task that joins a task which has not started
// runs it here, on its own stack, as a call (detail/help_join.hpp; HANDOUT
// 9.2). Phase 6 shadows stage 1's file, which always declines.
//
// When. The joined task t must be where the joiner's worker would run it
// next, in its next slot or newest in its deque (spawn puts it there; fork-
// join code joins what it just spawned), and take() must get it before a
// thief does. t must never have run (a task woken into the slot has a stack
// of its own), and the joiner's stack must have at least the room t asked
// for below this frame: t runs on it and keeps the promise of its stack
// size. A task asking for 16 KiB on a 16 KiB stack therefore never runs
// inline; under a default 256 KiB task a fib tree of 16 KiB tasks does,
// down to the last 16 KiB. Not while a trace records (its runs would vanish
// from the trace), not from a plain thread (it has no worker to run on), and
// not by a joiner that holds a green::Mutex: such a join records its edge in
// the wait-for graph (JoinWait) and waits, so a child that wants the Mutex
// closes a cycle and gets DeadlockError, instead of blocking for good on a
// stack whose owner will never unlock. (A joiner holding no Mutex cannot
// be in a cycle of the graph; a join that helps records nothing, which
// saves the two locked list updates of the global deadlock report.)
//
// Identity. While it runs here, t is the running task: the dispatcher's
// current and current_task() are t, so this_task::id(), TaskLocal, at_exit,
// a Mutex's owner and the wait-for graph all see t. Its stack is the
// joiner's (t's TaskRun, on the joiner's stack in help_join's frame, has
// the joiner's Stack, and under TSan its fiber): if t yields, parks or is
// preempted, the dispatcher saves t's context, which lies on the joiner's
// stack below the joiner's frames, and whichever worker resumes t resumes
// both; when t's function returns, the joiner continues on that worker. The
// joiner meanwhile is inside its join, so nothing else runs on that stack.
// What a switch would keep apart is kept apart here by hand: errno and the exception state (a join in a catch
// block or during unwinding). Not the floating-point control words (MXCSR,
// x87): the ABI has a call preserve them, and so the child runs with the
// joiner's rounding mode and masks, and a child that changes them and does
// not change them back leaves the change to its joiner, as any function
// would. Reading them to keep them apart cost 8-10 ns a join here, an
// eighth of a fine-grained task (stmxcsr and fnstcw are slow instructions).
//
// The end is end_task's less the stack and its two atomic RMWs (locked
// instructions, which nothing here needs): the word is finished and the end
// counted on the worker it ended on, but the join slot is not written,
// since the only joiner there can be is here, not waiting, and the run's
// reference is dropped with a plain store, since the other reference is the
// handle being joined, which is here too. With preemption
// off and the identity the joiner's again, so a tick never switches out a
// task that has ended.
#include <green/detail/help_join.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/detail/trace.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstdint>

namespace green::detail {

// BEGIN SOLUTION
namespace {

// Free bytes below the caller's frame on self's stack.
[[gnu::always_inline]] inline std::size_t room_below(const Task* self) noexcept {
  auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  auto lo = reinterpret_cast<std::uintptr_t>(self->run->stack.lo);
  constexpr std::uintptr_t kFrames = 1024;  // this function's frames and the call into t's
  return sp > lo + kFrames ? sp - lo - kFrames : 0;
}

}  // namespace

bool help_join(Task* self, Task* t) {
  if (!self || self->held || tracing()) return false;
  const std::size_t room = room_below(self);
  TaskRun run;  // t's while it runs here: its locals and exception, the joiner's stack
  {
    PreemptOff no_preempt;  // the queue is the worker's own only while we stay on it
    Worker* w = current_worker();
    // The least any task of the runtime asks for by class: a joiner without
    // that much room declines before it touches its queue.
    if (!w || room < w->rt->small_stack_size) return false;
    const int where = w->local.take(t);
    if (!where) return false;
    // Ours now: nobody else can run it or read its stack fields.
    if (t->run || room < t->stack_wanted) {
      w->local.put_back(t, where);
      return false;
    }
    run.stack = self->run->stack;
#if GREEN_TSAN
    run.tsan_fiber = self->run->tsan_fiber;
#endif
    t->run = &run;
    t->held = 0;  // (it was stack_wanted)
    t->word.start_running();  // (a latency sample it carried is dropped: it waited for no loop)
    w->current = t;
    set_current_task(t);
  }

  // t's function, as task_entry runs it, with what belongs to the joiner set aside.
  Dispatcher* d = this_dispatcher();
  const int err = *d->errno_ptr;
  const EhGlobals eh = *d->eh_globals;
  *d->eh_globals = EhGlobals{};
  run_task_function(t);

  PreemptOff no_preempt;
  Worker* w = current_worker();  // t may have parked and come back on another worker
  *w->eh_globals = eh;
  *w->errno_ptr = err;
  w->current = self;
  set_current_task(self);
  t->run = run.exception ? exception_run(std::move(run.exception)) : nullptr;  // (for join to rethrow)
  t->word.finish();
  w->rt->on_task_end(*w, t);  // (RuntimeImpl is final: a direct call)
  // relaxed: both references are this thread's (the run's and the joined
  // handle's), so nobody reads the count meanwhile; the handle's release
  // sees 1 and frees the task.
  t->extra().refs.store(1, std::memory_order_relaxed);
  return true;
}
// A thief takes the oldest task, in fork-join the root of a big subtree, and
// runs it on a stack of its own. Had it kept the 16 KiB it asked for, no
// join below it could help (each child asks for 16 KiB too) and the whole
// subtree would take the slow path: fib(32) on 2 workers took 0.35-0.50 s,
// against 0.22-0.24 s with this. So a stolen task that has not started, asks
// for less than the runtime's default class, and is still held by a handle
// (someone will join it: fork-join work; a detached task, a server's
// connection, keeps its small stack) gets the default class: more than it
// asked for, never less, and stacks are committed only where touched.
void on_stolen_unstarted(Task* t) noexcept {
  TaskExtra& x = t->extra();
  // relaxed: a hint; the handle is dropped at most once, and a stale 2 only
  // gives a detached task a bigger stack.
  if (x.refs.load(std::memory_order_relaxed) < 2) return;
  if (t->stack_wanted < x.sched->stack_size)  // the thief owns t now
    t->stack_wanted = static_cast<std::uint32_t>(x.sched->stack_size);
}
// STUB: void on_stolen_unstarted(Task* t) noexcept { (void)t; }
// STUB: bool help_join(Task* self, Task* t) {
// STUB:   (void)self, (void)t;
// STUB:   unimplemented("phase 6: help_join (help_join.cpp), the join that runs a task that has not started inline, is yours to write");
// STUB: }
// END SOLUTION

}  // namespace green::detail
