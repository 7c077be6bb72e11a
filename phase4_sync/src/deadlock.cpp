// The global deadlock: see detail/deadlock.hpp.
#include <green/detail/deadlock.hpp>
#include <green/detail/io_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/wait_graph.hpp>
#include <green/mutex.hpp>

#if GREEN_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#include <cstdio>

namespace green::detail {

void note_blocked(Worker& w, BlockedNode& n) noexcept {
  Deadlocks& d = deadlocks_of(*w.rt);
  if (!d.detect) return;
  BlockedList& l = d.lists[w.index];
  PreemptOff no_preempt;  // l.lock is a spin lock
  l.lock.lock();
  n.prev = nullptr;
  n.next = l.head;
  if (l.head) l.head->prev = &n;
  l.head = &n;
  n.in = &w;
  l.lock.unlock();
}

void note_unblocked(BlockedNode& n) noexcept {
  Worker* w = n.in;
  if (!w) return;
  BlockedList& l = deadlocks_of(*w->rt).lists[w->index];
  PreemptOff no_preempt;
  l.lock.lock();
  (n.prev ? n.prev->next : l.head) = n.next;
  if (n.next) n.next->prev = n.prev;
  l.lock.unlock();
  n.in = nullptr;
}

namespace {

bool of_runtime(const void* task, const RuntimeImpl& rt) {
  return const_cast<Task*>(static_cast<const Task*>(task))->extra().sched == &rt;
}

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

struct Blocked {
  Task* task;
  const WaitList* on;
  const Task* joining;
};

// Every task in a blocked list. All of them are parked: the lists do not change.
std::vector<Blocked> blocked_tasks(Deadlocks& d) {
  std::vector<Blocked> v;
  PreemptOff no_preempt;
  for (BlockedList& l : d.lists) {
    l.lock.lock();
    for (BlockedNode* n = l.head; n; n = n->next) v.push_back({n->task, n->on, n->joining});
    l.lock.unlock();
  }
  return v;
}

// One line per blocked task, and per thread joining one.
std::string describe(std::uint64_t live, const std::vector<Blocked>& blocked, const std::vector<WaitEdge>& joins) {
  std::string s = "green: deadlock: all " + std::to_string(live) +
                  " tasks of this runtime are blocked, with no timer armed and no thread waiting in a "
                  "green primitive, so nothing can wake them (RuntimeOptions::detect_deadlock):";
  // A Mutex's holder is named if it is a blocked task of this runtime (a
  // thread's tag is not a Task: it cannot be read as one).
  auto known = [&](const void* holder) {
    for (const Blocked& b : blocked)
      if (b.task == holder) return true;
    return false;
  };
  std::uint64_t listed = 0;
  for (const Blocked& b : blocked) {
    ++listed;
    if (b.joining) {
      s += "\n  " + node_name(b.task, 0) + " waits to join " + node_name(b.joining, 0);
      continue;
    }
    s += "\n  " + node_name(b.task, 0) + " waits on " + b.on->what + " " + address(b.on->owner);
    if (const void* holder = b.on->holder ? b.on->holder(b.on->owner) : nullptr)
      s += known(holder) ? ", held by " + node_name(holder, 0) : ", held by a thread or an unblocked task";
  }
  for (const WaitEdge& e : joins) s += "\n  " + node_name(e.who, e.tid) + " waits to join " + node_name(e.on, 0);
  if (listed < live)
    s += "\n  and " + std::to_string(live - listed) + " more, parked outside green's primitives and joins";
  return s;
}

// The joins of threads that wait for tasks of rt (the tasks' joins are in
// the blocked lists).
std::vector<WaitEdge> joins_of(RuntimeImpl& rt) {
  std::vector<WaitEdge> joins;
  for (const WaitEdge& e : wait_edges_now())
    if (e.join && e.tid && of_runtime(e.on, rt)) joins.push_back(e);
  return joins;
}

void declare(RuntimeImpl& rt, std::uint64_t live) {
  Deadlocks& d = deadlocks_of(rt);
  std::vector<WaitEdge> joins = joins_of(rt);
  d.report = describe(live, blocked_tasks(d), joins);
  d.found.store(true, std::memory_order_release);  // pairs with deadlock_report's acquire
  // End the joins of threads: their JoinWait::finished throws the report.
  for (const WaitEdge& e : joins) {
    JoinState& js = const_cast<Task*>(static_cast<const Task*>(e.on))->extra().join;
    JoinWord cur = js.load(std::memory_order_acquire);
    // acq_rel: as notify_done's exchange (the joiner's acquire load sees Done).
    while ((cur.tag() == kJoinEmpty || cur.tag() == kJoinThread) &&
           !js.compare_exchange_weak(cur, JoinWord(nullptr, kJoinDone), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    }
    js.notify_all();
  }
  rt.end_lending();  // a thread running our only worker for run() (runtime.cpp, "Lending") leaves its loop
}

}  // namespace

std::int64_t watch_for_deadlock(Worker& k) {
  RuntimeImpl& rt = *k.rt;
  Deadlocks& d = deadlocks_of(rt);
  if (!d.detect || d.found.load(std::memory_order_relaxed)) return kNever;
  std::uint64_t spawned = rt.external_spawned.load(std::memory_order_acquire), ended = 0, switches = 0;
  for (auto& w : rt.workers_) {
    ended += w->ended.read();
    spawned += w->spawned.read();
    switches += w->switches.read();
  }
  // seq_cst: as park()'s reads; a worker that left the idle list shows here.
  bool quiet = rt.nparked_.load(std::memory_order_seq_cst) == rt.nworkers() && spawned > ended &&
               !rt.global.nonempty_sc() && threads_waiting() == 0 && timers_of(rt).earliest() == kNever &&
               !io_pending(rt);
  if (!quiet) {
    d.suspect = false;
    return kNever;
  }
  std::uint64_t progress = spawned + switches;
  std::int64_t now = now_ns();
  if (d.suspect && progress == d.progress) {
    if (now - d.since < kDeadlockCheck) return d.since + kDeadlockCheck;
    d.suspect = false;
    declare(rt, spawned - ended);
    return now;  // once more through the worker's loop: a lent one ends (declare)
  }
  d.suspect = true;
  d.progress = progress;
  d.since = now;
  return now + kDeadlockCheck;
}

std::string deadlock_report(Task& t) {
  auto* rt = dynamic_cast<RuntimeImpl*>(t.extra().sched);
  if (!rt) return {};
  Deadlocks& d = deadlocks_of(*rt);
  // acquire: pairs with declare's release; the report is whole.
  if (!d.found.load(std::memory_order_acquire) || t.state() == TaskState::Done) return {};
  return d.report;
}

bool abandoned(RuntimeImpl& rt) noexcept {
  Deadlocks& d = deadlocks_of(rt);
  if (!d.found.load(std::memory_order_acquire)) return false;
  // The blocked tasks stay as they are: their blocks stay reachable from
  // here, and under LeakSanitizer their stacks are scanned as roots (what
  // they point to is not a leak: it is held by tasks that never end).
  static auto* kept = new std::vector<Task*>;
  std::vector<Task*> tasks;
  for (const Blocked& b : blocked_tasks(d)) tasks.push_back(b.task);
  for (Task* t : tasks) {
    kept->push_back(t);
    // Its wait never ends, so it never removes its edge: remove it here, or
    // the graph keeps an edge naming a Mutex that may be destroyed with the
    // program's next scope, and a later walk would read it.
    wait_over(t);
#if GREEN_ASAN
    const Stack& st = t->run->stack;  // (parked: it has started)
    if (st) __lsan_register_root_region(st.lo, st.size);
#endif
  }
  return true;
}

}  // namespace green::detail
