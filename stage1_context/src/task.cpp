// Task creation, the task entry point, the dispatcher's two switch sites and
// the end of a task. See include/green/detail/task.hpp for the design.
#include <green/detail/preempt.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/task.hpp>

#include <cerrno>
#include <cxxabi.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
__thread int green_preempt_off = 0;      // see detail/preempt.hpp
__thread int green_preempt_pending = 0;
__thread void* green_current_task = nullptr;  // see current_task() in detail/task.hpp
__thread void* green_this_dispatcher = nullptr;
}

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

void validate(const SpawnOptions& opts) {
  if (opts.priority < kMinPriority || opts.priority > kMaxPriority)
    throw std::invalid_argument("green: priority " + std::to_string(opts.priority) + " is outside " +
                                std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
  if (opts.stack_size > kMaxStackSize)
    throw std::invalid_argument("green: stack_size " + std::to_string(opts.stack_size) +
                                " is larger than the limit of " + std::to_string(kMaxStackSize) + " bytes");
}

// ---- Layout ---------------------------------------------------------------

static void task_entry(void* arg);

// Small blocks (a task whose callable is small: nearly all) are recycled
// through per-thread free lists, one per size class, so a spawn costs no
// malloc. glibc's own per-thread cache keeps only 7 blocks of a size, far
// fewer than a burst of spawns frees. Two classes, so that a task whose
// Task + TaskExtra + callable fits in 256 bytes costs 256 (plus malloc's
// header), not 512: at 10^6 parked tasks that is a quarter of a kilobyte each.
// Larger or over-aligned blocks go straight to operator new.
//
// Invariant: a block on class k's list was allocated as kBlockClass[k] bytes,
// and a block's class is a function of (size, align) alone, which
// free_task passes back exactly as allocate_task computed them.
static constexpr std::size_t kBlockClass[] = {256, 512};
static constexpr int kBlockClasses = 2;

struct BlockCache {
  static constexpr std::size_t kMax = 4096;  // per class
  struct List {
    void* head = nullptr;  // free blocks, linked through their first word
    std::size_t count = 0;
  } lists[kBlockClasses];
  ~BlockCache() {
    for (List& l : lists)
      while (l.head) {
        void* next = *static_cast<void**>(l.head);
        ::operator delete(l.head);
        l.head = next;
      }
  }
};
static thread_local BlockCache tl_blocks;

// The small class of a block, or -1 if it is not small.
static int block_class(std::size_t size, std::size_t align) {
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return -1;
  for (int k = 0; k < kBlockClasses; ++k)
    if (size <= kBlockClass[k]) return k;
  return -1;
}

static void* new_block(std::size_t size, std::size_t align) {
  if (int k = block_class(size, align); k >= 0) {
    BlockCache::List& l = tl_blocks.lists[k];
    if (void* p = l.head) {
      l.head = *static_cast<void**>(p);
      --l.count;
      return p;
    }
    return ::operator new(kBlockClass[k]);
  }
  return align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? ::operator new(size) : ::operator new(size, std::align_val_t{align});
}

static void delete_block(void* p, std::size_t size, std::size_t align) noexcept {
  if (int k = block_class(size, align); k >= 0) {
    BlockCache::List& l = tl_blocks.lists[k];
    if (l.count < BlockCache::kMax) {
      *static_cast<void**>(p) = l.head;
      l.head = p;
      ++l.count;
      return;
    }
    ::operator delete(p);
  } else if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p);
  } else {
    ::operator delete(p, std::align_val_t{align});
  }
}

static std::size_t callable_offset(std::size_t align) {
  std::size_t off = sizeof(Task) + sizeof(TaskExtra);
  return (off + align - 1) & ~(align - 1);
}

Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable) {
  PreemptOff no_preempt;  // the block cache and the id block are this thread's
  std::size_t stack = opts.stack_size ? opts.stack_size : opts.small_stack ? s.small_stack_size : s.stack_size;
  std::size_t align = callable_align < alignof(Task) ? alignof(Task) : callable_align;
  std::size_t off = callable_offset(align);
  std::size_t size = off + callable_size;
  void* block = new_block(size, align);
  auto* t = ::new (block) Task{};
  auto* x = ::new (&t->extra()) TaskExtra{};
  x->id = next_task_id();
  x->sched = &s;
  x->stack = Stack{nullptr, round_stack_size(stack)};  // made when the task first runs
  x->block_size = static_cast<std::uint32_t>(size);
  x->block_align = static_cast<std::uint32_t>(align);
  try {
    if (!opts.name.empty()) x->name.assign(opts.name);
  } catch (...) {
    x->~TaskExtra();
    delete_block(block, size, align);
    throw;
  }
  t->word.store(TaskWord(TaskState::Ready, opts.priority, opts.small_stack));
  *callable = static_cast<std::byte*>(block) + off;
  return t;
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
               static_cast<unsigned long long>(x.id), x.name.c_str(), what ? ": " : "", what ? what : "");
}

