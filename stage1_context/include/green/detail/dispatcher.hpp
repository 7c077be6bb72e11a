// The dispatcher: switching between a scheduler loop and its tasks
// (dispatcher.cpp), one per thread that runs tasks. A task never switches to
// another task: it switches to its thread's loop, which does what the task
// asked (requeue, park, finish) on the loop's stack and only then picks the
// next. So nobody else sees a parked or yielded task before it has switched
// away completely.
#pragma once
#include <green/detail/preempt_off.hpp>
#include <green/detail/task.hpp>
#include <green/detail/trace.hpp>

namespace green::detail {

enum class After : std::uint8_t { Yield, Park, Exit };
using ParkFn = void (*)(Task* parked, void* arg);

// The C++ runtime's per-thread exception state (Itanium C++ ABI 2.4.2): the
// stack of caught exceptions and the count of uncaught ones.
struct EhGlobals {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};
// What belongs to a task, not to the thread it runs on. The running task's is
// the thread's; a switched-out task keeps its copy on its stack
// (switch_to_loop). A new task starts with all zero.
struct TaskOwned {
  int err = 0;      // errno
  EhGlobals eh;
  int nesting = 0;  // the preempt-disable count (phase 3; detail/preempt.hpp)
};

// The runnable-to-running latency histogram (RuntimeStats::latency, Go's
// /sched/latencies): how long a task waits between becoming Ready (spawned,
// unparked, yielded, preempted) and starting to run. Timing every such wait
// would cost a clock read on each side of every yield, so one in
// latency_sample_period() of them is timed: whoever makes a task Ready calls
// mark_runnable, which counts on a per-thread counter; at the period it
// stamps the task (its TaskRun's runnable_at, or its ctx before its first
// run, and the task word's sampled flag).
// The dispatcher that starts a stamped task adds the wait to its histogram:
// bucket i counts waits in [2^i, 2^(i+1)) ns (0 ns in bucket 0, the last
// holds everything longer). While a scheduler trace is recorded
// (detail/trace.hpp) every Ready task is stamped: the stamp and the start
// report to the trace, and still only one in the period is timed (the
// others' runnable_at is 0).
inline constexpr int kLatencyBuckets = 32;
inline constexpr unsigned kLatencySamplePeriod = 64;
unsigned latency_sample_period() noexcept;
void set_latency_sample_period(unsigned n) noexcept;  // for tests; 1: every one
// latency_sample_period(), or 1 while tracing. relaxed: a setting; a change
// reaches each thread at its next mark_runnable.
extern std::atomic<unsigned> g_stamp_every;
void refresh_stamp_every() noexcept;  // after the period or tracing() changed
extern thread_local constinit unsigned tl_unstamped;  // Ready tasks this thread made since its last stamp
void stamp_runnable(Task* t, Ready why) noexcept;  // out of line: the 1 in 64
// Before t, Ready and owned by the caller, is queued.
inline void mark_runnable(Task* t, Ready why) noexcept {
  if (__builtin_expect(++tl_unstamped >= g_stamp_every.load(std::memory_order_relaxed), 0)) stamp_runnable(t, why);
}

struct Dispatcher {
  Scheduler* sched = nullptr;   // whose loop this is
  Context loop;                 // the loop's saved context while a task runs
  Task* current = nullptr;      // the running task, nullptr on the loop (and current_task())
  After after = After::Yield;   // set by the task as it switches to the loop
  ParkFn park_fn = nullptr;     // with After::Park: called on the loop's stack
  void* park_arg = nullptr;
  // Sanitizer bookkeeping for the loop's own (thread) stack.
  const void* loop_stack_bottom = nullptr;
  std::size_t loop_stack_size = 0;
  void* loop_fake_stack = nullptr;
  void* loop_tsan_fiber = nullptr;
  // Where this thread's errno and exception state are (found once by enter).
  int* errno_ptr = nullptr;
  EhGlobals* eh_globals = nullptr;
  TaskOwned outer;              // the thread's own, from enter() to leave()
  // The thread's MXCSR and x87 control word, from enter() to leave(): the
  // loop keeps no control words of its own (context_x86_64.S), so it runs
  // with those of the last task that switched to it.
  std::uint32_t outer_mxcsr = 0;
  std::uint16_t outer_x87 = 0;
  // The latency histogram (above). Written by this thread only (relaxed
  // load and store), read by stats() from anywhere.
  std::atomic<std::uint64_t> latency[kLatencyBuckets] = {};
  // While tracing: when the running task started (0: its run is not traced).
  std::uint64_t run_since = 0;

