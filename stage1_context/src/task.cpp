// A task's life: its id, its block (Task, TaskExtra, the name, the callable), its
// references, and freeing it. See include/green/detail/task.hpp.
#include <green/detail/unimplemented.hpp>
#include <green/detail/debug.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/task.hpp>

#include <cstdio>
#include <cstdlib>
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

Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable) {
  PreemptOff no_preempt;  // the block cache and the id block are this thread's
  // BEGIN SOLUTION
  std::size_t stack = opts.stack_size ? round_stack_size(opts.stack_size)
                     : opts.small_stack ? s.small_stack_size : s.stack_size;  // (rounded already)
  const std::size_t name_bytes = opts.name.empty() ? 0 : opts.name.size() + 1;
  const std::size_t off = callable_offset(name_bytes, callable_align);
  void* block = new_block(off + callable_size, block_align(callable_align));
  // Default-initialized: every member has its initializer, and value-
  // initializing (`{}`) zeroes the whole block first (a rep stos, 40% of
  // this function in a fib of fine tasks).
  auto* t = ::new (block) Task;
  auto* x = ::new (&t->extra()) TaskExtra;
  x->id = next_task_id();
  x->sched = &s;
  t->stack_wanted = static_cast<std::uint32_t>(stack);  // the stack is made when the task first runs
  t->word.init(TaskState::Ready, opts.priority, opts.small_stack);
  if (name_bytes) {  // between TaskExtra and the callable
    char* name = name_in_block(t);
    opts.name.copy(name, opts.name.size());
    name[opts.name.size()] = '\0';
    t->word.set_named();
  }
  *callable = static_cast<std::byte*>(block) + off;
  return t;
  // STUB: (void)s, (void)opts, (void)callable_size, (void)callable_align, (void)callable;
  // STUB: unimplemented("stage 1: allocate_task (task.cpp) is yours to write");
  // END SOLUTION
}

// A task whose exception nobody took (it was detached, or its handle was
// dropped without a join) has nobody to rethrow to: say so rather than lose it.
static void report_lost_exception(Task* t, const std::exception_ptr& e) noexcept {
  const char* what = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  std::fprintf(stderr, "green: task %llu \"%s\" ended with an exception that nobody joined%s%s\n",
               static_cast<unsigned long long>(t->extra().id), task_name(t), what ? ": " : "", what ? what : "");
}

static_assert(std::is_trivially_destructible_v<Task> && std::is_trivially_destructible_v<TaskExtra>,
              "free_task gives the block back without destroying them");

TaskRun* exception_run(std::exception_ptr e) noexcept {
  auto* r = new (std::nothrow) TaskRun;
  if (!r) {
    std::fputs("green: out of memory for the record of a task's exception\n", stderr);
    std::abort();
  }
  r->exception = std::move(e);
  return r;
}

void free_task(Task* t) noexcept {
  PreemptOff no_preempt;  // the block and stack caches are this thread's
  TaskExtra& x = t->extra();
  if (TaskRun* r = t->run) {  // it never ran (nullptr), or it threw, or it never ended
    if (r->exception) report_lost_exception(t, r->exception);
    if (Stack s = r->stack) {  // the record lies on the stack: it goes with it
      r->~TaskRun();
      stack_release(s);
    } else {
      delete r;
    }
  }
  // No longer a task, for whoever walks the blocks. An atomic store, as the
  // compiler may drop a plain one to a block freed right after; relaxed: it
  // pairs with nothing, the walkers read blocks racily, as a debugger does
  // (GREEN_RACY_READER), and a block changes hands through the block cache.
  std::atomic_ref<std::uint32_t>(x.live).store(0, std::memory_order_relaxed);
  x.ops->free_block(t);  // (Task and TaskExtra have nothing to destroy)
}

std::uint64_t coarse_now_ns() noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);  // a few ns: read at every park
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

Waiting::Waiting(Task* self, const char* what, std::int64_t arg) noexcept : self_(self), info_{what, arg, 0} {
  if (!self) return;
  info_.since = coarse_now_ns();
  self->run->waiting = &info_;
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
