// The Runtime's machinery: workers and their threads, the global queue,
// parking and waking, counters, shutdown. The design is in
// detail/runtime_impl.hpp; the scheduling policy in worker_loop.cpp.
#include <green/detail/unimplemented.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/task_census.hpp>

#include <green/detail/futex.hpp>

#include <cstdio>
#include <mutex>
#include <vector>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <pthread.h>
#include <utility>

extern "C" {
__thread void* green_current_worker = nullptr;  // see current_worker() in runtime_impl.hpp
}

namespace green {
namespace detail {

Worker::Worker(RuntimeImpl* r, unsigned i) : Dispatcher(r), rt(r), index(i) {}

// ---- The global queue -------------------------------------------------------

void GlobalQueue::push_chain(Task* head) {
  std::lock_guard lk(m_);
  while (head) {
    Task* next = head->next;  // push() reuses the link
    q_.push(head);
    ++size_;
    head = next;
  }
  bitmap_.store(q_.bitmap(), std::memory_order_seq_cst);  // see the declaration
}

Task* GlobalQueue::pop(int min_priority) {
  if (!maybe_nonempty()) return nullptr;  // the common case: no lock at all
  std::lock_guard lk(m_);
  if (q_.top_priority() < min_priority) return nullptr;
  Task* t = q_.pop();
  --size_;
  // relaxed: taking work away publishes nothing and needs no wake-up.
  bitmap_.store(q_.bitmap(), std::memory_order_relaxed);
  return t;
}

// ---- Construction and shutdown ----------------------------------------------

static unsigned default_workers() {
  // BEGIN SOLUTION
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
  // STUB: unimplemented("stage 2: default_workers (runtime.cpp): one worker per CPU is yours to write");
  // END SOLUTION
}

// A lone worker's queue has no thieves: a queue type that can use that
// (stage 3's LocalQueue) is told so. Stage 2's ring cannot, and is not.
template <class Q>
static void tell_alone(Q& q) noexcept {
  if constexpr (requires { q.set_alone(); }) q.set_alone();
}

RuntimeImpl::RuntimeImpl(const RuntimeOptions& o) {
  // BEGIN SOLUTION
  auto bad_size = [](std::size_t s) { return s == 0 || s > kMaxStackSize; };
  if (bad_size(o.stack_size) || bad_size(o.small_stack_size))
    throw std::invalid_argument("green::Runtime: stack sizes must be in 1.." + std::to_string(kMaxStackSize));
  if (o.workers > 1024) throw std::invalid_argument("green::Runtime: more than 1024 workers");
  if (o.time_slice.count() < 0 || (o.time_slice.count() > 0 && o.time_slice < kMinTimeSlice))
    throw std::invalid_argument("green::Runtime: time_slice " + std::to_string(o.time_slice.count()) +
                                " us: must be 0 (cooperative) or at least " +
                                std::to_string(kMinTimeSlice.count()) + " us");
  // STUB: if (o.stack_size == 0 || o.small_stack_size == 0 || o.workers > 1024 || o.time_slice.count() < 0)
  // STUB:   unimplemented("stage 2: RuntimeImpl's constructor must refuse bad options with std::invalid_argument");
  // END SOLUTION
  stack_size = round_stack_size(o.stack_size);  // rounded once, not at every spawn
  small_stack_size = round_stack_size(o.small_stack_size);
  time_slice = o.time_slice;
  preemptible_libraries = o.preemptible_libraries;
  detect_deadlock = o.detect_deadlock;
  unsigned n = o.workers ? o.workers : default_workers();
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(this, i));
  if (n == 1) tell_alone(workers_[0]->local);
  attach_event_sources(*this);
  // Threads start after every Worker exists: a worker may look at the others.
  // If one cannot start, stop those that did (no task can exist yet) and throw.
  // BEGIN SOLUTION
  try {
    for (auto& w : workers_) w->thread = std::thread([this, w = w.get()] { worker_main(*w); });
  } catch (...) {
    stop_workers();
    throw;
  }
  // STUB: for (auto& w : workers_) w->thread = std::thread([this, w = w.get()] { worker_main(*w); });
  // END SOLUTION
}

// Tells every worker to stop once it finds no work, and waits for their threads.
void RuntimeImpl::stop_workers() noexcept {
  // seq_cst: a producer's half of park()'s Dekker pair, like a push.
  stopping_.store(true, std::memory_order_seq_cst);
  for (auto& w : workers_) {
    (void)w;
    wake_one();
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

// Quiescence: every task spawned has ended. Counters only grow, so reading
// all `ended` first and all `spawned` after, and finding them equal, means
// that at the moment the last `ended` was read nothing was live, and nothing
// was spawned since (only a live task or an outside thread can spawn).
static bool quiescent(const RuntimeImpl& rt) {
  std::uint64_t ended = 0;
  for (auto& w : rt.workers_) ended += w->ended.read();
  // acquire: pairs with on_task_spawned's release.
  std::uint64_t spawned = rt.external_spawned.load(std::memory_order_acquire);
  for (auto& w : rt.workers_) spawned += w->spawned.read();
  return ended == spawned;
}

RuntimeImpl::~RuntimeImpl() {
  if (this_worker()) {
    std::fputs("green: a Runtime was destroyed by one of its own tasks; that can never finish\n", stderr);
    std::abort();
  }
  // Wait for the tasks still running; sleep, do not spin: this may take long.
  for (int us = 1; !quiescent(*this) && !abandoned(*this); us = us < 1000 ? us * 2 : 1000)
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  // A thread that made our last task Ready may still be waking a worker.
  while (outside_pushes_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  const bool left_tasks = !quiescent(*this);  // abandoned (phase 4's deadlock)
  stop_workers();
  if (left_tasks) forget_tasks(*this);  // they are no longer anyone's
}

// ---- Parking --------------------------------------------------------------

void wait_until_picked(Worker& w) noexcept {
  // acquire: pairs with idle_wake's release store; we see what the waker did.
  for (std::uint32_t v; (v = w.wake.load(std::memory_order_acquire)) != 1;) futex_wait(w.wake, v);
}

bool RuntimeImpl::remove_from_idle(Worker& w) noexcept {
  std::lock_guard lk(idle_m_);
  for (auto it = idle_.begin(); it != idle_.end(); ++it)
    if (*it == &w) {
      idle_.erase(it);
      nparked_.fetch_sub(1, std::memory_order_relaxed);  // under idle_m_; a hint outside it
      return true;
    }
  return false;
}

void RuntimeImpl::wake_one() noexcept {
  // BEGIN SOLUTION
  // seq_cst: the producer's second half of park()'s Dekker pair.
  if (nparked_.load(std::memory_order_seq_cst) == 0) return;
  Worker* w;
  {
    std::lock_guard lk(idle_m_);
    if (idle_.empty()) return;
    w = idle_.back();
    idle_.pop_back();
    nparked_.fetch_sub(1, std::memory_order_relaxed);  // under idle_m_; a hint outside it
  }
  idle_wake(*w);
  // STUB: unimplemented("stage 2: RuntimeImpl::wake_one (runtime.cpp) is yours to write");
  // END SOLUTION
}

void RuntimeImpl::push_global(Task* t) {
  t->next = nullptr;
  push_global_chain(t, 1);
}

void RuntimeImpl::push_global_chain(Task* head, std::size_t n) {
  Worker* w = this_worker();
  // From outside the workers (a plain thread's spawn or unpark): once the
  // tasks are in the queue they may run and end, and the runtime may be
  // destroyed while we still wake a worker. The destructor waits for
  // outside_pushes_ to drop to 0. relaxed: ordered before the push by the
  // queue's lock, and so before the task's end that the destructor saw.
  if (!w) outside_pushes_.fetch_add(1, std::memory_order_relaxed);
  global.push_chain(head);
  if (w) {
    for (std::size_t i = 0; i < n; ++i) w->global_pushes.inc();
  }
  // A spinning worker will find it; otherwise wake a parked one. seq_cst:
  // the producer's half of the Dekker pair with a spinner that stops
  // spinning (worker_loop.cpp) and with park().
  if (nspinning_.load(std::memory_order_seq_cst) == 0) wake_one();
  // release: pairs with the destructor's acquire; we touch the runtime no more.
  if (!w) outside_pushes_.fetch_sub(1, std::memory_order_release);
}

// Runs on the spawning task's stack: the batch is chained through the
// tasks' own links (the queue owns them until they are pushed), so it costs
// a few words of stack however large the queue (see DEVELOPERS.md, stack budget).
void RuntimeImpl::spill_to_global(Worker& w, Task* t) {
  Task* head = nullptr;
  Task** tail = &head;
  std::size_t n = 0;
  while (n < LocalQueue::capacity() / 2)
    if (Task* x = take_oldest(w.local)) {
      *tail = x;
      tail = &x->next;
      ++n;
    } else {
      break;
    }
  *tail = t;
  t->next = nullptr;
  push_global_chain(head, n + 1);
}

void RuntimeImpl::worker_main(Worker& w, Task* until) {
  char name[16];
  std::snprintf(name, sizeof name, "green-w%u", w.index);
  pthread_setname_np(pthread_self(), name);  // what gdb, perf and the trace call this thread
  w.enter();
  set_current_worker(&w);
  on_worker_start(w);
  // relaxed: a handover asked for (take_over): leave between two tasks, and leave
  // the queues as they are. An idle worker sees it in find_work's stopping().
  while (!leave_.load(std::memory_order_relaxed)) {
    Task* t = find_work(w);
    if (!t) break;
    w.switches.inc();
    w.run(t);
    poll_events(w, false);
    if (until && join_ended(until)) break;  // a lent thread: run()'s main has ended
  }
  on_worker_stop(w);
  set_current_worker(nullptr);
  w.leave();
}

// ---- Lending: run() on a runtime of one worker --------------------------------
//
// A server on one worker whose main is the whole program is a process of two
// threads: the worker, and run()'s caller asleep in join. The kernel makes
// every call on an fd of a process whose fd table is shared take and drop a
// reference to the file, and that alone costs such a server 2-3% (HANDOUT
// 8.8). So run() lends its thread. It takes the worker over first: the
// worker's own thread leaves its loop between two tasks and exits (the
// queues, the timers, the stacks are the Worker's, not the thread's). Then it
// spawns main, and its join runs the loop until main's join ends. A new
// thread takes the worker back before run() returns. Only run() lends: a
// thread's other joins would pay two thread switches each.
//
// main's join ends when main ends (this thread ran it), or when the deadlock
// watch declares a deadlock (phase 4): it ends the join of every thread, ours
// included (join() recorded us as joining main), and calls end_lending, since
// the worker, idle for good, would otherwise sleep on in its keeper's wait.

bool RuntimeImpl::take_over() {
  if (workers_.size() != 1 || this_dispatcher()) return false;  // (a LocalScheduler's loop)
  if (lent_.exchange(true, std::memory_order_acquire)) return false;  // another thread's run()
  Worker& w = *workers_[0];
  // seq_cst: the producer's half of park()'s Dekker pair (as stop_workers): a
  // worker about to park sees leave_, or is on the idle list for us to wake.
  leave_.store(true, std::memory_order_seq_cst);
  if (remove_from_idle(w)) idle_wake(w);
  w.thread.join();
  // No thread runs the worker now; only this one touches leave_ until
  // give_back (declare runs on a worker's thread: ours, in lent_loop).
  leave_.store(false, std::memory_order_relaxed);
  return true;
}

void RuntimeImpl::lent_loop(Task* main) {
  char name[16] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  if (!join_ended(main)) worker_main(*workers_[0], main);
  pthread_setname_np(pthread_self(), name);
}

void RuntimeImpl::give_back() noexcept {
  Worker& w = *workers_[0];
  // relaxed: end_lending's flag, set on this thread; the new thread is
  // ordered after it by its creation.
  leave_.store(false, std::memory_order_relaxed);
  try {
    w.thread = std::thread([this, &w] { worker_main(w); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green: Runtime::run cannot give its worker a thread again (%s)\n", e.what());
    std::abort();
  }
  lent_.store(false, std::memory_order_release);  // pairs with the next take_over's acquire
}

void RuntimeImpl::end_lending() noexcept {
  // relaxed: read by the lent loop on this same thread (declare runs on the
  // only worker's thread while it is lent).
  if (lent_.load(std::memory_order_relaxed)) leave_.store(true, std::memory_order_relaxed);
}

// ---- Bookkeeping ----------------------------------------------------------

void RuntimeImpl::on_task_spawned(Task*) noexcept {
  if (Worker* w = this_worker()) w->spawned.inc();
  else external_spawned.fetch_add(1, std::memory_order_release);  // pairs with quiescent()'s acquire
}

void RuntimeImpl::on_task_end(Dispatcher& d, Task*) noexcept { static_cast<Worker&>(d).ended.inc(); }

// The runtime whose worker this thread has taken over for run() (Lending).
static thread_local RuntimeImpl* tl_lent_to = nullptr;

void RuntimeImpl::wait_from_thread(Task* t) {
  // (main: the only task run() joins; a join from the loop itself, say an
  // idle callback's, blocks as it would on the worker's own thread)
  if (tl_lent_to == this && !this_dispatcher()) lent_loop(t);
  else block_thread_until_done(t);
}

static_assert(RuntimeStats::kLatencyBuckets == kLatencyBuckets, "RuntimeStats shows the dispatchers' histogram");

RuntimeStats RuntimeImpl::stats() const noexcept {
  RuntimeStats s;
  s.spawned = external_spawned.load(std::memory_order_relaxed);  // a statistic: orders nothing
  for (auto& w : workers_) {
    s.spawned += w->spawned.read();
    s.completed += w->ended.read();
    s.switches += w->switches.read();
    s.steals += w->steals.read();
    s.parks += w->parks.read();
    s.wakeups += w->wakeups.read();
    s.global_pushes += w->global_pushes.read();
    s.preemptions += w->preemptions.read();
    for (int b = 0; b < kLatencyBuckets; ++b) s.latency[b] += w->latency[b].load(std::memory_order_relaxed);  // a statistic
  }
  count_tasks(*this, s);
  return s;
}

}  // namespace detail

// ---- The public face --------------------------------------------------------

namespace detail {
// Every live runtime, oldest first (newest_runtime). Under g_live_m.
static std::mutex g_live_m;
static std::vector<RuntimeImpl*> g_live;

Scheduler* newest_runtime() noexcept {
  std::lock_guard lk(g_live_m);
  return g_live.empty() ? nullptr : g_live.back();
}
}  // namespace detail

Runtime::Runtime(RuntimeOptions opts) : impl_(std::make_unique<detail::RuntimeImpl>(opts)) {
  std::lock_guard lk(detail::g_live_m);
  detail::g_live.push_back(impl_.get());
}

Runtime::~Runtime() {
  {
    std::lock_guard lk(detail::g_live_m);
    std::erase(detail::g_live, impl_.get());
  }
  impl_.reset();
}
detail::Scheduler& Runtime::scheduler() noexcept { return *impl_; }

void Runtime::join_main(TaskHandle (*spawn_main)(void*), void* arg) {
  // A task's run() parks in its join as any join does; so does a thread's
  // when the runtime has more workers, or another thread has taken it over.
  if (detail::current_task() || !impl_->take_over()) return spawn_main(arg).join();
  struct Lent {
    detail::RuntimeImpl* rt;
    detail::RuntimeImpl* prev;
    ~Lent() {
      detail::tl_lent_to = prev;
      rt->give_back();
    }
  } lent{impl_.get(), std::exchange(detail::tl_lent_to, impl_.get())};
  spawn_main(arg).join();  // runs the worker here (wait_from_thread)
}
RuntimeStats Runtime::stats() const noexcept { return impl_->stats(); }
unsigned Runtime::workers() const noexcept { return impl_->nworkers(); }

}  // namespace green
