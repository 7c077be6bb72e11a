// Jobs: submitting, running, carriers. See include/green/detail/job.hpp.
#include <green/detail/job.hpp>

#include <green/detail/runtime_impl.hpp>
#include <green/detail/unimplemented.hpp>
#include <green/spawn.hpp>
#include <green/task_local.hpp>

#include <stdexcept>
#include <string>

namespace green::detail {

namespace {

// A task's ambient scope. A plain thread never runs a job, so its scope is
// always nullptr.
TaskLocal<const CancelScope*> tl_scope;

// The calling task's ambient slot. A TaskLocal lookup per job costs a tenth
// of a fine-grained job, so each thread remembers the last task's slot, by
// task id (ids are never reused; a TCB's address is).
const CancelScope*& ambient_slot() {
  thread_local TaskId tl_id = 0;
  thread_local const CancelScope** tl_slot = nullptr;
  TaskId id = current_task()->extra().id;
  if (id != tl_id) {
    tl_slot = &tl_scope.get();
    tl_id = id;
  }
  return *tl_slot;
}

// The next job for a carrier that has run its own: the newest on its
// worker's deque, while no task waits for that worker (a Ready task there
// or in the global queue goes first). A job a thief took usually leaves
// more behind on the thief's deque (the successors a graph node made ready,
// the halves of a split loop); taken here, each costs a pop, not a carrier
// of its own (a task, a stack, and the ambient scope's slot): 2 workers ran a
// layered graph of tiny nodes at half 1 worker's speed, spawning a carrier
// for nearly every node.
Job* next_job_for_carrier() noexcept {
  PreemptOff no_preempt;  // the deque is this worker's only while we stay on it
  Worker* w = current_worker();
  // Hints, as the worker loop's own looks (a task made Ready just after
  // them runs once the next job returns: the worker loop comes first then).
  if (!w || w->local.nonempty_sc() || w->rt->global.maybe_nonempty()) return nullptr;
  JobDeque* q = my_job_deque();
  return q ? pop_job(*q) : nullptr;
}

// A carrier task's function: a job that runs on a stack of its own, and
// then the jobs its worker has for it.
struct Carrier {
  Job* job;
  void operator()() const {
    run_job(job);
    while (Job* j = next_job_for_carrier()) run_job(j);
  }
};

}  // namespace

void run_job(Job* j) noexcept {
  const CancelScope*& ambient = ambient_slot();
  const CancelScope* outer = ambient;
  ambient = j->scope;
  j->execute();
  ambient = outer;
  if (j->counted) {
    // A deque's job runs only on a worker of that deque's runtime (inline or
    // in a carrier); its end is counted after its effects (OwnedCounter's
    // release), for ~Runtime's quiescence check.
    PreemptOff no_preempt;  // the counter is this worker's
    static_cast<Worker*>(this_dispatcher())->ended.inc();
  }
  delete j;
}

void spawn_carrier(Scheduler& s, Job* j, const SpawnOptions& opts) { spawn_on(s, Carrier{j}, opts).detach(); }

void submit(Scheduler& s, Job* j, const SpawnOptions& opts) {
  // BEGIN SOLUTION
  {
    PreemptOff no_preempt;  // the deque is this worker's
    if (JobDeque* q = my_job_deque()) {
      j->counted = true;  // before the push: a thief may run it at once
      if (push_job(*q, j)) {
        // Live work (see job.hpp). After the push is soon enough: the task
        // pushing is live until after this, so the counts cannot meet meanwhile.
        static_cast<Worker*>(this_dispatcher())->spawned.inc();
        wake_job_thief();
        return;
      }
      j->counted = false;
    }
  }
  // STUB: unimplemented("phase 6: submit (job.cpp): pushing a job on the worker's job deque is yours to write");
  // END SOLUTION
  try {
    spawn_carrier(s, j, opts);
  } catch (...) {
    delete j;
    throw;
  }
}

Scheduler* scheduler_here() noexcept {
  if (Task* t = current_task()) return t->extra().sched;
  return newest_runtime();
}

Scheduler& scheduler_for(const char* who) {
  if (Scheduler* s = scheduler_here()) return *s;
  throw std::logic_error(std::string(who) + ": called outside a task with no green::Runtime alive");
}

const CancelScope* ambient_scope() { return current_task() ? ambient_slot() : nullptr; }

}  // namespace green::detail