void free_task(Task* t) noexcept {
  PreemptOff no_preempt;  // the block and stack caches are this thread's
  TaskExtra& x = t->extra();
  if (x.exception) report_lost_exception(x);
  if (x.stack) stack_release(x.stack);
  std::size_t size = x.block_size, align = x.block_align;
  x.~TaskExtra();
  t->~Task();
  delete_block(t, size, align);
}

// Gives t a stack and a context that starts in task_entry. On the loop, just
// before t first runs. False (and t ended with std::bad_alloc) if there is no
// memory for it.
static bool bind_stack(Task* t) noexcept {
  TaskExtra& x = t->extra();
  try {
    x.stack = stack_allocate(x.stack.size);
  } catch (...) {
    x.exception = std::current_exception();
    return false;
  }
  t->stack_lo = x.stack.lo;
  context_make(t->ctx, x.stack.lo, x.stack.hi(), &task_entry, t);
  return true;
}

void release_task(Task* t) noexcept {
  // acq_rel: see TaskExtra::refs.
  if (t->extra().refs.fetch_sub(1, std::memory_order_acq_rel) == 1) free_task(t);
}

// ---- Thread-local state, read so that migration cannot stale it ----------

// errno's address is the calling thread's. glibc declares __errno_location
// const, so the compiler may reuse one call's result after a switch, when
// the task runs on another thread: read it through an opaque call instead.
[[gnu::noinline]] int* errno_location() noexcept {
  int* p = &errno;
  asm volatile("" : "+r"(p));
  return p;
}

// The C++ runtime's exception state is per thread too (EhGlobals), but it
// belongs to the task that is inside the catch block or throw: a task that
// switches out there and resumes on another thread, or after another task
// threw on this one, would otherwise end or rethrow someone else's exception.
// __cxa_get_globals is declared const, hence the opaque call.
[[gnu::noinline]] static EhGlobals* thread_eh_globals() noexcept {
  auto* p = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
  asm volatile("" : "+r"(p));
  return p;
}

// ---- The two switch sites -------------------------------------------------

// What belongs to a task and not to the thread it runs on: errno, the C++
// exception state and the preempt-disable nesting. A thread that starts
// running tasks keeps its own in the dispatcher until it stops (a plain
// thread may run a LocalScheduler inside a catch block, or under a
// PreemptOff); each task keeps its own on its stack while it is switched
// out (switch_to_loop). In between, the loop runs with none: no exception,
// and the count raised (a loop is never preempted, detail/preempt.hpp).
void Dispatcher::enter() {
  install_overflow_handler();
  // This thread's errno and exception state, for switch_to_loop: found here
  // once, not by two library calls per switch.
  eh_globals = thread_eh_globals();
  errno_ptr = errno_location();
  outer.err = *errno_ptr;
  outer.eh = *eh_globals;
  outer.nesting = preempt_count();
  *eh_globals = EhGlobals{};
  set_preempt_count(outer.nesting + 1);
#if GREEN_TSAN
  loop_tsan_fiber = __tsan_get_current_fiber();  // this thread's own fiber
#endif
  set_this_dispatcher(this);
}

void Dispatcher::leave() noexcept {
  set_this_dispatcher(nullptr);
  *eh_globals = outer.eh;
  *errno_ptr = outer.err;
  set_preempt_count(outer.nesting);
  restore_overflow_stack();
}

// Checks, each time a task switches out, that it stayed on its stack.
static void check_stack(Task* t, bool exiting) {
  bool sp_ok = exiting || static_cast<std::byte*>(context_sp(t->ctx)) > t->stack_lo;
  if (!sp_ok || !stack_canary_ok(t->extra().stack)) report_stack_overflow(t->extra().id, t->extra().name.c_str());
}

void Dispatcher::run(Task* t) {
  current = t;
  set_current_task(t);
  t->word.start_running();
  if (!t->stack_lo && !bind_stack(t)) {
    // No memory for a stack: the task ends with std::bad_alloc, never run.
    t->extra().destroy(t->extra().callable);
    after = After::Exit;
  } else {
#if GREEN_TSAN
    // TSan keeps a whole thread state per fiber: make it when the task first
    // runs and destroy it when the task ends, so queued or ended tasks cost none.
    if (!t->extra().tsan_fiber) t->extra().tsan_fiber = __tsan_create_fiber(0);
#endif
#if GREEN_ASAN
    __sanitizer_start_switch_fiber(&loop_fake_stack, t->stack_lo, t->extra().stack.size);
#endif
#if GREEN_TSAN
    __tsan_switch_to_fiber(t->extra().tsan_fiber, 0);
#endif
    context_switch(loop, t->ctx);
#if GREEN_ASAN
    __sanitizer_finish_switch_fiber(loop_fake_stack, nullptr, nullptr);
#endif
    check_stack(t, after == After::Exit);
  }
  current = nullptr;
  set_current_task(nullptr);
  switch (after) {
    case After::Yield:
      t->word.stop_running();
      t->extra().sched->submit_yielded(t);
      break;
    case After::Park:
      // Waiting before the callback: the callback may unpark it at once.
      if (t->word.park()) {
        if (park_fn) park_fn(t, park_arg);
      } else {
        t->extra().sched->submit(t);  // woken before it finished parking
      }
      break;
    case After::Exit: {
      TaskExtra& x = t->extra();
#if GREEN_TSAN
      if (x.tsan_fiber) __tsan_destroy_fiber(x.tsan_fiber);
      x.tsan_fiber = nullptr;
#endif
      // Its stack goes back to the cache now, warm for the next task; what
      // join() needs stays in the block.
      if (x.stack) stack_release(x.stack);
      x.stack = Stack{nullptr, x.stack.size};
      t->stack_lo = nullptr;
      t->word.finish();
      notify_done(t);
      x.sched->on_task_end(t);
      release_task(t);
      break;
    }
  }
}

