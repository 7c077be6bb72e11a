// Task creation, the task entry point, the dispatcher's two switch sites and
// the end of a task. See include/green/detail/task.hpp for the design.
#include <green/detail/sanitizers.hpp>
#include <green/detail/task.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

static std::byte* align_down(std::byte* p, std::size_t a) {
  return reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(p) & ~(a - 1));
}

static void task_entry(void* arg);

Task* allocate_task(Scheduler& s, const SpawnOptions& opts, std::size_t callable_size,
                    std::size_t callable_align, void** callable) {
  std::size_t size = opts.stack_size ? opts.stack_size : opts.small_stack ? s.small_stack_size : s.stack_size;
  // Room for the TCB, the cold half, the callable and a little stack to run on.
  constexpr std::size_t kMinFrames = 1024;
  std::size_t needed = sizeof(Task) + sizeof(TaskExtra) + callable_size + callable_align + kMinFrames;
  if (round_to_pages(size) < needed)
    throw std::invalid_argument("green: stack_size " + std::to_string(size) + " is too small for this task (needs " +
                                std::to_string(needed) + " bytes)");
  Stack stack = stack_allocate(size);

  auto* t = ::new (stack.hi() - sizeof(Task)) Task{};
  auto* x = ::new (&t->extra()) TaskExtra{};
  x->id = next_task_id();
  x->sched = &s;
  x->stack = stack;
  try {
    if (!opts.name.empty()) x->name.assign(opts.name);
  } catch (...) {
    x->~TaskExtra();
    stack_release(stack);
    throw;
  }
  t->stack_lo = stack.lo;
  t->word = TaskWord(TaskState::Ready, opts.priority, opts.small_stack);

  std::byte* c = align_down(reinterpret_cast<std::byte*>(x) - callable_size, callable_align < 16 ? 16 : callable_align);
  *callable = c;
  context_make(t->ctx, stack.lo, c, &task_entry, t);
  return t;
}

void free_task(Task* t) noexcept {
  TaskExtra& x = t->extra();
  Stack stack = x.stack;
  x.~TaskExtra();
  t->~Task();
  stack_release(stack);
}

void release_task(Task* t) noexcept {
  // acq_rel: see TaskExtra::refs.
  if (t->extra().refs.fetch_sub(1, std::memory_order_acq_rel) == 1) free_task(t);
}

// ---- Thread-local state, read so that migration cannot stale it ----------

static thread_local Dispatcher* tl_dispatcher = nullptr;

[[gnu::noinline]] Dispatcher* this_dispatcher() noexcept {
  // The empty asm stops the compiler from assuming two calls return the same
  // value (it could otherwise merge them across a switch, when the task may
  // have moved to another thread).
  Dispatcher* d = tl_dispatcher;
  asm volatile("" : "+r"(d));
  return d;
}
[[gnu::noinline]] void set_this_dispatcher(Dispatcher* d) noexcept { tl_dispatcher = d; }
[[gnu::noinline]] Task* current_task() noexcept {
  Dispatcher* d = this_dispatcher();
  return d ? d->current : nullptr;
}

// ---- The two switch sites -------------------------------------------------

void Dispatcher::enter() {
  install_overflow_handler();
#if GREEN_TSAN
  loop_tsan_fiber = __tsan_get_current_fiber();  // this thread's own fiber
#endif
  set_this_dispatcher(this);
}

void Dispatcher::leave() noexcept { set_this_dispatcher(nullptr); }

// Checks, each time a task switches out, that it stayed on its stack.
static void check_stack(Task* t, bool exiting) {
  bool sp_ok = exiting || static_cast<std::byte*>(context_sp(t->ctx)) > t->stack_lo;
  if (!sp_ok || !stack_canary_ok(t->extra().stack)) report_stack_overflow(t->extra().id, t->extra().name.c_str());
}

void Dispatcher::run(Task* t) {
  current = t;
  t->set_state(TaskState::Running);
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
  current = nullptr;
  check_stack(t, after == After::Exit);
  switch (after) {
    case After::Yield:
      t->set_state(TaskState::Ready);
      t->extra().sched->submit_yielded(t);
      break;
    case After::Park:
      // Waiting before the callback: the callback may unpark it at once.
      t->set_state(TaskState::Waiting);
      if (park_fn) park_fn(t, park_arg);
      break;
    case After::Exit: {
      TaskExtra& x = t->extra();
#if GREEN_TSAN
      __tsan_destroy_fiber(x.tsan_fiber);
      x.tsan_fiber = nullptr;
#endif
      t->set_state(TaskState::Done);
      notify_done(t);
      x.sched->on_task_end(t);
      release_task(t);
      break;
    }
  }
}

// Task side: record what the loop should do, switch to it. When this returns
// the task runs again, possibly on another thread: re-read the dispatcher.
static void switch_to_loop(After what, ParkFn fn = nullptr, void* arg = nullptr) {
  Dispatcher* d = this_dispatcher();
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
#if GREEN_ASAN
  d = this_dispatcher();
  __sanitizer_finish_switch_fiber(fake_stack, &d->loop_stack_bottom, &d->loop_stack_size);
#endif
}

void yield_current() { switch_to_loop(After::Yield); }
void park_current(ParkFn fn, void* arg) { switch_to_loop(After::Park, fn, arg); }

void unpark(Task* t) {
  t->set_state(TaskState::Ready);
  t->extra().sched->submit(t);
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
  TaskExtra& x = t->extra();
  try {
    x.invoke(x.callable);
  } catch (...) {
    x.exception = std::current_exception();
  }
  x.destroy(x.callable);
  run_exit_work(x);
  // A detached task has nobody to rethrow to: say so rather than lose it.
  if (x.exception && x.refs.load(std::memory_order_acquire) == 1) {
    try {
      std::rethrow_exception(x.exception);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "green: detached task %llu \"%s\" ended with an exception: %s\n",
                   static_cast<unsigned long long>(x.id), x.name.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "green: detached task %llu \"%s\" ended with an exception\n",
                   static_cast<unsigned long long>(x.id), x.name.c_str());
    }
  }
  exit_current();
}

}  // namespace green::detail
