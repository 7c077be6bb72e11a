// The inside of green::Runtime: workers, the global queue, parking.
//
// Design. Each worker is an OS thread running a scheduler loop (a Dispatcher)
// and owning a local run queue. A task made Ready on a worker (spawned,
// yielded, unparked there) goes to that worker's local queue, which only
// that worker pushes to: no lock, no contended cache line on the hot path.
// Tasks made Ready outside the workers (Runtime::spawn from a plain thread),
// a full local queue's overflow, and tasks of non-default priority go to the
// one global queue. A worker with nothing to do spins briefly, then parks on
// a futex; whoever puts work where a parked worker could take it wakes one.
//
// The policy (where a Ready task goes, the order a worker looks for work,
// when to wake whom) lives in worker_loop.cpp, which stage 3 replaces with
// work stealing; the machinery (threads, the global queue, parking, the
// counters) lives in runtime.cpp and stays.
#pragma once
#include <green/detail/unimplemented.hpp>
#include <green/detail/event_source.hpp>
#include <green/detail/local_queue.hpp>
#include <green/detail/ready_queue.hpp>
#include <green/detail/task.hpp>
#include <green/detail/trace.hpp>
#include <green/detail/worker_hooks.hpp>
#include <green/runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace green::detail {

// A counter written by one thread and read by any: no RMW needed.
struct OwnedCounter {
  std::atomic<std::uint64_t> v{0};
  // release: pairs with read()'s acquire (the destructor's quiescence check
  // must see everything that happened before the count).
  void inc() noexcept { v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  std::uint64_t read() const noexcept { return v.load(std::memory_order_acquire); }
};

class RuntimeImpl;
struct Worker;

// Sleeps until a waker has picked w off the idle list (w.wake == 1).
void wait_until_picked(Worker& w) noexcept;

// One worker. Fields are written only by the worker's own thread unless said.
struct alignas(64) Worker : Dispatcher {
  Worker(RuntimeImpl* r, unsigned i);
  RuntimeImpl* rt;
  unsigned index;
  unsigned tick = 0;            // picks since the last fair turn (below)
  // Every kFairEvery-th pick is a fair turn: the worker looks at the global
  // queue first (worker_loop.cpp). A count back to 0, not a modulo: a
  // division costs more than the rest of the check.
  static constexpr unsigned kFairEvery = 61;
  bool fair_turn() noexcept { return ++tick == kFairEvery ? (tick = 0, true) : false; }
  LocalQueue local;             // pushed by this worker; taken per LocalQueue's rules
  // Set by an event source while it makes Ready tasks that this worker will
  // run next itself (phase 4: the timers it fires as its idle sleep ends):
  // stage 3's submit wakes no thief for the first of them. Its own only.
  bool runs_next_itself = false;
  // Futex word: 0 while parked, 1 once a waker has picked it (idle_wake);
  // an event source may set other values to wake it without picking it.
  alignas(64) std::atomic<std::uint32_t> wake{0};
  OwnedCounter spawned, ended, switches, parks, wakeups, steals, global_pushes, preemptions;
  std::thread thread;
};

// The global run queue: stage 1's ReadyQueue (16 levels, bitmap) behind a
// mutex. A mutex is acceptable here: only the cold paths come through it
// (spawns from outside the workers, overflow in batches of half a local
// queue, non-default priorities, one check in 61 picks), and stage 3's
// workers take default-priority tasks out in batches too (pop_batch), so it
// is rarely contended, and a lock-free multi-producer priority queue would
// cost more in complexity than it would save. bitmap_ mirrors the queue's
// bitmap so workers can peek without the lock.
class GlobalQueue {
 public:
  void push_chain(Task* head);  // tasks linked through Task::next, oldest first
  // The oldest task of the highest priority, if that priority is at least
  // min_priority; else nullptr.
  Task* pop(int min_priority = kMinPriority);
  // Stage 3's (its worker_loop.cpp; stage 2 does not use it): pop(), and
  // with its task, if it has the default priority, up to max - 1 more of that
  // priority, but no more than the queue's 1/share plus one (Go's
  // globrunqget: each of `share` workers gets its part): a chain through
  // next, oldest first.
  Task* pop_batch(std::size_t share, std::size_t max);
  // Lock-free hints (the lock decides):
  bool maybe_nonempty() const noexcept { return bitmap_.load(std::memory_order_relaxed) != 0; }
  // The same, as the seq_cst load of park()'s Dekker pair (see park()).
  bool nonempty_sc() const noexcept { return bitmap_.load(std::memory_order_seq_cst) != 0; }
  bool maybe_above(int priority) const noexcept {
    return (bitmap_.load(std::memory_order_relaxed) >> (priority + 1)) != 0;
  }

