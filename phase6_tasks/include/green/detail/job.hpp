// Jobs: the unit of work of phase 6 (TaskGroup, async, parallel_for,
// TaskGraph), and how a waiting task helps.
//
// A job is a function that has not started: a small object (its closure and
// three words), not a task. It has no stack, no TCB and no id; it gets a
// stack only if it has to run on its own.
//
// Where jobs wait. A task on a worker pushes its jobs on that worker's job
// deque (a Chase-Lev deque of its own, beside the task deque; src/
// job_source.cpp). Then, in order of preference:
//   1. The task waits for them (TaskGroup::wait, Future::get) and pops them
//      back off the bottom of its deque, newest first, and runs each inline,
//      on its own stack: no stack, no switch, no park. A job nobody stole
//      costs a push, a pop and a call. This is help-first (child stealing,
//      as TBB); a work-first runtime (Cilk) would run the child at once and
//      leave its own continuation to thieves (HANDOUT 9.2 compares).
//   2. A worker that runs out of tasks (job_poll, before it sleeps) pops its
//      own deque or steals the oldest job of another worker's, and runs it in
//      a carrier: a task made for it, which can park like any task.
// A deque takes each job out exactly once (its pop and steal decide), so a
// job needs no flag to say who runs it. A job on a deque counts as live work
// of its runtime (the worker's spawn count at the push, the end count of
// whichever worker runs it), so ~Runtime waits for it as for a task. A plain
// thread, or a task of a LocalScheduler, has no job deque: its jobs get
// carriers at once.
//
// Helping is bounded twice. A waiter takes only its own jobs (its group's,
// or its future's producer): running someone else's job inline could make it
// wait for work that only its own continuation would do (a deadlock TBB's
// users meet). And it helps only while at least half its stack (at most
// 32 KiB) is free below its frame; deeper, it parks, and the job runs in a
// carrier on a stack of its own. So a recursion of helpers never reaches a
// guard page (TBB's nested waits can: arbor 1583).
//
// Cancellation. A job belongs to a CancelScope (its TaskGroup's); while it
// runs, that scope is the task's ambient scope, so a TaskGroup made inside
// the job is a child of it and sees its cancellation (TBB's nested contexts).
#pragma once
#include <green/detail/growable_deque.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/unimplemented.hpp>
#include <green/detail/task.hpp>
#include <green/options.hpp>

#include <atomic>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace green::detail {

// Phase 6's small objects (jobs, and futures' states and callbacks) come
// from stage 4's block cache (task_block.cpp), as tasks do, not from malloc:
// such an object is often made on one worker and freed on another (a thief
// ran its job), and the cache's depot carries the blocks back where malloc
// would take each one through an arena lock. PreemptOff: the cache's lists
// are this thread's.
inline void* small_new(std::size_t size, std::size_t align) {
  PreemptOff no_preempt;
  return new_block(size, align);
}
inline void small_delete(void* p, std::size_t size, std::size_t align) noexcept {
  PreemptOff no_preempt;
  delete_block(p, size, align);
}

// A base whose derived classes are allocated by small_new. With a virtual
// destructor, delete passes the size of the object's own type, as new got.
struct BlockAllocated {
  static void* operator new(std::size_t size) { return small_new(size, __STDCPP_DEFAULT_NEW_ALIGNMENT__); }
  static void* operator new(std::size_t size, std::align_val_t a) { return small_new(size, static_cast<std::size_t>(a)); }
  static void operator delete(void* p, std::size_t size) noexcept {
    small_delete(p, size, __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  }
  static void operator delete(void* p, std::size_t size, std::align_val_t a) noexcept {
    small_delete(p, size, static_cast<std::size_t>(a));
  }
};

// The same for std::allocate_shared (a future's state and its control block).
template <class T>
struct BlockAllocator {
  using value_type = T;
  static constexpr std::size_t kAlign =
      alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? alignof(T) : __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  BlockAllocator() = default;
  template <class U>
  BlockAllocator(const BlockAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(small_new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t n) noexcept { small_delete(p, n * sizeof(T), kAlign); }
  template <class U>
  bool operator==(const BlockAllocator<U>&) const noexcept { return true; }
};

// Cancellation flags, one per TaskGroup, each with its parent's. A scope is
// canceled when it or an ancestor is. Walking the ancestors on every check
// would cost a fork-join recursion its depth per job (fib(32): 32 scopes),
// so a scope remembers the last time a walk found none canceled, as the
// value of a process-wide count of cancel() calls then: while the count has
// not moved, no flag can have been set since, and the check is two loads.
inline std::atomic<std::uint64_t> g_cancels{0};

class CancelScope {
 public:
  explicit CancelScope(const CancelScope* parent) noexcept : parent_(parent) {}
  // seq_cst, both: the flag is set before the count moves, in the one total
  // order canceled()'s load of the count is in; a check that loads the new
  // count walks and sees the flag; one that loads the old count before it
  // moved did start before cancel() returned.
  void cancel() noexcept {
    canceled_.store(true, std::memory_order_seq_cst);
    g_cancels.fetch_add(1, std::memory_order_seq_cst);
  }
  void reset() noexcept { canceled_.store(false, std::memory_order_relaxed); }  // by the owner, nobody running
  bool canceled() const noexcept {
    // acquire: pairs with cancel()'s store; a job that sees the flag also
    // sees what the canceller did before it.
    if (canceled_.load(std::memory_order_acquire)) return true;
    if (!parent_) return false;
    std::uint64_t now = g_cancels.load(std::memory_order_seq_cst);  // see cancel()
    if (clean_.load(std::memory_order_relaxed) == now) return false;
    if (parent_->canceled()) return true;
    clean_.store(now, std::memory_order_relaxed);  // a hint: any value it holds is one a walk found clean
    return false;
  }

