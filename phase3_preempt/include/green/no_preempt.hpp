// this_task::NoPreempt: a region of a task that the timer must not interrupt.
#pragma once
#include <green/detail/preempt.hpp>

namespace green::this_task {

// While one exists, the running task is not preempted (it may still yield or
// block itself: then the task, not the thread, keeps the region). Nests. A
// preemption that was owed meanwhile is taken when the last one goes.
// Create and destroy it on the same task; it costs two instructions.
class NoPreempt {
 public:
  NoPreempt() noexcept { detail::preempt_disable(); }
  ~NoPreempt();
  NoPreempt(const NoPreempt&) = delete;
  NoPreempt& operator=(const NoPreempt&) = delete;
};

}  // namespace green::this_task