 private:
  std::mutex m_;
  ReadyQueue q_;                           // guarded by m_
  std::size_t size_ = 0;                   // tasks in q_; guarded by m_ (for pop_batch)
  // Written under m_; read without it as a hint. The tasks themselves are
  // handed over under m_. Stores are seq_cst: they are the producer's half of
  // park()'s Dekker pair.
  std::atomic<std::uint16_t> bitmap_{0};
};

class RuntimeImpl final : public Scheduler {
 public:
  explicit RuntimeImpl(const RuntimeOptions& opts);
  ~RuntimeImpl() override;

  // Scheduler
  void submit(Task* t) override;                       // worker_loop.cpp
  void submit_yielded(Dispatcher& d, Task* t) override;  // worker_loop.cpp
  bool outranked(Dispatcher& d, const Task& t) noexcept override;  // worker_loop.cpp
  void submit_preempted(Dispatcher& d, Task* t) override;          // worker_loop.cpp
  void on_task_spawned(Task* t) noexcept override;
  void on_task_end(Dispatcher& d, Task* t) noexcept override;
  void wait_from_thread(Task* t) override;

  // The worker of this runtime the caller runs on, or nullptr (below).
  Worker* this_worker() noexcept;
  RuntimeStats stats() const noexcept;
  unsigned nworkers() const noexcept { return static_cast<unsigned>(workers_.size()); }

  // Policy (worker_loop.cpp)
  Task* find_work(Worker& w);

  // Machinery (runtime.cpp)
  // A worker thread: find_work, run, repeat, until stopping(), or, on a
  // lent thread, until `until`'s join has ended (lent_loop).
  void worker_main(Worker& w, Task* until = nullptr);
  // Runtime::run on a runtime of one worker (runtime.cpp, "Lending"):
  // take_over ends the worker's thread and gives the worker to the caller
  // (false: more workers, or another thread has it; join as usual);
  // lent_loop runs it on the caller until main's join ends; give_back starts
  // a thread for it again.
  bool take_over();
  void lent_loop(Task* main);
  void give_back() noexcept;
  // The deadlock watch has ended every join (phase 4's declare): a lent
  // loop, which will find no work again, leaves now.
  void end_lending() noexcept;
  // w's local queue is full: move its older half, then t, to the global queue.
  void spill_to_global(Worker& w, Task* t);
  void push_global(Task* t);                 // + wake a parked worker
  void push_global_chain(Task* head, std::size_t n);  // n tasks linked through next
  void wake_one() noexcept;                  // call after publishing work with a seq_cst store
  // Parks w unless work shows up; false if it returned because of stopping.
  // has_work is re-checked after w is on the idle list (see runtime.cpp).
  template <class HasWork>
  void park(Worker& w, HasWork&& has_work);
  // The workers leave their loops: for good (stop_workers), or worker 0's
  // thread hands the worker over (take_over). acquire: pairs with
  // stop_workers' and take_over's seq_cst stores (end_lending's store is made
  // on the reading thread itself).
  bool stopping() const noexcept {
    return stopping_.load(std::memory_order_acquire) || leave_.load(std::memory_order_acquire);
  }

