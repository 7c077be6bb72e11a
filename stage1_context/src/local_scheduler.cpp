// LocalScheduler: pick the highest Ready task, run it until it switches out,
// repeat. Everything about switching is the dispatcher's (dispatcher.cpp).
#include <green/detail/unimplemented.hpp>
#include <green/local_scheduler.hpp>

#include <stdexcept>
#include <string>
#include <system_error>

namespace green {

LocalScheduler::LocalScheduler(std::size_t stack_size, std::size_t small_stack_size)
    : owner_(std::this_thread::get_id()) {
  // BEGIN SOLUTION
  if (stack_size == 0 || small_stack_size == 0 || stack_size > kMaxStackSize || small_stack_size > kMaxStackSize)
    throw std::invalid_argument("green::LocalScheduler: stack sizes must be in 1.." + std::to_string(kMaxStackSize));
  // STUB: if (stack_size == 0 || small_stack_size == 0 || stack_size > kMaxStackSize || small_stack_size > kMaxStackSize)
  // STUB:   detail::unimplemented("stage 1: LocalScheduler must refuse bad stack sizes with std::invalid_argument");
  // END SOLUTION
  this->stack_size = detail::round_stack_size(stack_size);  // rounded once, not at every spawn
  this->small_stack_size = detail::round_stack_size(small_stack_size);
}

LocalScheduler::~LocalScheduler() {
  if (live_ && !running_) {
    try {
      run();
    } catch (...) {
      // Deadlocked tasks cannot be unwound; what they hold is lost. run() said so.
    }
  }
}

void LocalScheduler::submit(detail::Task* t) {
  ready_.push(t);
}

void LocalScheduler::on_task_spawned(detail::Task*) noexcept { ++live_; }
void LocalScheduler::on_task_end(detail::Dispatcher&, detail::Task*) noexcept { --live_; }

void LocalScheduler::run() { run_until(nullptr); }

// Runs until `until` is Done (or, for nullptr, until no task is left).
void LocalScheduler::run_until(const detail::Task* until) {
  if (detail::this_dispatcher())
    throw std::logic_error("green::LocalScheduler::run: this thread is already running a scheduler");
  if (std::this_thread::get_id() != owner_)
    throw std::logic_error("green::LocalScheduler::run: called from a thread other than the one that made it");
  detail::Dispatcher d(this);
  d.enter();
  running_ = true;
  struct Reset {
    LocalScheduler* s;
    detail::Dispatcher& d;
    ~Reset() { s->running_ = false; d.leave(); }
  } reset{this, d};
  while (until ? until->state() != detail::TaskState::Done : live_ > 0) {
    detail::Task* t = ready_.pop();
    if (!t)
      throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                              "green::LocalScheduler: deadlock: " + std::to_string(live_) +
                                  " task(s) are waiting and none is ready");
    d.run(t);
  }
}

// A thread joins one of our tasks: run the scheduler until that task is done.
void LocalScheduler::wait_from_thread(detail::Task* t) {
  if (running_)
    throw std::logic_error("green: a LocalScheduler task can be joined from a thread only while it is not running");
  run_until(t);
}

}  // namespace green
