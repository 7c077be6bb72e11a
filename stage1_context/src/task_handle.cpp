// TaskHandle and this_task: the public face of a task.
#include <green/detail/help_join.hpp>
#include <green/detail/join_wait.hpp>
#include <green/detail/task.hpp>
#include <green/detail/unimplemented.hpp>
#include <green/task_handle.hpp>
#include <green/this_task.hpp>

#include <stdexcept>
#include <system_error>
#include <thread>

namespace green {

using detail::current_task;
using detail::Task;

TaskHandle& TaskHandle::operator=(TaskHandle&& o) noexcept {
  if (this != &o) {
    if (task_) detail::release_task(task_);
    task_ = o.task_;
    o.task_ = nullptr;
  }
  return *this;
}

TaskHandle::~TaskHandle() {
  if (task_) detail::release_task(task_);
}

TaskId TaskHandle::id() const noexcept { return task_ ? task_->extra().id : 0; }

void TaskHandle::join() {
  if (!task_)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "green::TaskHandle::join: the handle is not joinable (empty, joined or detached)");
  Task* self = current_task();
  if (self == task_)
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "green::TaskHandle::join: a task cannot join itself");
  if (!detail::help_join(self, task_)) {  // phase 6: runs it here if it has not started
    detail::JoinWait edge(task_);  // phase 4: may throw DeadlockError
    {
      // A joining task announces itself and then parks: nothing may switch
      // it out in between (TaskWordCell's invariant), so no preemption either.
      detail::PreemptOff no_preempt;
      detail::wait_until_done(self, task_);
    }
    edge.finished();  // phase 4: may throw DeadlockError; the handle still holds the task
  }
  Task* t = task_;
  task_ = nullptr;
  std::exception_ptr e;
  if (detail::TaskRun* r = t->run) e = std::move(r->exception);  // it threw (task.hpp)
  detail::release_task(t);
  if (e) std::rethrow_exception(e);
}

void TaskHandle::detach() {
  if (!task_)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "green::TaskHandle::detach: the handle is not joinable");
  detail::release_task(task_);
  task_ = nullptr;
}

namespace this_task {

static Task& self_or_throw(const char* what) {
  Task* t = current_task();
  // BEGIN SOLUTION
  if (!t) throw std::logic_error(std::string("green::this_task::") + what + ": called outside a task");
  // STUB: (void)what;
  // STUB: if (!t) detail::unimplemented("stage 1: this_task calls outside a task must throw std::logic_error");
  // END SOLUTION
  return *t;
}

void yield_thread() { std::this_thread::yield(); }

TaskId id() noexcept {
  Task* t = current_task();
  return t ? t->extra().id : 0;
}

std::string_view name() noexcept {
  Task* t = current_task();
  return std::string_view(t ? task_name(t) : "");
}

int priority() noexcept {
  Task* t = current_task();
  return t ? t->word.priority() : kDefaultPriority;
}

void set_priority(int p) {
  if (p < kMinPriority || p > kMaxPriority)
    throw std::invalid_argument("green::this_task::set_priority: " + std::to_string(p) + " is outside " +
                                std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
  Task& t = self_or_throw("set_priority");
  t.word.set_priority(p);
}

}  // namespace this_task

}  // namespace green
