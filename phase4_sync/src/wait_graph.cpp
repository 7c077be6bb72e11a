// The wait-for graph. See detail/wait_graph.hpp for what it records and why
// the walk under the graph lock is exact.
#include <green/detail/spin_lock.hpp>
#include <green/detail/unimplemented.hpp>
#include <green/detail/wait_graph.hpp>
#include <green/mutex.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace green::detail {

namespace {

using Edge = WaitEdge;

// Open addressing, linear probing, at most half full; erase shifts the
// entries after a hole back, so no tombstones pile up.
class EdgeTable {
 public:
  Edge* find(const void* who) noexcept {
    if (n_ == 0) return nullptr;
    for (std::size_t i = slot(who);; i = (i + 1) & mask()) {
      if (a_[i].who == who) return &a_[i];
      if (!a_[i].who) return nullptr;
    }
  }
  void insert(const Edge& e) {
    if (2 * (n_ + 1) > a_.size()) grow();
    std::size_t i = slot(e.who);
    while (a_[i].who) i = (i + 1) & mask();
    a_[i] = e;
    ++n_;
  }
  void erase(const void* who) noexcept {
    Edge* e = find(who);
    if (!e) return;
    std::size_t hole = static_cast<std::size_t>(e - a_.data());
    for (std::size_t i = (hole + 1) & mask(); a_[i].who; i = (i + 1) & mask()) {
      std::size_t home = slot(a_[i].who);
      // Move a_[i] into the hole unless its home lies cyclically in (hole, i].
      if (((i - home) & mask()) >= ((i - hole) & mask())) {
        a_[hole] = a_[i];
        hole = i;
      }
    }
    a_[hole] = Edge{};
    --n_;
  }
  std::size_t size() const noexcept { return n_; }
  const std::vector<Edge>& slots() const noexcept { return a_; }

 private:
  std::size_t mask() const noexcept { return a_.size() - 1; }
  std::size_t slot(const void* p) const noexcept {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ull >> 20) &
           mask();
  }
  void grow() {
    std::vector<Edge> old(a_.size() ? 2 * a_.size() : 64);
    old.swap(a_);
    n_ = 0;
    for (const Edge& e : old)
      if (e.who) insert(e);
  }
  std::vector<Edge> a_;  // size: 0 or a power of two
  std::size_t n_ = 0;
};

SpinLock graph_lock;
EdgeTable* table = nullptr;  // under graph_lock; made on first use, never destroyed (a
                             // detached thread may still block at exit)
EdgeTable& edges() {
  if (!table) table = new EdgeTable;
  return *table;
}

int thread_tid() noexcept {
  static thread_local int tid = static_cast<int>(::syscall(SYS_gettid));
  return tid;
}

[[maybe_unused]] const void* target(const Edge& e) noexcept {  // (unused in a starter tree)
  return e.join ? e.on : holder_of(*static_cast<const Mutex*>(e.on));
}

std::string node_name(const Edge& e) { return detail::node_name(e.who, e.tid); }

[[maybe_unused]] std::string describe_cycle(const Edge& mine, const Edge* const* path, int n) {
  char buf[48];
  std::string s = "green: deadlock: this wait would close a cycle of " + std::to_string(n + 1) +
                  (n ? " waits: " : " wait: ") + node_name(mine) + " (the caller)";
  const Edge* e = &mine;
  for (int i = 0;; ++i) {
    if (e->join) {
      s += " waits to join ";
    } else {
      std::snprintf(buf, sizeof buf, "%p", e->on);
      s += std::string(" waits for green::Mutex ") + buf + " held by ";
    }
    if (i == n) return s + node_name(mine) + ", the caller";
    e = path[i];
    s += node_name(*e) + ", which";
  }
}

// Records me unless it closes a cycle; under graph_lock.
void record(const Edge& me) {
  // BEGIN SOLUTION
  const Edge* path[kMaxCycle];  // the nodes after me, while the walk goes on
  int n = 0;
  for (const void* next = target(me); next; next = target(*path[n++])) {
    if (next == me.who) throw DeadlockError(describe_cycle(me, path, n));
    if (n == kMaxCycle - 1) break;  // longer than we look
    const Edge* e = edges().find(next);
    if (!e) break;  // next is not blocked (by a lock or a join): no cycle through it
    path[n] = e;
  }
  // STUB: unimplemented("phase 4: the wait-for graph's walk, record() (wait_graph.cpp), is yours to write");
  // END SOLUTION
  edges().insert(me);
}

void add(const Edge& me) {
  PreemptOff no_preempt;  // graph_lock is a spin lock
  graph_lock.lock();
  try {
    record(me);
  } catch (...) {
    graph_lock.unlock();
    throw;
  }
  graph_lock.unlock();
}

}  // namespace

std::string node_name(const void* who, int tid) {
  if (tid) return "thread " + std::to_string(tid);
  Task* t = const_cast<Task*>(static_cast<const Task*>(who));
  std::string s = "task " + std::to_string(t->extra().id);
  if (t->word.named()) s += std::string(" \"") + task_name(t) + "\"";
  return s;
}

std::vector<WaitEdge> wait_edges_now() {
  std::vector<WaitEdge> v;
  PreemptOff no_preempt;
  graph_lock.lock();
  try {
    for (const Edge& e : edges().slots())
      if (e.who) v.push_back(e);
  } catch (...) {
    graph_lock.unlock();
    throw;
  }
  graph_lock.unlock();
  return v;
}

void wait_for_mutex(const void* self, const Mutex& m) {
  add({self, &m, false, current_task() ? 0 : thread_tid()});
}

void wait_for_task(const void* self, const Task* t) { add({self, t, true, current_task() ? 0 : thread_tid()}); }

void wait_over(const void* self) noexcept {
  PreemptOff no_preempt;
  graph_lock.lock();
  edges().erase(self);
  graph_lock.unlock();
}

std::size_t wait_edges() noexcept {
  PreemptOff no_preempt;
  graph_lock.lock();
  std::size_t n = edges().size();
  graph_lock.unlock();
  return n;
}

}  // namespace green::detail
