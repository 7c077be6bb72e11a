// The job source (shadows phase 4's src/job_source.cpp; the seam is
// phase 4's detail/job_source.hpp): a job deque per worker, and an idle
// worker's look for jobs before it sleeps. See detail/job.hpp.
//
// Who touches a deque: its worker's tasks push and pop at the bottom (with
// preemption off, so the task stays on that worker meanwhile), and an idle
// worker's loop pops its own or steals at the top of another's.
//
// Lost wake-ups, allowed. A push publishes with a release store (not the
// seq_cst of a task push: that costs an xchg per job, an eighth of a fine-
// grained job) and then loads nspinning_ and nparked_. Without the seq_cst
// pair, the loads may miss a worker that is just parking, and that worker's
// last look (the task queues) does not see job deques either; so a job can
// wait while a worker sleeps. Never forever: its owner takes it back when it
// waits (help), or parks, and then its own worker finds the job in its own
// deque before it sleeps; and the next push wakes the sleeper.
#include <green/detail/job.hpp>
#include <green/detail/job_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace green::detail {

namespace {

struct JobSource {
  explicit JobSource(unsigned n) {
    for (unsigned i = 0; i < n; ++i) deques.push_back(std::make_unique<JobDeque>());
  }
  std::vector<std::unique_ptr<JobDeque>> deques;  // by worker index; fixed once made
};

JobSource& source_of(RuntimeImpl& rt) noexcept { return *static_cast<JobSource*>(job_source_of(rt)); }

// The calling thread's deque, found once per worker thread: the dispatcher
// it was found for, and the worker's runtime.

// Where an idle worker's next look for a victim starts: one further on each
// time, so that thieves spread over the victims.
thread_local unsigned tl_next_victim = 0;

}  // namespace

std::shared_ptr<void> make_job_source(RuntimeImpl& rt) { return std::make_shared<JobSource>(rt.nworkers()); }

thread_local const Dispatcher* tl_job_deque_for = nullptr;
thread_local JobDeque* tl_job_deque = nullptr;
thread_local RuntimeImpl* tl_job_rt = nullptr;

JobDeque* find_job_deque() noexcept {
  const Dispatcher* d = this_dispatcher();
  Worker* w = current_worker();
  tl_job_deque_for = d;
  tl_job_rt = w ? w->rt : nullptr;
  tl_job_deque = w ? source_of(*w->rt).deques[w->index].get() : nullptr;
  return tl_job_deque;
}


void wake_job_thief() noexcept {
  RuntimeImpl& rt = *tl_job_rt;  // set when my_job_deque() found the deque
  // relaxed: hints (see the top).
  if (rt.nspinning_.load(std::memory_order_relaxed) == 0 && rt.nparked_.load(std::memory_order_relaxed) != 0)
    rt.wake_one();
}

bool job_poll(Worker& w, bool idle) {
  if (!idle) return false;
  // BEGIN SOLUTION
  JobSource& src = source_of(*w.rt);
  Job* j = src.deques[w.index]->pop();  // jobs our own tasks left: parked waiters'
  if (!j) {
    unsigned n = static_cast<unsigned>(src.deques.size()), start = w.index + 1 + tl_next_victim++;
    for (unsigned i = 0; i < n && !j; ++i)
      if (unsigned v = (start + i) % n; v != w.index) j = src.deques[v]->steal();  // the oldest: the biggest piece
  }
  if (!j) return false;
  try {
    spawn_carrier(*w.rt, j, {});  // to our own queue: we run it next
  } catch (...) {
    // No memory for a carrier: put the job back for a waiter to help with
    // (our deque has room: we just took one out, or it was empty).
    src.deques[w.index]->push(j);
    return false;
  }
  return true;
  // STUB: (void)w, (void)source_of, (void)tl_next_victim;
  // STUB: unimplemented("phase 6: job_poll (job_source.cpp): an idle worker's look for jobs is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
