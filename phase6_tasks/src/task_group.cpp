// TaskGroup: see include/green/task_group.hpp.
#include <green/task_group.hpp>

#include <green/detail/preempt_off.hpp>
#include <green/detail/unimplemented.hpp>

#include <mutex>

namespace green {

using detail::Job;

TaskGroup::TaskGroup() : scope_(detail::ambient_scope()) {}

TaskGroup::~TaskGroup() {
  try {
    wait();
  } catch (...) {  // the owner did not wait: nobody to give it to
  }
}

void TaskGroup::add(Job* j) {
  j->scope = &scope_;
  detail::Scheduler* s;
  try {
    s = &detail::scheduler_for("green::TaskGroup::run");
  } catch (...) {
    delete j;
    throw;
  }
  pending_.fetch_add(1, std::memory_order_relaxed);  // ordered for the job by the submit below
  try {
    submit(*s, j);
  } catch (...) {
    // f will not run, and run() says so by throwing; its count comes back
    // (pending_ cannot reach 0 here: wait's 1 is in it).
    pending_.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
}

void TaskGroup::fail(std::exception_ptr e) noexcept {
  detail::PreemptOff no_preempt;
  std::lock_guard lk(lock_);
  if (!error_) error_ = std::move(e);
}

void TaskGroup::finish_one() noexcept {
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.set();
}

void TaskGroup::wait() {
  // BEGIN SOLUTION
  // Help: our jobs that nobody has taken are the newest on our worker's
  // deque (jobs are pushed and popped LIFO, and jobs pushed after ours by
  // the functions we run are popped by their own waits first).
  while (detail::help([this](const Job* j) { return j->scope == &scope_; })) {
  }
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) done_.wait();
  // STUB: detail::unimplemented("phase 6: TaskGroup::wait (task_group.cpp) is yours to write");
  // END SOLUTION
  // Every job has ended: reset for the next round, then report.
  done_.reset();
  pending_.store(1, std::memory_order_relaxed);
  scope_.reset();
  std::exception_ptr e;
  {
    detail::PreemptOff no_preempt;
    std::lock_guard lk(lock_);
    e = std::exchange(error_, nullptr);
  }
  if (e) std::rethrow_exception(e);
}

}  // namespace green