  explicit Dispatcher(Scheduler* s) : sched(s) {}
  // Makes this the calling thread's dispatcher; leave() undoes it. The loop
  // calls run() in between.
  void enter();
  void leave() noexcept;
  // Loop side: runs t until it switches back, then applies its After.
  // Inline, so that the switch is called from the loop's own frame: when
  // the task switches back, the loop carries on without a return. (A return
  // right after a switch is predicted from the other context's calls, and
  // mispredicted: ~5 ns a switch here, HANDOUT 2.5's hint on returns.)
  // What comes back is `current`: t, unless t ran another task inline (phase
  // 6's help-first join makes that one current) and that one switched out.
  [[gnu::always_inline]] void run(Task* t) {
    bool ran = start(t);
    if (ran) context_switch_from_loop(loop, t->ctx);
    finish(current, ran);
  }

 private:
  bool start(Task* t);            // false: t ends at once (no memory for its stack)
  void finish(Task* t, bool ran); // after the switch back, if t ran: applies t's After
};

// The calling thread's dispatcher and running task (nullptr on a loop or a
// plain thread). Each is read and written in ONE %fs-relative instruction, so
// the compiler never reuses an address computed before a switch (the task
// may resume on another thread), and no preemption lands between computing
// the address and using it.
#define GREEN_FS_POINTER(Type, get, set, var)                                 \
  extern "C" __thread void* var;                                             \
  inline Type* get() noexcept {                                              \
    void* p;                                                                 \
    asm volatile("movq %%fs:" #var "@tpoff, %0" : "=r"(p) : : "memory");     \
    return static_cast<Type*>(p);                                            \
  }                                                                          \
  inline void set(Type* p) noexcept {                                        \
    asm volatile("movq %0, %%fs:" #var "@tpoff" : : "r"(p) : "memory");      \
  }
GREEN_FS_POINTER(Task, current_task, set_current_task, green_current_task)
GREEN_FS_POINTER(Dispatcher, this_dispatcher, set_this_dispatcher, green_this_dispatcher)
// Loops this thread has entered (Dispatcher::enter). A thread may run loops
// one after another (a LocalScheduler's, then a worker lent to Runtime::run),
// and a later Dispatcher may have an earlier one's address: a cache kept per
// thread for its loop names the loop by both.
extern thread_local std::uint32_t tl_loop_serial;
// The calling thread's errno, read through an opaque call (dispatcher.cpp).
int* errno_location() noexcept;

// Task side. Each returns (except exit) when the task runs again.
//
// switch_to_loop records what the loop should do (what, and for a park fn
// and arg) and switches to it. Inline, like Dispatcher::run and for the same
// reason: called from a task's own function (this_task::yield), the switch
// back lands in that function, with no return to mispredict. Its two halves
// are out of line (dispatcher.cpp); what the task keeps while switched out
// waits in a SwitchOut on its stack.
struct SwitchOut {
  TaskOwned mine;
  bool in_eh;          // mine.eh is not empty (inside a catch block or a throw)
  void* fake_stack;    // ASan's, for this stack
  Task* self;
  Context* loop;
};
void leave_task(SwitchOut& s, After what, ParkFn fn, void* arg) noexcept;
void resume_task(SwitchOut& s) noexcept;
[[gnu::always_inline]] inline void switch_to_loop(After what, ParkFn fn = nullptr, void* arg = nullptr) {
  SwitchOut s;
  leave_task(s, what, fn, arg);
  context_switch_to_loop(s.self->ctx, *s.loop);
  resume_task(s);
}
void yield_current();
void park_current(ParkFn fn, void* arg);   // fn(self, arg), if fn, runs once self is switched out
                                           // and parked
[[noreturn]] void exit_current() noexcept;
// Makes a Waiting task Ready and gives it to its scheduler.
void unpark(Task* t);
// The join protocol (join.cpp). wait_until_done returns once t has ended:
// it parks self (a task) or, for self == nullptr, asks t's scheduler to block
// the calling thread. notify_done is called once by the loop when t ended.
void wait_until_done(Task* self, Task* t);
void notify_done(Task* t) noexcept;

}  // namespace green::detail
