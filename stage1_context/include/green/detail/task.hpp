// The task control block (TCB) and its life (task.cpp). A task is:
//
//   block, made at spawn, freed when the run and the TaskHandle have both let
//   go (TaskExtra::refs): Task, the hot TCB the scheduler touches on every
//   switch; TaskExtra, the cold half; the callable, moved in at spawn; the
//   name, if it has one. From stage 4 on (its JoinState is one word), 32 +
//   128 bytes and the callable: a callable of up to 32 bytes makes a 192-byte
//   block (task_block.cpp).
//   stack, from the per-thread cache, from its first run until it ends.
//
// So a queued task costs one small block and no stack, an ended one that
// nobody has joined costs only its block, and the stack a task ends on is
// still warm in the cache for the next.
#pragma once
#include <green/detail/context.hpp>
#include <green/detail/join_state.hpp>
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
#include <type_traits>
#include <utility>
#include <vector>

namespace green::detail {

class Scheduler;
struct TaskExtra;
struct WaitInfo;
struct TaskLocals;  // stage 2 (task_local.cpp)

// Invariants: ctx is valid exactly when the task is not Running; next
// belongs to the one queue that holds the task; word is written only by
// whoever owns the task by the queue/park protocol (TaskWordCell).
struct alignas(16) Task {
  Context ctx;             // saved registers while switched out
  Task* next = nullptr;    // intrusive link for run queues and wait lists
  std::byte* stack_lo = nullptr;  // low end of the stack; nullptr while it has none
  TaskWordCell word;       // state | priority | small-stack flag
  std::uint32_t held = 0;  // phase 4: the green::Mutexes it holds (its own writes only)

  TaskExtra& extra() noexcept;
  TaskState state() const noexcept { return word.state(); }
};
static_assert(sizeof(Task) <= 32 || kUcontextBackend, "the TCB must stay within 32 bytes");

struct alignas(16) TaskExtra {
  TaskId id = 0;
  Scheduler* sched = nullptr;          // runs this task; fixed for its life
  Stack stack;                         // its stack while it has one; before: {nullptr, size wanted}
  void (*call)(void* callable, bool run) = nullptr;  // run: calls the callable; else destroys it
  void* callable = nullptr;
  std::uint32_t block_size = 0;        // the block's size and alignment, to free it
  std::uint32_t block_align = 16;
  // 2 at spawn (the run and the handle); whoever brings it to 0 frees the
  // task. fetch_sub acq_rel: release publishes this side's last writes, the
  // last one's acquire sees the other side's before freeing.
  std::atomic<int> refs{2};
  std::uint32_t live = 0;              // kTaskLive from allocate_task to free_task (below)
  JoinState join;                      // who waits for the end (join.cpp)
  std::exception_ptr exception;        // what the function threw, for join()
  const char* name = nullptr;          // NUL-terminated, in the block after the callable; nullptr: none
  TaskLocals* locals = nullptr;        // stage 2: at_exit handlers, TaskLocal values; the
                                       // task's own, made at its first use, gone at its end
  const WaitInfo* waiting = nullptr;   // what it is parked on, while it is (Waiting, below)
  std::uint64_t runnable_at = 0;       // when it became Ready, if the latency sample took it (ns; else 0)
#if GREEN_TSAN
  void* tsan_fiber = nullptr;
#endif
};

// The task's name, "" if it has none.
inline const char* task_name(const TaskExtra& x) noexcept { return x.name ? x.name : ""; }

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

// The cold half sits right after the TCB in the task's block.
static_assert(sizeof(Task) % alignof(TaskExtra) == 0);
inline TaskExtra& Task::extra() noexcept { return *reinterpret_cast<TaskExtra*>(this + 1); }

// Points the task self at a WaitInfo while it waits (a park, from just
// before to just after). self may be nullptr (a plain thread): nothing then.
class Waiting {
 public:
  Waiting(Task* self, const char* what, std::int64_t arg) noexcept;
  ~Waiting() {
    if (self_) self_->extra().waiting = nullptr;
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
// (and its stack, if it still has one).
void free_task(Task* t) noexcept;
// Drops one reference; the last one frees the task.
void release_task(Task* t) noexcept;
// What a task with locals (x.locals) leaves to do as it ends, on its stack,
// after its function and before it switches out for good (task_local.cpp:
// nothing in stage 1).
void run_exit_work(TaskExtra& x) noexcept;

// A task's run, the half of its life that does not depend on its stack
// (task_entry's, and phase 6's inline join's, help_join.cpp): its function,
// what it throws caught into x.exception, then its destruction and its exit
// work. Inline: an inline join is then one frame fewer.
inline void run_task_function(TaskExtra& x) noexcept {
  try {
    x.call(x.callable, true);
  } catch (...) {
    x.exception = std::current_exception();
  }
  x.call(x.callable, false);
  if (x.locals) run_exit_work(x);  // (most tasks have none: no call)
}

// Where blocks come from (task_block.cpp; stage 4 recycles them per thread).
// Callers hold PreemptOff (stage 4's cache is the thread's).
void* new_block(std::size_t size, std::size_t align);
void delete_block(void* p, std::size_t size, std::size_t align) noexcept;

template <class F>
Task* make_task(Scheduler& s, F&& f, const SpawnOptions& opts) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "a task's function must be callable with no arguments");
  validate(opts);
  void* where;
  Task* t = allocate_task(s, opts, sizeof(Fn), alignof(Fn), &where);
  t->extra().live = kTaskLive;
  try {
    ::new (where) Fn(std::forward<F>(f));
  } catch (...) {
    free_task(t);
    throw;
  }
  TaskExtra& x = t->extra();
  x.callable = where;
  x.call = [](void* p, bool run) {
    if (run) (*static_cast<Fn*>(p))();
    else static_cast<Fn*>(p)->~Fn();
  };
  return t;
}

}  // namespace green::detail

#include <green/detail/scheduler.hpp>
#include <green/detail/dispatcher.hpp>
