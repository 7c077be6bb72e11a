// The job source (shadows phase 4's src/job_source.cpp; the seam is
// phase 4's detail/job_source.hpp): a job deque per worker, and an idle
// worker's look for jobs before it sleeps. See detail/job.hpp.
//
// Who touches a deque: its worker's tasks push and pop at the bottom (with
// preemption off, so the task stays on that worker meanwhile), and an idle
// worker's loop pops its own or steals at the top of another's.
//
// Lost wake-ups. A push publishes with the deque's seq_cst store and then
// loads nspinning_ and nparked_ (seq_cst), like a task push (stage 3's
// worker_loop.cpp): a worker already counted in nparked_ is woken. (With a
// release store instead, the loads could miss it, and a parked worker then
// joined a loop only at the next push, milliseconds later: a sum of 2*10^7
// doubles got 1.2x from 2 workers, not 1.9x.) The other half: a worker that
// counted itself parked looks at every deque again with seq_cst loads
// (jobs_waiting_sc, from park()'s re-check) before it sleeps. Without it a
// push between that worker's last job_poll and its count woke nobody, and
// the job waited until its owner waited or parked: forever for an owner
// that yields in a loop until the job has run (a test caught it).

#include <green/detail/job.hpp>
#include <green/detail/job_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/detail/unimplemented.hpp>

#include <memory>
#include <new>
#include <vector>

namespace green::detail {

namespace {

// A deque per worker, made by its worker at its first push (8 KiB at
// first: a runtime whose workers never push jobs pays nothing). Each slot is
// written once, by its worker, with release; thieves load it with acquire,
// so a deque they find is seen whole.
struct JobSource {
  explicit JobSource(unsigned n) : deques(n) {}
  ~JobSource() {
    for (auto& d : deques) delete d.load(std::memory_order_relaxed);  // the workers have stopped
  }
  std::vector<std::atomic<JobDeque*>> deques;  // by worker index
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
thread_local std::uint32_t tl_job_deque_serial = 0;
thread_local JobDeque* tl_job_deque = nullptr;
thread_local RuntimeImpl* tl_job_rt = nullptr;

// w's deque, made now if it has none; nullptr if there is no memory for it.
// On w's thread only.
static JobDeque* own_deque(Worker& w) noexcept {
  std::atomic<JobDeque*>& slot = source_of(*w.rt).deques[w.index];
  JobDeque* q = slot.load(std::memory_order_relaxed);  // only we write it
  if (q) return q;
  try {
    q = new JobDeque;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  slot.store(q, std::memory_order_release);  // pairs with job_poll's acquire
  return q;
}

JobDeque* find_job_deque() noexcept {
  Worker* w = current_worker();
  JobDeque* q = w ? own_deque(*w) : nullptr;
  if (w && !q) return nullptr;  // no memory: jobs get carriers; look again next time
  tl_job_deque_for = this_dispatcher();
  tl_job_deque_serial = tl_loop_serial;
  tl_job_rt = w ? w->rt : nullptr;
  tl_job_deque = q;
  return q;
}


void wake_job_thief() noexcept {
  RuntimeImpl& rt = *tl_job_rt;  // set when my_job_deque() found the deque
  // seq_cst: the producer's half of the Dekker pair (see the top).
  if (rt.nspinning_.load(std::memory_order_seq_cst) == 0 && rt.nparked_.load(std::memory_order_seq_cst) != 0)
    rt.wake_one();
}

bool jobs_waiting_sc(Worker& w) {
  const JobSource& src = source_of(*w.rt);
  for (const auto& d : src.deques)
    // seq_cst: see "Lost wake-ups" at the top (a deque made after this load
    // was made by its worker's first push, which then reads nparked_).
    if (const JobDeque* q = d.load(std::memory_order_seq_cst); q && q->nonempty_sc()) return true;
  return false;
}

bool job_poll(Worker& w, bool idle) {
  if (!idle) return false;
  // BEGIN SOLUTION
  JobSource& src = source_of(*w.rt);
  JobDeque* mine = src.deques[w.index].load(std::memory_order_relaxed);  // only we write it
  Job* j = mine ? mine->pop() : nullptr;  // jobs our own tasks left: parked waiters'
  if (!j) {
    unsigned n = static_cast<unsigned>(src.deques.size()), start = w.index + 1 + tl_next_victim++;
    for (unsigned i = 0; i < n && !j; ++i) {
      unsigned v = (start + i) % n;
      // acquire: pairs with own_deque's release; the deque is seen whole.
      JobDeque* q = v == w.index ? nullptr : src.deques[v].load(std::memory_order_acquire);
      if (!q || !q->nonempty_sc()) continue;
      // Make ours before we steal (a stolen job may have to go back in it):
      // a worker whose runtime has no jobs never makes one.
      if (!mine && !(mine = own_deque(w))) return false;
      j = q->steal();  // the oldest: the biggest piece
    }
  }
  if (!j) return false;
  try {
    spawn_carrier(*w.rt, j, {});  // to our own queue: we run it next
  } catch (...) {
    // No memory for a carrier: keep the job in our deque for later (it has
    // room, with no need to grow: we took this one out of it, or it was
    // empty when we stole).
    mine->push(j);
    return false;
  }
  return true;
  // STUB: (void)w, (void)source_of, (void)tl_next_victim;
  // STUB: unimplemented("phase 6: job_poll (job_source.cpp): an idle worker's look for jobs is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
