// The dispatcher (design: include/green/detail/dispatcher.hpp). The two
// switch sites are Dispatcher::run (loop -> task, inline in the header, with
// start and finish here) and switch_to_loop (task -> loop); a
// task's context_switch may return on another thread.
#include <green/detail/debug.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/signal_stack.hpp>
#include <green/detail/task.hpp>

#include <atomic>
#include <cerrno>
#include <cpuid.h>
#include <cstring>
#include <cxxabi.h>
#include <time.h>

extern "C" {
__thread void* green_current_task = nullptr;  // see current_task() in dispatcher.hpp
__thread void* green_this_dispatcher = nullptr;
}

namespace green::detail {

// errno and the C++ exception state (EhGlobals) are per thread, but belong to
// the task (TaskOwned). glibc and libstdc++ declare their accessors const, so
// the compiler may reuse a result from before a switch, when the task may run
// on another thread: call them opaquely.
[[gnu::noinline]] int* errno_location() noexcept {
  int* p = &errno;
  asm volatile("" : "+r"(p));
  return p;
}

[[gnu::noinline]] static EhGlobals* thread_eh_globals() noexcept {
  auto* p = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
  asm volatile("" : "+r"(p));
  return p;
}

// ASan and TSan must hear of every stack switch (sanitizers.hpp): fibers_leave
// just before context_switch (to: the task, or nullptr for the loop),
// fibers_arrive just after it returns. Without a sanitizer both are empty.

static void fibers_leave([[maybe_unused]] Dispatcher* d, [[maybe_unused]] Task* to,
                         [[maybe_unused]] void** fake_stack, [[maybe_unused]] bool exiting) noexcept {
#if GREEN_ASAN
  if (to) __sanitizer_start_switch_fiber(fake_stack, to->run->stack.lo, to->run->stack.size);
  else __sanitizer_start_switch_fiber(exiting ? nullptr : fake_stack, d->loop_stack_bottom, d->loop_stack_size);
#endif
#if GREEN_TSAN
  // A fiber is a whole thread state: made at the first run, destroyed at the end.
  if (to && !to->run->tsan_fiber) to->run->tsan_fiber = __tsan_create_fiber(0);
  __tsan_switch_to_fiber(to ? to->run->tsan_fiber : d->loop_tsan_fiber, 0);
#endif
}

// on_loop: arrived on the loop (else on a task, which learns the loop's stack).
static void fibers_arrive([[maybe_unused]] Dispatcher* d, [[maybe_unused]] void* fake_stack,
                          [[maybe_unused]] bool on_loop) noexcept {
#if GREEN_ASAN
  if (on_loop) __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
  else __sanitizer_finish_switch_fiber(fake_stack, &d->loop_stack_bottom, &d->loop_stack_size);
#endif
}

// ---- Entering and leaving ---------------------------------------------------

// The thread's own TaskOwned waits in `outer` until leave(); the loop runs
// with none: no exception, and the count raised (a loop is never preempted).
thread_local std::uint32_t tl_loop_serial = 0;

void Dispatcher::enter() {
  GREEN_CHECK(!this_dispatcher(), "a thread entered a second dispatcher");
  ++tl_loop_serial;
  install_signal_stack();
  eh_globals = thread_eh_globals();
  errno_ptr = errno_location();
  outer.err = *errno_ptr;
  outer.eh = *eh_globals;
  outer.nesting = preempt_count();
  asm volatile("stmxcsr %0; fnstcw %1" : "=m"(outer_mxcsr), "=m"(outer_x87));
  *eh_globals = EhGlobals{};
  set_preempt_count(outer.nesting + 1);
#if GREEN_TSAN
  loop_tsan_fiber = __tsan_get_current_fiber();  // this thread's own fiber
#endif
  set_this_dispatcher(this);
}

void Dispatcher::leave() noexcept {
  GREEN_CHECK(this_dispatcher() == this && !current, "leave() from a task, or on another thread");
  set_this_dispatcher(nullptr);
  *eh_globals = outer.eh;
  *errno_ptr = outer.err;
  asm volatile("ldmxcsr %0; fldcw %1" : : "m"(outer_mxcsr), "m"(outer_x87));
  set_preempt_count(outer.nesting);
  restore_signal_stack();
}

// ---- The loop side ----------------------------------------------------------

static void task_entry(void* arg);

// Gives t a stack with its TaskRun at the top, and a context that starts in
// task_entry below it, at its first run. False (t's exception is
// std::bad_alloc, in a TaskRun on the heap) if there is no memory. Out of
// line (as record_latency): start() is on every switch, these are not.
[[gnu::noinline]] static bool bind_stack(Task* t) noexcept {
  Stack s;
  try {
    s = stack_allocate(t->stack_wanted);
  } catch (...) {
    t->run = exception_run(std::current_exception());
    return false;
  }
  static_assert(sizeof(TaskRun) % 16 == 0, "the stack below the TaskRun stays 16-byte aligned");
  auto* r = ::new (s.hi() - sizeof(TaskRun)) TaskRun;  // (hi: a page, or stage 4's 1 KiB, boundary)
  r->stack = s;
  t->run = r;
  t->held = 0;  // (it was stack_wanted)
  context_make(t->ctx, s.lo, reinterpret_cast<std::byte*>(r), &task_entry, t);
  return true;
}

// Checks, each time a task switches out, that it stayed on its stack.
static void check_stack(Task* t, bool exiting) {
  const Stack& s = t->run->stack;
  bool sp_ok = exiting || static_cast<std::byte*>(context_sp(t->ctx)) > s.lo;
  if (!sp_ok || !stack_intact(s)) report_stack_overflow(t->extra().id, task_name(t));
}

// ---- The latency histogram (dispatcher.hpp) ---------------------------------

static std::atomic<unsigned> g_latency_period{kLatencySamplePeriod};  // relaxed: a setting
std::atomic<unsigned> g_stamp_every{kLatencySamplePeriod};
thread_local unsigned tl_unstamped = 0;
unsigned latency_sample_period() noexcept { return g_latency_period.load(std::memory_order_relaxed); }
void refresh_stamp_every() noexcept {
  g_stamp_every.store(tracing() ? 1 : latency_sample_period(), std::memory_order_relaxed);
}
void set_latency_sample_period(unsigned n) noexcept {
  g_latency_period.store(n ? n : 1, std::memory_order_relaxed);
  refresh_stamp_every();
  tl_unstamped = ~0u >> 1;  // this thread's next Ready task is stamped
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::atomic<int> g_trace_clock{0};
int pick_trace_clock() noexcept {
  unsigned a = 0, b, c, d = 0;
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000007) __get_cpuid(0x80000007, &a, &b, &c, &d);
  else d = 0;
  const int clock = (d >> 8) & 1 ? 1 : 2;  // EDX bit 8: the TSC is invariant
  g_trace_clock.store(clock, std::memory_order_relaxed);
  return clock;
}

// A Ready task's latency stamp: in its TaskRun once it has one; before its
// first run, in its ctx, which holds nothing else until then (task.hpp).
static void set_stamp(Task* t, std::uint64_t ns) noexcept {
  if (t->run) t->run->runnable_at = ns;
  else std::memcpy(static_cast<void*>(&t->ctx), &ns, sizeof ns);
}
static std::uint64_t stamp(Task* t) noexcept {
  std::uint64_t ns;
  if (t->run) ns = t->run->runnable_at;
  else std::memcpy(&ns, static_cast<const void*>(&t->ctx), sizeof ns);
  return ns;
}

// Untraced, only every period-th Ready comes here (mark_runnable counts);
// traced, every one does (the period is 1), and tl_unstamped, reset only
// when a Ready is timed, still times one in the period: the trace gets each
// one, the histogram the timed ones (runnable_at is 0 for the others).
void stamp_runnable(Task* t, Ready why) noexcept {
  const bool timed = tl_unstamped >= latency_sample_period();
  if (timed) tl_unstamped = 0;
  if (tracing()) trace_ready(t, why, trace_now());
  set_stamp(t, timed ? monotonic_ns() : 0);
  t->word.set_sampled();
}

// Also where a traced run begins (start, below, reaches here for every task
// while tracing: each was stamped).
[[gnu::noinline]] static void record_latency(Dispatcher& d, Task* t) noexcept {
  if (std::uint64_t at = stamp(t)) {
    std::uint64_t now = monotonic_ns(), ns = now > at ? now - at : 0;
    int b = ns ? 63 - __builtin_clzll(ns) : 0;
    if (b >= kLatencyBuckets) b = kLatencyBuckets - 1;
    auto& c = d.latency[b];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // this thread's only
  }
  if (tracing()) d.run_since = trace_now();
}

bool Dispatcher::start(Task* t) {
  GREEN_CHECK(this_dispatcher() == this && !current, "run() off this dispatcher's loop");
  GREEN_CHECK(t->state() == TaskState::Ready, "run() of a task that is not Ready");
  current = t;
  set_current_task(t);
  if (t->word.start_running()) record_latency(*this, t);
  if (!t->run && !bind_stack(t)) {
    // No memory for a stack: the task ends with std::bad_alloc, never run.
    t->extra().ops->destroy(t);
    after = After::Exit;
    return false;
  }
  fibers_leave(this, t, &loop_fake_stack, false);
  return true;  // run() switches to t
}

// t has ended: its stack goes back, its joiners hear of it, its block goes.
// Out of line (as bind_stack): finish() is on every switch, this is not.
[[gnu::noinline]] static void end_task(Dispatcher& d, Task* t) noexcept {
  TaskRun* r = t->run;
#if GREEN_TSAN
  if (r->tsan_fiber) __tsan_destroy_fiber(r->tsan_fiber);
  r->tsan_fiber = nullptr;
#endif
  // The stack goes back to the cache, warm, with its TaskRun; what join()
  // needs stays in the block, and an exception in a TaskRun on the heap.
  if (Stack s = r->stack) {
    std::exception_ptr e = std::move(r->exception);
    r->~TaskRun();
    stack_release(s);
    t->run = e ? exception_run(std::move(e)) : nullptr;
  }
  t->word.finish();
  notify_done(t);
  d.sched->on_task_end(d, t);
  release_task(t);
}

[[gnu::noinline]] static void end_traced_run(Dispatcher& d, Task* t) noexcept {
  trace_run(d, t, d.run_since, trace_now());
  d.run_since = 0;
}

void Dispatcher::finish(Task* t, bool ran) {
  if (__builtin_expect(run_since != 0, 0)) end_traced_run(*this, t);  // traced: before t is queued, parked or freed
  if (ran) {
    fibers_arrive(this, loop_fake_stack, true);
    check_stack(t, after == After::Exit);
  }
  current = nullptr;
  set_current_task(nullptr);
  switch (after) {
    case After::Yield:
      t->word.stop_running();
      mark_runnable(t, Ready::Yield);
      sched->submit_yielded(*this, t);
      break;
    case After::Park:
      // Waiting before the callback: the callback may unpark it at once.
      if (t->word.park()) {
        if (park_fn) park_fn(t, park_arg);
      } else {
        mark_runnable(t, Ready::Wake);
        sched->submit(t);  // woken before it finished parking
      }
      break;
    case After::Exit:
      end_task(*this, t);
      break;
  }
}

// ---- The task side ----------------------------------------------------------

// The two halves of switch_to_loop (dispatcher.hpp). The task's TaskOwned
// waits in its SwitchOut, on its stack; the loop gets none.
void leave_task(SwitchOut& s, After what, ParkFn fn, void* arg) noexcept {
  s.mine.nesting = preempt_count();          // read first: a tick in between resumes us
  preempt_disable();                         // with the same; the loop runs at nesting + 1
  Dispatcher* d = this_dispatcher();
  GREEN_CHECK(d && d->current, "a switch to the loop from outside a task");
  s.mine.err = *d->errno_ptr;
  s.mine.eh = *d->eh_globals;
  s.in_eh = s.mine.eh.caught || s.mine.eh.uncaught;  // rare: inside a catch block or a throw
  if (s.in_eh) *d->eh_globals = EhGlobals{}; // the loop, and the thread's next task, have none
  s.self = d->current;
  s.loop = &d->loop;
  d->after = what;
  d->park_fn = fn;
  d->park_arg = arg;
  s.fake_stack = nullptr;
  fibers_leave(d, nullptr, &s.fake_stack, what == After::Exit);
}

// When this runs the task runs again, maybe on another thread: re-read the
// dispatcher.
void resume_task(SwitchOut& s) noexcept {
  Dispatcher* d = this_dispatcher();
  fibers_arrive(d, s.fake_stack, false);
  *d->errno_ptr = s.mine.err;
  if (s.in_eh) *d->eh_globals = s.mine.eh;   // else the thread's is empty already (invariant above)
  set_preempt_pending(0);                    // a tick during the loop owes us nothing
  set_preempt_count(s.mine.nesting);         // one store: preemptible again if 0
}

void yield_current() { switch_to_loop(After::Yield); }
void park_current(ParkFn fn, void* arg) { switch_to_loop(After::Park, fn, arg); }

[[noreturn]] void exit_current() noexcept {
  switch_to_loop(After::Exit);
  __builtin_unreachable();
}

void unpark(Task* t) {
  PreemptOff no_preempt;  // submit() pushes to this thread's queue
  if (t->word.unpark()) {
    mark_runnable(t, Ready::Wake);
    t->extra().sched->submit(t);
  }
}

// ---- The life of a task -----------------------------------------------------

static void task_entry(void* arg) {
  auto* t = static_cast<Task*>(arg);
  fibers_arrive(this_dispatcher(), nullptr, false);
  set_preempt_pending(0);  // see the end of switch_to_loop
  set_preempt_count(0);    // the loop keeps its own count; the task starts at 0
  run_task_function(t);
  exit_current();
}

}  // namespace green::detail
