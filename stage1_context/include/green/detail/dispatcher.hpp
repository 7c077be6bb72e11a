// The dispatcher: switching between a scheduler loop and its tasks
// (dispatcher.cpp).
//
// One per OS thread that runs tasks. A task never switches to another task
// directly: it switches to its thread's loop, which applies what the task
// asked for (requeue it, park it, finish it) on the loop's own stack, and only
// then picks the next task. So by the time anyone else can see a parked or
// yielded task, it has completely switched away.
#pragma once
#include <green/detail/preempt_off.hpp>
#include <green/detail/task.hpp>

namespace green::detail {

enum class After : std::uint8_t { Yield, Park, Exit };
using ParkFn = void (*)(Task* parked, void* arg);

// The C++ runtime's per-thread exception state (Itanium C++ ABI 2.4.2): the
// stack of caught exceptions and the count of uncaught ones.
struct EhGlobals {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};
// What belongs to a task and not to the thread it runs on. The running
// task's is the thread's own; a switched-out task keeps its copy on its
// stack, a dispatcher keeps the thread's own while the thread runs tasks
// (task.cpp, "What belongs to a task"). A new task starts with all zero.
struct TaskOwned {
  int err = 0;      // errno
  EhGlobals eh;
  int nesting = 0;  // the preempt-disable count (phase 3; detail/preempt.hpp)
};

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
  // This thread's errno and C++ exception state, found once by enter():
  // switch_to_loop saves and restores them for every task.
  int* errno_ptr = nullptr;
  EhGlobals* eh_globals = nullptr;
  TaskOwned outer;              // the thread's own, from enter() to leave()

  explicit Dispatcher(Scheduler* s) : sched(s) {}
  // Makes this the calling thread's dispatcher (and sets up what a thread
  // running tasks needs); leave() undoes it. The loop calls run() in between.
  void enter();
  void leave() noexcept;
  // Loop side: runs t until it switches back, then applies its After.
  void run(Task* t);
};

// The calling thread's dispatcher and running task (nullptr on a loop or a
// plain thread: Dispatcher::current, mirrored by Dispatcher::run). Each is a
// thread-local read in ONE %fs-relative instruction through inline asm, so
// that the compiler can never reuse an address computed before a switch
// (the task may resume on another thread), and a preemption can never land
// between computing the address and reading through it.
extern "C" __thread void* green_current_task;
extern "C" __thread void* green_this_dispatcher;
inline Task* current_task() noexcept {
  void* t;
  asm volatile("movq %%fs:green_current_task@tpoff, %0" : "=r"(t) : : "memory");
  return static_cast<Task*>(t);
}
inline void set_current_task(Task* t) noexcept {
  asm volatile("movq %0, %%fs:green_current_task@tpoff" : : "r"(t) : "memory");
}
inline Dispatcher* this_dispatcher() noexcept {
  void* d;
  asm volatile("movq %%fs:green_this_dispatcher@tpoff, %0" : "=r"(d) : : "memory");
  return static_cast<Dispatcher*>(d);
}
inline void set_this_dispatcher(Dispatcher* d) noexcept {
  asm volatile("movq %0, %%fs:green_this_dispatcher@tpoff" : : "r"(d) : "memory");
}
// The calling thread's errno, read through an opaque call (see task.cpp).
int* errno_location() noexcept;

// Task side. Each returns (except exit) when the task runs again.
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
