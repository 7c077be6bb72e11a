// The task control block (TCB) and its life (task.cpp). A task is:
//
//   block, made at spawn, freed when the run and the TaskHandle have both let
//   go (TaskExtra::refs): Task, the hot TCB the dispatcher touches on every
//   switch (32 bytes); TaskExtra, what a task is from its spawn to its last
//   reference (id, scheduler, function, join slot, references: 40 bytes from
//   stage 4 on, where JoinState is one word); its name, if it has one; the
//   callable. So a task that has not started costs 72 bytes and its
//   callable: with a lambda of up to 24 bytes, a 96-byte block (stage 4's
//   classes).
//   stack, from the per-thread cache, from its first run until it ends. At
//   its top lies the TaskRun: what only a task that has started needs (its
//   stack's bounds, its locals, what it waits for, what it threw).
//
// So a queued task costs one small block and no stack, an ended one that
// nobody has joined costs only its block (and, if it threw, a TaskRun on the
// heap that keeps the exception), and the stack a task ends on is still warm
// in the cache for the next.
#pragma once
#include <green/detail/context.hpp>
#include <green/detail/join_state.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>
#include <green/detail/task_word.hpp>
#include <green/options.hpp>

#include <atomic>
#include <cstring>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace green::detail {

class Scheduler;
struct TaskExtra;
struct WaitInfo;
struct TaskLocals;  // stage 2 (task_local.cpp)

// What a task that has started needs besides its TCB: it lies at the top of
// the task's stack, put there at its first run (dispatcher.cpp's
// bind_stack), and goes with the stack when the task ends. A task that ends
// with an exception and no stack keeps one on the heap for join to rethrow
// (stack empty: exception_run).
struct alignas(16) TaskRun {
  Stack stack;                         // the stack it lies at the top of ({} on the heap)
  TaskLocals* locals = nullptr;        // stage 2: at_exit handlers, TaskLocal values; made
                                       // at their first use, gone at the task's end
  const WaitInfo* waiting = nullptr;   // what it is parked on, while it is (Waiting, below)
  std::uint64_t runnable_at = 0;       // when it became Ready, if the latency sample took it (ns; else 0)
  std::exception_ptr exception;        // what its function (or an at_exit handler) threw
#if GREEN_TSAN
  void* tsan_fiber = nullptr;
#endif
};

// Invariants: ctx is valid exactly when the task has started and is not
// Running; next belongs to the one queue that holds the task; word is
// written only by whoever owns the task by the queue/park protocol
// (TaskWordCell); run is nullptr exactly until the first run and after an
// end without exception.
struct alignas(16) Task {
  // Saved registers while switched out. Before its first run a task has
  // none, and ctx holds its latency stamp instead (dispatcher.cpp).
  Context ctx;
  Task* next = nullptr;   // intrusive link for run queues and wait lists
  TaskRun* run = nullptr; // from its first run: its TaskRun (above); after its end, only if it threw
  TaskWordCell word;      // state | priority | small-stack and named flags
  union {
    std::uint32_t stack_wanted;  // before its first run: the stack size it asked for (bytes)
    std::uint32_t held = 0;      // from then on: phase 4's count of the green::Mutexes it holds
  };                             // (its own writes only)

  TaskExtra& extra() noexcept;
  TaskState state() const noexcept { return word.state(); }
};
static_assert(sizeof(Task) <= 32 || kUcontextBackend, "the TCB must stay within 32 bytes");
static_assert(kMaxStackSize <= UINT32_MAX, "Task::stack_wanted holds any stack size");

// What make_task knows of the callable's type, one table per type: where it
// lies in the block, how to run and destroy it, and the block's size and
// alignment (callable_ops, below). So the block keeps one pointer for them.
struct CallableOps {
  void (*run)(Task* t);
  void (*destroy)(Task* t) noexcept;
  void (*free_block)(Task* t) noexcept;  // gives the block back
};

struct alignas(8) TaskExtra {
  TaskId id = 0;
  Scheduler* sched = nullptr;          // runs this task; fixed for its life
  const CallableOps* ops = nullptr;    // its callable's type's (make_task)
  JoinState join;                      // who waits for the end (join.cpp)
  // 2 at spawn (the run and the handle); whoever brings it to 0 frees the
  // task. fetch_sub acq_rel: release publishes this side's last writes, the
  // last one's acquire sees the other side's before freeing.
  std::atomic<int> refs{2};
  std::uint32_t live = 0;              // kTaskLive from allocate_task to free_task (below)
};

// The cold half sits right after the TCB in the task's block; then the name
// (NUL-terminated, if the word says named), then the callable at its
// alignment. A block is aligned to Task's alignment at least.
static_assert(sizeof(Task) % alignof(TaskExtra) == 0);
inline TaskExtra& Task::extra() noexcept { return *reinterpret_cast<TaskExtra*>(this + 1); }
inline constexpr std::size_t kTaskHeader = sizeof(Task) + sizeof(TaskExtra);
inline char* name_in_block(Task* t) noexcept { return reinterpret_cast<char*>(t) + kTaskHeader; }
inline constexpr std::size_t callable_offset(std::size_t name_bytes, std::size_t callable_align) noexcept {
  return (kTaskHeader + name_bytes + callable_align - 1) & ~(callable_align - 1);
}
inline constexpr std::size_t block_align(std::size_t callable_align) noexcept {
  return callable_align < alignof(Task) ? alignof(Task) : callable_align;
}

