// A task's life: its id, its block (Task, TaskExtra, the callable), its
// references, and freeing it. See include/green/detail/task.hpp.
#include <green/detail/unimplemented.hpp>
#include <green/detail/debug.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/task.hpp>

#include <cstdio>
#include <time.h>

namespace green::detail {

// ---- Ids ------------------------------------------------------------------
// Each thread takes ids in blocks from one counter, so spawning does not
// bounce a shared cache line. fetch_add relaxed: uniqueness needs only the
// atomicity of the RMW, and nothing is published through the counter.
TaskId next_task_id() noexcept {
  static std::atomic<TaskId> next_block{1};
  constexpr TaskId kBlock = 1024;
  thread_local TaskId next = 0, end = 0;
  if (next == end) {
    next = next_block.fetch_add(kBlock, std::memory_order_relaxed);
    end = next + kBlock;
  }
  return next++;
}

// validate() found opts wrong: says which field (the priority first, as before).
void invalid_spawn_options(const SpawnOptions& opts) {
  if (opts.priority >= kMinPriority && opts.priority <= kMaxPriority)
    throw std::invalid_argument("green: stack_size " + std::to_string(opts.stack_size) +
                                " is larger than the limit of " + std::to_string(kMaxStackSize) + " bytes");
  throw std::invalid_argument("green: priority " + std::to_string(opts.priority) + " is outside " +
                              std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
}

// ---- The block --------------------------------------------------------------

[[maybe_unused]] static std::size_t callable_offset(std::size_t align) {  // (unused in a starter tree)
  std::size_t off = sizeof(Task) + sizeof(TaskExtra);
  return (off + align - 1) & ~(align - 1);
}

Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable) {
  PreemptOff no_preempt;  // the block cache and the id block are this thread's
  // BEGIN SOLUTION
  std::size_t stack = opts.stack_size ? round_stack_size(opts.stack_size)
                     : opts.small_stack ? s.small_stack_size : s.stack_size;  // (rounded already)
  std::size_t align = callable_align < alignof(Task) ? alignof(Task) : callable_align;
  std::size_t off = callable_offset(align);
  const std::size_t name_size = opts.name.empty() ? 0 : opts.name.size() + 1;
  std::size_t size = off + callable_size + name_size;
  void* block = new_block(size, align);
  // Default-initialized: every member has its initializer, and value-
  // initializing (`{}`) zeroes the whole block first (a rep stos, 40% of
  // this function in a fib of fine tasks).
  auto* t = ::new (block) Task;
  auto* x = ::new (&t->extra()) TaskExtra;
  x->id = next_task_id();
  x->sched = &s;
  x->stack = Stack{nullptr, stack};  // made when the task first runs
  x->block_size = static_cast<std::uint32_t>(size);
  x->block_align = static_cast<std::uint32_t>(align);
  if (name_size) {  // after the callable
    char* name = static_cast<char*>(block) + off + callable_size;
    opts.name.copy(name, opts.name.size());
    name[opts.name.size()] = '\0';
    x->name = name;
  }
  t->word.init(TaskState::Ready, opts.priority, opts.small_stack);
  *callable = static_cast<std::byte*>(block) + off;
  return t;
  // STUB: (void)s, (void)opts, (void)callable_size, (void)callable_align, (void)callable;
  // STUB: unimplemented("stage 1: allocate_task (task.cpp) is yours to write");
  // END SOLUTION
}

// A task whose exception nobody took (it was detached, or its handle was
// dropped without a join) has nobody to rethrow to: say so rather than lose it.
static void report_lost_exception(const TaskExtra& x) noexcept {
  const char* what = nullptr;
  try {
    std::rethrow_exception(x.exception);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "green: task %llu \"%s\" ended with an exception that nobody joined%s%s\n",
               static_cast<unsigned long long>(x.id), task_name(x), what ? ": " : "", what ? what : "");
}

void free_task(Task* t) noexcept {
  PreemptOff no_preempt;  // the block and stack caches are this thread's
  TaskExtra& x = t->extra();
  if (x.exception) report_lost_exception(x);
  if (x.stack) stack_release(x.stack);
  std::size_t size = x.block_size, align = x.block_align;
  x.live = 0;  // no longer a task, for whoever walks the blocks
  x.~TaskExtra();
  t->~Task();
  delete_block(t, size, align);
}

std::uint64_t coarse_now_ns() noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);  // a few ns: read at every park
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

Waiting::Waiting(Task* self, const char* what, std::int64_t arg) noexcept : self_(self), info_{what, arg, 0} {
  if (!self) return;
  info_.since = coarse_now_ns();
  self->extra().waiting = &info_;
}

void release_task(Task* t) noexcept {
  // acq_rel: see TaskExtra::refs. A count of 1 seen by a holder is its own
  // reference, the last (counts only fall): it frees without the locked
  // RMW, and its acquire load pairs with the other side's release as the
  // fetch_sub's acquire would.
  std::atomic<int>& refs = t->extra().refs;
  if (refs.load(std::memory_order_acquire) == 1 || refs.fetch_sub(1, std::memory_order_acq_rel) == 1) free_task(t);
}

}  // namespace green::detail