 private:
  std::atomic<bool> canceled_{false};
  const CancelScope* const parent_;  // the scope of the job that made this one; outlives it
  mutable std::atomic<std::uint64_t> clean_{~std::uint64_t{0}};  // g_cancels when the ancestors were last found clear
};

struct Job : BlockAllocated {
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  virtual ~Job() = default;
  // The work, and its report to the owner (a count, a result). Called once,
  // by whoever took the job; never throws (it catches for the owner).
  virtual void execute() noexcept = 0;

  const CancelScope* scope = nullptr;  // ambient while it runs; set before submit
  bool counted = false;                // pushed on a job deque, and counted as live work there

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

// Queues j: on the calling worker's job deque if it has one with room, else
// in a carrier task spawned on s (with opts). From then on j belongs to
// whoever runs it, who deletes it. If no carrier can be made, j is deleted
// and the error thrown.
void submit(Scheduler& s, Job* j, const SpawnOptions& opts = {});
// Help: if the newest job on the calling worker's deque satisfies mine(j)
// and the task has stack to spare, takes it off and runs it here, and
// returns true. False otherwise (a plain thread never helps).
template <class Mine>
bool help(Mine&& mine);
// Runs a job taken off a deque (or out of a carrier), then deletes it.
void run_job(Job* j) noexcept;
// Spawns a carrier task on s that runs j. Throws if it cannot (j untouched).
void spawn_carrier(Scheduler& s, Job* j, const SpawnOptions& opts);

// The scheduler of the calling task, or else the newest live runtime.
// nullptr: neither (a plain thread with no runtime alive).
Scheduler* scheduler_here() noexcept;
// The same, or std::logic_error naming who asked.
Scheduler& scheduler_for(const char* who);
// The scope of the job the calling task runs, or nullptr.
const CancelScope* ambient_scope();

// ---- The job deques (src/job_source.cpp) ------------------------------------
// It grows (detail/growable_deque.hpp): a loop that runs 100,000 functions
// before it waits keeps them all. Published with seq_cst, as task pushes
// are: see job_source.cpp on lost wake-ups.
class JobDeque : public GrowableDeque<Job*> {};
// The calling thread's deque, cached per thread for the loop it was found
// for: its dispatcher, and tl_loop_serial (a thread lent to a worker by
// Runtime::run runs that loop for a while, and a later runtime's worker may
// take the address of an earlier one's).
extern thread_local const Dispatcher* tl_job_deque_for;
extern thread_local std::uint32_t tl_job_deque_serial;
extern thread_local JobDeque* tl_job_deque;
JobDeque* find_job_deque() noexcept;  // the slow path: looks it up, caches it
// The calling task's worker's deque, or nullptr (a plain thread, a
// LocalScheduler). Call with preemption off: the task must not move to
// another worker while it uses the deque (only its owner may push and pop).
inline JobDeque* my_job_deque() noexcept {
  return this_dispatcher() == tl_job_deque_for && tl_loop_serial == tl_job_deque_serial ? tl_job_deque
                                                                                      : find_job_deque();
}
inline bool push_job(JobDeque& q, Job* j) noexcept { return q.push(j); }  // false: no memory to grow
inline Job* pop_job(JobDeque& q) noexcept { return q.pop(); }              // the newest, or nullptr
// After a push: wake a sleeping worker to steal, if none is looking.
void wake_job_thief() noexcept;
// Enough stack left below the caller for a helped job (see the top).
inline bool room_to_help() noexcept {
  // BEGIN SOLUTION
  Task* t = current_task();
  if (!t) return false;
  auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const Stack& s = t->run->stack;
  auto lo = reinterpret_cast<std::uintptr_t>(s.lo);
  std::size_t reserve = s.size / 2 < 32 * 1024 ? s.size / 2 : 32 * 1024;
  return sp > lo && sp - lo >= reserve;
  // STUB: unimplemented("phase 6: room_to_help (job.hpp) is yours to write");
  // END SOLUTION
}

template <class Mine>
bool help(Mine&& mine) {
  Job* j;
  {
    PreemptOff no_preempt;  // the deque is this worker's
    JobDeque* q = my_job_deque();
    if (!q || !room_to_help() || !(j = pop_job(*q))) return false;
    if (!mine(j)) {
      push_job(*q, j);  // back where it was: it was the newest, and only we push
      return false;
    }
  }
  run_job(j);
  return true;
}

}  // namespace green::detail
