// LocalScheduler: the simplest correct scheduler. One OS thread, cooperative,
// 16 priority levels. It stays in every stage as the reference.
#pragma once
#include <green/detail/ready_queue.hpp>
#include <green/spawn.hpp>

#include <cstddef>
#include <thread>

namespace green {

class LocalScheduler final : private detail::Scheduler {
 public:
  // Stack classes, usable bytes (as RuntimeOptions::stack_size / small_stack_size).
  explicit LocalScheduler(std::size_t stack_size = 256 * 1024, std::size_t small_stack_size = 16 * 1024);
  // Runs what is still pending (as run() would), so no task is lost.
  ~LocalScheduler() override;
  LocalScheduler(const LocalScheduler&) = delete;
  LocalScheduler& operator=(const LocalScheduler&) = delete;

  // Queues f as a new task. Not thread-safe: call it from the thread that runs
  // the scheduler (or from its tasks).
  template <class F>
  TaskHandle spawn(F&& f, SpawnOptions opts = {}) {
    return detail::spawn_on(*this, std::forward<F>(f), opts);
  }
  // Runs tasks until every task spawned on it has ended. If tasks remain but
  // none is Ready (they wait on each other), throws std::system_error
  // (resource_deadlock_would_occur) instead of hanging. Calling it from inside
  // a task: std::logic_error.
  void run();

  std::size_t live_tasks() const noexcept { return live_; }

 private:
  void submit(detail::Task* t) override;
  void on_task_spawned(detail::Task* t) noexcept override;
  void on_task_end(detail::Dispatcher& d, detail::Task* t) noexcept override;
  void wait_from_thread(detail::Task* t) override;
  void run_until(const detail::Task* until);

  detail::ReadyQueue ready_;
  std::size_t live_ = 0;      // spawned and not yet ended
  std::thread::id owner_;     // the thread that constructed it
  bool running_ = false;
};

}  // namespace green
