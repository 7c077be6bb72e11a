// Jobs: carriers, claiming, helping. See include/green/detail/job.hpp.
#include <green/detail/job.hpp>
#include <green/detail/unimplemented.hpp>

#include <green/detail/runtime_impl.hpp>
#include <green/spawn.hpp>
#include <green/task_local.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace green::detail {

namespace {

// A task's ambient scope. A plain thread never runs a job, so its scope is
// always nullptr.
TaskLocal<const CancelScope*> tl_scope;

// Runs a claimed job with its scope as the ambient one.
[[maybe_unused]] void run_claimed(Job* j) {
  const CancelScope*& ambient = tl_scope.get();
  const CancelScope* outer = ambient;
  ambient = j->scope;
  j->execute();
  ambient = outer;
}

[[maybe_unused]] bool claim(Job* j) noexcept {
  // relaxed: see Job::taken. The load skips the exchange's cache-line
  // ownership when the job is long gone, as it usually is for the carrier.
  return !j->taken.load(std::memory_order_relaxed) && !j->taken.exchange(true, std::memory_order_relaxed);
}

// The carrier task's function: the job's one chance to run on a stack of its own.
struct Carrier {
  Job* job;
  void operator()() const {
    // BEGIN SOLUTION
    if (claim(job)) {
      job->stolen = true;
      run_claimed(job);
    }
    release(job);
    // STUB: unimplemented("phase 6: the Carrier (job.cpp) is yours to write");
    // END SOLUTION
  }
};

// Enough stack left below this frame for a helped job (job.hpp).
[[maybe_unused]] bool room_to_help(Task* t) noexcept {
  auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  auto lo = reinterpret_cast<std::uintptr_t>(t->stack_lo);
  std::size_t reserve = std::min<std::size_t>(t->extra().stack.size / 2, 32 * 1024);
  return sp > lo && sp - lo >= reserve;
}

}  // namespace

void submit(Scheduler& s, Job* j, const SpawnOptions& opts) {
  try {
    spawn_on(s, Carrier{j}, opts).detach();
  } catch (...) {
    release(j);
    throw;
  }
}

bool help(Job* j) {
  // BEGIN SOLUTION
  Task* self = current_task();
  if (!self || !room_to_help(self) || !claim(j)) return false;
  run_claimed(j);
  return true;
  // STUB: (void)j, (void)claim, (void)room_to_help;
  // STUB: unimplemented("phase 6: help (job.cpp): running an unclaimed job on the waiter's stack is yours to write");
  // END SOLUTION
}

void release(Job* j) noexcept {
  if (j->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete j;
}

Scheduler* scheduler_here() noexcept {
  if (Task* t = current_task()) return t->extra().sched;
  return newest_runtime();
}

Scheduler& scheduler_for(const char* who) {
  if (Scheduler* s = scheduler_here()) return *s;
  throw std::logic_error(std::string(who) + ": called outside a task with no green::Runtime alive");
}

const CancelScope* ambient_scope() { return current_task() ? tl_scope.get() : nullptr; }

}  // namespace green::detail
