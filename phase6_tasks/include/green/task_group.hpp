// TaskGroup: run functions in parallel, wait for all of them.
//
//   green::TaskGroup g;
//   g.run([&] { left = fib(n - 1); });
//   g.run([&] { right = fib(n - 2); });
//   g.wait();                       // helps: runs what nobody has started
//
// Each run() makes a job (detail/job.hpp) and pushes it on the worker's job
// deque; wait() pops back the group's jobs that no worker has taken, newest
// first, and runs them inline (while its stack allows), then sleeps until the
// rest have ended. From a plain thread (a runtime must be alive) each job
// gets a carrier task, and wait() only sleeps.
//
// Exceptions: the first one a function throws is kept; wait() rethrows it
// after every function has ended, and drops the later ones. Cancellation:
// after cancel(), no function that has not started runs; one that runs can
// ask is_canceling() and stop early. A group made inside a function of
// another group is its child: cancelling the parent cancels it too.
// wait() ends the cancellation, and the group can be used again.
#pragma once
#include <green/detail/event.hpp>
#include <green/detail/job.hpp>
#include <green/detail/spin_lock.hpp>

#include <atomic>
#include <exception>
#include <type_traits>
#include <utility>

namespace green {

class TaskGroup {
 public:
  TaskGroup();
  // Waits for what is still running; an exception wait() would throw is dropped.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Queues f (callable with no arguments; its result is ignored). Outside a
  // task with no runtime alive: std::logic_error. After cancel(): f never runs.
  template <class F>
  void run(F&& f) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn&>, "TaskGroup::run: f must be callable with no arguments");
    if (canceling()) return;
    add(new GroupJob<Fn>(this, std::forward<F>(f)));
  }
  void wait();
  void cancel() noexcept { scope_.cancel(); }
  // True from cancel() (this group's or an ancestor's) until wait() returns.
  bool is_canceling() const noexcept { return scope_.canceled(); }

 private:
  template <class Fn>
  struct GroupJob final : detail::Job {
    template <class F>
    GroupJob(TaskGroup* g, F&& f) : group(g), fn(std::forward<F>(f)) {}
    void execute() noexcept override {
      if (!group->canceling()) {
        try {
          fn();
        } catch (...) {
          group->fail(std::current_exception());
        }
      }
      group->finish_one();  // the last touch of the group: it may be gone after
    }
    TaskGroup* const group;
    Fn fn;
  };

  bool canceling() const noexcept { return scope_.canceled(); }
  void add(detail::Job* j);
  void fail(std::exception_ptr e) noexcept;
  void finish_one() noexcept;

  detail::CancelScope scope_;
  detail::SpinLock lock_;
  std::exception_ptr error_;  // the first failure; under lock_
  // Jobs not yet ended, plus 1 while wait() has not begun to sleep (so the
  // count reaches 0 exactly once per wait, and whoever brings it there sets
  // done_). fetch_sub acq_rel: release publishes a job's effects, the last
  // one's acquire sees them all before it sets done_ (whose release the
  // waiter's acquire pairs with).
  std::atomic<long> pending_{1};
  detail::Event done_;
};

}  // namespace green
