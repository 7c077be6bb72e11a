// Jobs: the unit of work of phase 6 (TaskGroup, async, parallel_for,
// TaskGraph), and how a waiting task helps.
//
// A Job is work that has not started. It is submitted as a carrier task (an
// ordinary green task whose function runs the job) and stays on its owner's
// books (a TaskGroup's list, a Future's state). Whoever claims it first runs
// it: the carrier, when a worker gets to it (on any worker: stolen or not),
// or a task that waits for it and finds it unclaimed. That waiter runs the
// job inline on its own stack (help): no stack of the carrier's, no switch,
// and the waiter does not park. The carrier then finds the job taken and
// ends at once. This is help-first (child stealing, as TBB): the spawner
// goes on with its own code; a work-first runtime (Cilk) would run the child
// at once and leave its own continuation to thieves (HANDOUT 9.2 compares).
//
// Helping is bounded: a waiter helps only while at least kHelpReserve (half
// its stack, at most 32 KiB) is free below its frame; deeper, it parks and
// the carrier runs the job on a stack of its own. So a recursion of helpers
// never reaches a guard page (TBB's nested waits can: arbor 1583).
//
// Ownership. Two references: the carrier's and the owner's. Each side drops
// its own (release) whether or not it ran the job; the last one frees it.
//
// Cancellation. A job belongs to a CancelScope (its TaskGroup's); while it
// runs, that scope is the task's ambient scope, so a TaskGroup made inside
// the job is a child of it and sees its cancellation (TBB's nested contexts).
#pragma once
#include <green/detail/task.hpp>
#include <green/options.hpp>

#include <atomic>
#include <type_traits>
#include <utility>

namespace green::detail {

class CancelScope {
 public:
  explicit CancelScope(const CancelScope* parent) noexcept : parent_(parent) {}
  // release: pairs with canceled()'s acquire; a job that sees the flag also
  // sees what the canceller did before it.
  void cancel() noexcept { canceled_.store(true, std::memory_order_release); }
  void reset() noexcept { canceled_.store(false, std::memory_order_relaxed); }  // by the owner, nobody running
  bool canceled() const noexcept {
    for (const CancelScope* s = this; s; s = s->parent_)
      if (s->canceled_.load(std::memory_order_acquire)) return true;
    return false;
  }

 private:
  std::atomic<bool> canceled_{false};
  const CancelScope* const parent_;  // the scope of the job that made this one; outlives it
};

struct Job {
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  virtual ~Job() = default;
  // The work, and its report to the owner (a count, a result). Called once,
  // by whoever claimed the job; never throws (it catches for the owner).
  virtual void execute() noexcept = 0;

  const CancelScope* scope = nullptr;  // ambient while it runs; set before submit
  Job* next = nullptr;                 // in its owner's list; the owner's
  bool stolen = false;                 // run by its carrier, not by a helper (the claimer's write)
  // exchange decides the claimer; nothing is published through it (the job's
  // fields reached both sides through the run queue or the owner's list).
  std::atomic<bool> taken{false};
  // fetch_sub acq_rel: release publishes this side's last use, the last
  // side's acquire sees the other's before deleting.
  std::atomic<int> refs{2};            // the carrier's and the owner's
};

// A job that runs a function object (which must not throw: it reports
// its own failures).
template <class G>
struct FnJob final : Job {
  explicit FnJob(G g) : fn(std::move(g)) {}
  void execute() noexcept override { fn(); }
  G fn;
};
template <class G>
Job* make_fn_job(G&& g) {
  static_assert(std::is_nothrow_invocable_v<std::decay_t<G>&>, "a job's function reports its own failures");
  return new FnJob<std::decay_t<G>>(std::forward<G>(g));
}

// Spawns j's carrier on s. On failure j's carrier reference is dropped and
// the error thrown; the owner still holds its own.
void submit(Scheduler& s, Job* j, const SpawnOptions& opts = {});
// Runs j here, now, if nobody has claimed it and this task has stack to
// spare (see above); false otherwise (a plain thread never helps).
bool help(Job* j);
void release(Job* j) noexcept;

// The scheduler of the calling task, or else the newest live runtime.
// nullptr: neither (a plain thread with no runtime alive).
Scheduler* scheduler_here() noexcept;
// The same, or std::logic_error naming who asked.
Scheduler& scheduler_for(const char* who);
// The scope of the job the calling task runs, or nullptr.
const CancelScope* ambient_scope();

}  // namespace green::detail
