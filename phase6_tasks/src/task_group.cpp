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
    delete j;  // never shared
    throw;
  }
  pending_.fetch_add(1, std::memory_order_relaxed);  // ordered for the job by the submit below
  {
    detail::PreemptOff no_preempt;  // lock_ is a spin lock
    std::lock_guard lk(lock_);
    j->next = jobs_;
    jobs_ = j;
  }
  try {
    submit(*s, j);
  } catch (...) {
    // No carrier: f will not run, and run() says so by throwing. Take the
    // job back from wait()'s help (the list keeps the owner's reference)
    // and its count (pending_ cannot reach 0 here: wait's 1 is in it).
    j->taken.store(true, std::memory_order_relaxed);
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

// Drops the owner's references to the listed jobs.
void TaskGroup::drop_list() noexcept {
  Job* j;
  {
    detail::PreemptOff no_preempt;
    std::lock_guard lk(lock_);
    j = jobs_;
    jobs_ = nullptr;
  }
  while (j) {
    Job* next = j->next;
    detail::release(j);
    j = next;
  }
}

void TaskGroup::wait() {
  // BEGIN SOLUTION
  // Help: newest first (the most recent run() is the likeliest to be
  // unclaimed, and the smallest piece of a recursive split). Jobs run() while
  // we help go to the front, and we take them too.
  for (;;) {
    Job* j;
    {
      detail::PreemptOff no_preempt;
      std::lock_guard lk(lock_);
      if (!(j = jobs_)) break;
      jobs_ = j->next;
    }
    detail::help(j);  // false: claimed already, or no stack to spare; its carrier runs it
    detail::release(j);
  }
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) done_.wait();
  // STUB: detail::unimplemented("phase 6: TaskGroup::wait (task_group.cpp) is yours to write");
  // END SOLUTION
  // Every job has ended: reset for the next round, then report.
  drop_list();  // jobs run() after our help loop
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
