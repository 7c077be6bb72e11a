// TaskHandle: the owner's reference to a spawned task (like std::thread, but
// destroying a joinable handle detaches the task instead of terminating).
#pragma once
#include <green/options.hpp>

namespace green {
namespace detail { struct Task; }

class TaskHandle {  // move-only
 public:
  TaskHandle() noexcept = default;
  explicit TaskHandle(detail::Task* t) noexcept : task_(t) {}
  TaskHandle(TaskHandle&& o) noexcept : task_(o.task_) { o.task_ = nullptr; }
  TaskHandle& operator=(TaskHandle&& o) noexcept;
  TaskHandle(const TaskHandle&) = delete;
  TaskHandle& operator=(const TaskHandle&) = delete;
  ~TaskHandle();

  TaskId id() const noexcept;             // 0 for an empty handle
  bool joinable() const noexcept { return task_ != nullptr; }
  // Waits until the task ended: parks the calling task, or blocks the calling
  // thread. Rethrows the task's exception. Errors (std::system_error): the
  // handle is not joinable (invalid_argument); a task joins itself
  // (resource_deadlock_would_occur). Afterwards the handle is not joinable.
  void join();
  // Lets the task run on its own; its memory goes when it ends.
  void detach();

 private:
  detail::Task* task_ = nullptr;  // holds one reference (TaskExtra::refs)
};

}  // namespace green
