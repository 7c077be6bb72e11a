// The dispatcher: switching between a scheduler loop and its tasks
// (dispatcher.cpp), one per thread that runs tasks. A task never switches to
// another task: it switches to its thread's loop, which does what the task
// asked (requeue, park, finish) on the loop's stack and only then picks the
// next. So nobody else sees a parked or yielded task before it has switched
// away completely.
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
// What belongs to a task, not to the thread it runs on. The running task's is
// the thread's; a switched-out task keeps its copy on its stack
// (switch_to_loop). A new task starts with all zero.
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
  // Where this thread's errno and exception state are (found once by enter).
  int* errno_ptr = nullptr;
  EhGlobals* eh_globals = nullptr;
  TaskOwned outer;              // the thread's own, from enter() to leave()

  explicit Dispatcher(Scheduler* s) : sched(s) {}
  // Makes this the calling thread's dispatcher; leave() undoes it. The loop
  // calls run() in between.
  void enter();
  void leave() noexcept;
  // Loop side: runs t until it switches back, then applies its After.
  void run(Task* t);
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
#undef GREEN_FS_POINTER
// The calling thread's errno, read through an opaque call (dispatcher.cpp).
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