// The task's name, "" if it has none.
inline const char* task_name(Task* t) noexcept { return t->word.named() ? name_in_block(t) : ""; }

// A task's block, seen from outside (stage 4's dump_tasks and gdb walk every
// block): `live` says whether a block holds a task. Set as the block becomes
// a task and cleared as it stops being one; no other kind of block writes
// this value at this offset.
inline constexpr std::uint32_t kTaskLive = 0x6b736174;  // "task"

// What a parked task waits for: `what` names it ("join", "mutex", "io
// read"...), `arg` says which one (a task id, an fd, an address), `since` is
// CLOCK_MONOTONIC_COARSE in ns when the wait began. Lives on the waiting
// task's stack; the Waiting guard points the task at it for the wait.
struct WaitInfo {
  const char* what;
  std::int64_t arg;
  std::uint64_t since;
};
std::uint64_t coarse_now_ns() noexcept;  // CLOCK_MONOTONIC_COARSE in ns: WaitInfo's clock

// Points the task self at a WaitInfo while it waits (a park, from just
// before to just after). self may be nullptr (a plain thread): nothing then.
class Waiting {
 public:
  Waiting(Task* self, const char* what, std::int64_t arg) noexcept;
  ~Waiting() {
    if (self_) self_->run->waiting = nullptr;
  }
  Waiting(const Waiting&) = delete;
  Waiting& operator=(const Waiting&) = delete;

 private:
  Task* self_;
  WaitInfo info_;
};

// ---- A task's life (task.cpp) ----------------------------------------------
TaskId next_task_id() noexcept;
[[noreturn]] void invalid_spawn_options(const SpawnOptions& opts);  // throws std::invalid_argument
// Inline, as every spawn calls it; the message is built out of line.
inline void validate(const SpawnOptions& opts) {
  if (opts.priority < kMinPriority || opts.priority > kMaxPriority || opts.stack_size > kMaxStackSize) [[unlikely]]
    invalid_spawn_options(opts);
}
// Allocates a task's block and lays out Task, TaskExtra and the name (copied
// in); returns the Task and, in *callable, where to construct a callable of
// the given size/alignment.
Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable);
// Frees a task whose callable was never constructed or already destroyed
// (and its TaskRun, if it still has one).
void free_task(Task* t) noexcept;
// A TaskRun on the heap holding e, for a task that ends with an exception
// and has no stack to keep it on (dispatcher.cpp, help_join.cpp). Out of
// memory for it: the process ends with a message.
TaskRun* exception_run(std::exception_ptr e) noexcept;
// Drops one reference; the last one frees the task.
void release_task(Task* t) noexcept;
// What a task with locals (r.locals) leaves to do as it ends, on its stack,
// after its function and before it switches out for good (task_local.cpp:
// nothing in stage 1).
void run_exit_work(TaskRun& r) noexcept;

// A task's run, the half of its life that does not depend on its stack
// (task_entry's, and phase 6's inline join's, help_join.cpp): its function,
// what it throws caught into its TaskRun, then its destruction and its exit
// work. Inline: an inline join is then one frame fewer.
inline void run_task_function(Task* t) noexcept {
  const CallableOps* ops = t->extra().ops;
  TaskRun& r = *t->run;
  try {
    ops->run(t);
  } catch (...) {
    r.exception = std::current_exception();
  }
  ops->destroy(t);
  if (r.locals) run_exit_work(r);  // (most tasks have none: no call)
}

// Where blocks come from (task_block.cpp; stage 4 recycles them per thread).
// Callers hold PreemptOff (stage 4's cache is the thread's).
void* new_block(std::size_t size, std::size_t align);
void delete_block(void* p, std::size_t size, std::size_t align) noexcept;

// CallableOps for a callable of type Fn: the block's layout (above) follows
// from Fn and the name, so the block keeps no pointer to the callable and
// no size. Three functions, not one with a switch: a run of a body such as
// fib's needs a stack frame, and a destroy or a free then pays none.
template <class Fn>
Fn* callable_in(Task* t) noexcept {
  std::size_t off = callable_offset(0, alignof(Fn));
  if (t->word.named()) [[unlikely]]
    off = callable_offset(std::strlen(name_in_block(t)) + 1, alignof(Fn));
  return std::launder(reinterpret_cast<Fn*>(reinterpret_cast<std::byte*>(t) + off));
}
template <class Fn>
inline constexpr CallableOps callable_ops{
    [](Task* t) { (*callable_in<Fn>(t))(); },
    [](Task* t) noexcept { callable_in<Fn>(t)->~Fn(); },
    [](Task* t) noexcept {
      auto* end = reinterpret_cast<std::byte*>(callable_in<Fn>(t) + 1);
      delete_block(t, static_cast<std::size_t>(end - reinterpret_cast<std::byte*>(t)), block_align(alignof(Fn)));
    },
};

template <class F>
Task* make_task(Scheduler& s, F&& f, const SpawnOptions& opts) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "a task's function must be callable with no arguments");
  validate(opts);
  void* where;
  Task* t = allocate_task(s, opts, sizeof(Fn), alignof(Fn), &where);
  TaskExtra& x = t->extra();
  x.live = kTaskLive;
  x.ops = &callable_ops<Fn>;  // (first: free_task frees the block through it)
  try {
    ::new (where) Fn(std::forward<F>(f));
  } catch (...) {
    free_task(t);
    throw;
  }
  return t;
}

}  // namespace green::detail

#include <green/detail/scheduler.hpp>
#include <green/detail/dispatcher.hpp>
