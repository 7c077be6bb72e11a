// The task control block (TCB) and its cold half.
//
// A task is two pieces of memory:
//
//   block (heap, made at spawn, freed when the run and the
//   TaskHandle have both let go of it, see TaskExtra::refs):
//       Task       the hot TCB: what the scheduler touches on every switch
//       TaskExtra  the cold half: id, name, joiner, exception, handlers...
//       callable   the task's function object, moved in at spawn
//   stack (from the per-thread stack cache): only while the task runs or is
//       switched out in the middle of its function. A task gets it when a
//       worker first runs it, and gives it back the moment it ends.
//
// So a spawned task that has not started costs one small block and no stack,
// a finished task that nobody has joined yet costs only its block, and the
// stack a task ends on is still warm in the cache for the next one.
#pragma once
#include <green/detail/context.hpp>
#include <green/detail/join_state.hpp>
#include <green/detail/preempt.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>
#include <green/detail/task_word.hpp>
#include <green/options.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace green::detail {

class Scheduler;
struct TaskExtra;

// Invariants:
//  - ctx is valid exactly when the task is not Running.
//  - next belongs to whichever queue holds the task (at most one at a time).
//  - word is written only by the thread the task is on (or, while it is not
//    on any, by the one that owns it by the queue/park protocol); its
//    transitions are TaskWordCell's.
struct alignas(16) Task {
  Context ctx;             // saved registers while switched out
  Task* next = nullptr;    // intrusive link for run queues and wait lists
  std::byte* stack_lo = nullptr;  // low end of the stack; nullptr while it has none
  TaskWordCell word;       // state | priority | small-stack flag
  std::uint32_t reserved = 0;

  TaskExtra& extra() noexcept;
  TaskState state() const noexcept { return word.state(); }
};
static_assert(sizeof(Task) <= 32 || kUcontextBackend, "the TCB must stay within 32 bytes");

struct LocalSlot {  // one TaskLocal<T> value of this task
  std::size_t key;
  void* value;
  void (*destroy)(void*);
};

struct alignas(16) TaskExtra {
  TaskId id = 0;
  Scheduler* sched = nullptr;          // runs this task; fixed for its life
  Stack stack;                         // its stack while it has one; before: {nullptr, size wanted}
  void (*invoke)(void*) = nullptr;     // calls the callable
  void (*destroy)(void*) = nullptr;    // destroys it
  void* callable = nullptr;
  std::uint32_t block_size = 0;        // the block's size and alignment, to free it
  std::uint32_t block_align = 16;
  // 2 at spawn (the run and the handle). Whoever brings it to 0 frees the
  // task. fetch_sub acq_rel: the release publishes this side's last writes,
  // the acquire of the last one sees the other side's before freeing.
  std::atomic<int> refs{2};
  JoinState join;                      // who waits for the end (join.cpp)
  std::exception_ptr exception;        // what the function threw, for join()
  std::string name;
  std::vector<std::function<void()>> at_exit;  // run LIFO at the end
  std::vector<LocalSlot> locals;               // TaskLocal values, destroyed LIFO at the end
#if GREEN_TSAN
  void* tsan_fiber = nullptr;
#endif
};

// The cold half sits right after the TCB in the task's block.
static_assert(sizeof(Task) % alignof(TaskExtra) == 0);
inline TaskExtra& Task::extra() noexcept { return *reinterpret_cast<TaskExtra*>(this + 1); }

// ---- Schedulers: the extension point every scheduler implements ----------
// A task only ever asks its scheduler to queue it again; everything else
// about switching is the dispatcher's (below), shared by every scheduler.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // t is Ready (spawned or unparked): queue it to run. Any thread.
  virtual void submit(Task* t) = 0;
  // t yielded and is Ready again; called on the loop it yielded on. A
  // scheduler whose queues are not FIFO overrides it to keep yields fair.
  virtual void submit_yielded(Task* t) { submit(t); }
  // t was just made; called once, before its first submit.
  virtual void on_task_spawned(Task* t) noexcept = 0;
  // t ended; called once, on a scheduler loop, before its run reference goes.
  virtual void on_task_end(Task* t) noexcept = 0;
  // Called from a thread that is not running a task: block until t is Done.
  virtual void wait_from_thread(Task* t) = 0;
  // The two stack classes, usable bytes.
  std::size_t stack_size = 256 * 1024;
  std::size_t small_stack_size = 16 * 1024;
};

// ---- Task creation ------------------------------------------------------
TaskId next_task_id() noexcept;
void validate(const SpawnOptions& opts);   // throws std::invalid_argument
// Allocates a task's block and lays out Task and TaskExtra; returns the Task
// and, in *callable, where to construct a callable of the given size/alignment.
Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable);
// Frees a task whose callable was never constructed or already destroyed
// (and its stack, if it still has one).
void free_task(Task* t) noexcept;
// Drops one reference; the last one frees the task.
void release_task(Task* t) noexcept;

template <class F>
Task* make_task(Scheduler& s, F&& f, const SpawnOptions& opts) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "a task's function must be callable with no arguments");
  validate(opts);
  void* where;
  Task* t = allocate_task(s, opts, sizeof(Fn), alignof(Fn), &where);
  try {
    ::new (where) Fn(std::forward<F>(f));
  } catch (...) {
    free_task(t);
    throw;
  }
  TaskExtra& x = t->extra();
  x.callable = where;
  x.invoke = [](void* p) { (*static_cast<Fn*>(p))(); };
  x.destroy = [](void* p) { static_cast<Fn*>(p)->~Fn(); };
  return t;
}

// ---- The dispatcher: switching between a scheduler loop and its tasks ----
// One per OS thread that runs tasks. A task never switches to another task
// directly: it switches to its thread's loop, which applies what the task
// asked for (requeue it, park it, finish it) on the loop's own stack, and only
// then picks the next task. So by the time anyone else can see a parked or
// yielded task, it has completely switched away.
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
  int nesting = 0;  // the preempt-disable count (detail/preempt.hpp)
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