  GlobalQueue global;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<std::uint64_t> external_spawned{0};  // spawns from outside the workers
  // Idle workers. nparked_ mirrors idle_.size() for lock-free checks.
  std::mutex idle_m_;
  std::vector<Worker*> idle_;                      // guarded by idle_m_
  std::atomic<unsigned> nparked_{0};
  std::atomic<unsigned> nspinning_{0};             // workers looking for work (stage 3)
  std::atomic<unsigned> outside_pushes_{0};        // push_global_chain calls from outside the workers
  std::atomic<bool> stopping_{false};              // set once, by stop_workers()
  std::atomic<bool> leave_{false};                 // a handover is under way (take_over)
  std::atomic<bool> lent_{false};                  // a thread has taken worker 0 over (take_over)
  std::chrono::microseconds time_slice{0};         // RuntimeOptions::time_slice; set once, before the workers
  std::vector<std::string> preemptible_libraries;  // RuntimeOptions'; set once, before the workers
  bool detect_deadlock = true;                     // RuntimeOptions'; set once, before the workers
  std::shared_ptr<void> events;                    // the event sources' state (event_source.hpp)

 private:
  void stop_workers() noexcept;              // sets stopping_, wakes and joins every started thread
  bool remove_from_idle(Worker& w) noexcept;
};

template <class HasWork>
void RuntimeImpl::park(Worker& w, HasWork&& has_work) {
  if (poll_events(w, true)) return;  // a timer (say) made work
  // BEGIN SOLUTION
  {
    std::lock_guard lk(idle_m_);
    w.wake.store(0, std::memory_order_relaxed);  // under idle_m_: no waker has picked us yet
    idle_.push_back(&w);
    // seq_cst: our half of a Dekker pair. A producer does [publish work with
    // a seq_cst store; seq_cst load of nparked_]; we do [seq_cst RMW of
    // nparked_; seq_cst loads in has_work()]. All four are in one total
    // order, so the two sides cannot both miss each other: either the
    // producer sees us parked and wakes us, or has_work() sees its work.
    // (Stand-alone fences would do, but ThreadSanitizer does not model them.)
    nparked_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (has_work() || events_waiting_sc(w) || stopping_.load(std::memory_order_seq_cst) ||
      leave_.load(std::memory_order_seq_cst)) {
    if (remove_from_idle(w)) return;
    // A waker already took us off the list: its wake is on the way; consume it.
  }
  w.parks.inc();
  on_worker_sleep(w);
  const std::uint64_t slept = tracing() ? trace_now() : 0;  // the trace's idle span
  // False: an event came due first, and we may still be on the idle list.
  if (idle_wait(w)) {
    w.wakeups.inc();
  } else if (!remove_from_idle(w)) {  // picked meanwhile
    wait_until_picked(w);
    w.wakeups.inc();
  }
  if (slept) trace_span(TraceKind::Idle, 0, slept, trace_now());
  on_worker_wake(w);
  // STUB: (void)w, (void)has_work;
  // STUB: unimplemented("stage 2: RuntimeImpl::park (runtime_impl.hpp) is yours to write");
  // END SOLUTION
}

// The calling thread's worker, or nullptr off every runtime's workers (a
// plain thread, a LocalScheduler's). Set by worker_main for the thread's
// life; one %fs load, like this_dispatcher(), and as cheap as a check can
// be: help-first joins and spawns ask it for every task.
GREEN_FS_POINTER(Worker, current_worker, set_current_worker, green_current_worker)

inline Worker* RuntimeImpl::this_worker() noexcept {
  Worker* w = current_worker();
  return w && w->rt == this ? w : nullptr;
}

// The newest Runtime still alive, or nullptr: where a plain thread's call
// that needs a runtime but names none goes (phase 6's parallel_for from
// main). Runtimes register as they are made and leave as they are destroyed.
Scheduler* newest_runtime() noexcept;

}  // namespace green::detail