// Task side: record what the loop should do, switch to it. When this returns
// the task runs again, possibly on another thread: re-read the dispatcher.
// What belongs to the task (TaskOwned) is saved here, on the task's stack,
// and put back on whatever thread it resumes on; the loop gets none.
static void switch_to_loop(After what, ParkFn fn = nullptr, void* arg = nullptr) {
  TaskOwned mine;
  // The task's own nesting, read before raising the count: a preemption
  // between the two instructions resumes the task with that same nesting,
  // and the read does not wait for the raise's store.
  mine.nesting = preempt_count();
  preempt_disable();                         // from here on this thread stays ours, and
                                             // the loop runs with nesting + 1 >= 1
  Dispatcher* d = this_dispatcher();
  mine.err = *d->errno_ptr;
  mine.eh = *d->eh_globals;
  const bool in_eh = mine.eh.caught || mine.eh.uncaught;  // rare: inside a catch block or a throw
  if (in_eh) *d->eh_globals = EhGlobals{};   // the loop, and the thread's next task, have none
  Task* self = d->current;
  d->after = what;
  d->park_fn = fn;
  d->park_arg = arg;
#if GREEN_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(what == After::Exit ? nullptr : &fake_stack, d->loop_stack_bottom,
                                 d->loop_stack_size);
#endif
#if GREEN_TSAN
  __tsan_switch_to_fiber(d->loop_tsan_fiber, 0);
#endif
  context_switch(self->ctx, d->loop);
  d = this_dispatcher();                     // maybe another thread's now
#if GREEN_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, &d->loop_stack_bottom, &d->loop_stack_size);
#endif
  *d->errno_ptr = mine.err;
  if (in_eh) *d->eh_globals = mine.eh;       // else the thread's is empty already (invariant above)
  // A tick that landed while the loop ran (the count was raised) owes
  // nothing to this task: this switch was its preemption.
  set_preempt_pending(0);
  set_preempt_count(mine.nesting);           // one store: preemptible again if 0
}

void yield_current() { switch_to_loop(After::Yield); }
void park_current(ParkFn fn, void* arg) { switch_to_loop(After::Park, fn, arg); }

void unpark(Task* t) {
  PreemptOff no_preempt;  // submit() pushes to this thread's queue
  if (t->word.unpark()) t->extra().sched->submit(t);
}

// ---- The life of a task -----------------------------------------------------

// Runs the end-of-task work on the task's own stack: handlers LIFO, then the
// TaskLocal values LIFO. A throwing handler's exception is kept if the task has
// none yet; the other handlers still run.
static void run_exit_work(TaskExtra& x) noexcept {
  while (!x.at_exit.empty()) {
    std::function<void()> h = std::move(x.at_exit.back());
    x.at_exit.pop_back();
    try {
      h();
    } catch (...) {
      if (!x.exception) x.exception = std::current_exception();
    }
  }
  while (!x.locals.empty()) {
    LocalSlot s = x.locals.back();
    x.locals.pop_back();
    s.destroy(s.value);
  }
}

[[noreturn]] void exit_current() noexcept {
  switch_to_loop(After::Exit);
  __builtin_unreachable();
}

static void task_entry(void* arg) {
  auto* t = static_cast<Task*>(arg);
#if GREEN_ASAN
  Dispatcher* d = this_dispatcher();
  __sanitizer_finish_switch_fiber(nullptr, &d->loop_stack_bottom, &d->loop_stack_size);
#endif
  set_preempt_pending(0);  // see the end of switch_to_loop
  set_preempt_count(0);    // the loop keeps its own count; the task starts at 0
  TaskExtra& x = t->extra();
  try {
    x.invoke(x.callable);
  } catch (...) {
    x.exception = std::current_exception();
  }
  x.destroy(x.callable);
  run_exit_work(x);
  exit_current();
}

}  // namespace green::detail
