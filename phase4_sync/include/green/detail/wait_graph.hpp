// The wait-for graph: phase 4's deadlock detection.
//
// Nodes are tasks and threads (self_id()). A node has an edge only while it
// is blocked, and at most one: in Mutex::lock, to the mutex (whose holder it
// waits for); in TaskHandle::join, to the task joined. A lock() or join()
// about to block records its edge and follows the edges from there; coming
// back to itself means this wait closes a cycle, and it throws
// DeadlockError naming every task and lock of the cycle instead of blocking.
// Cycles up to kMaxCycle nodes long are found.
//
// One process-wide SpinLock guards the edges (a table keyed by node), and
// only the paths that are about to block take it: an uncontended lock() and
// the join of a task that already ended never do. Under it the walk is exact:
//   - a node with an edge is inside its lock() or join(), and it cannot leave
//     without taking the graph lock to remove the edge; so the mutex or task
//     its edge names is alive, and it unlocks nothing meanwhile;
//   - the holder read from a Mutex is current, or nullptr (an unlock in
//     progress: no edge, no cycle), or a holder that has since unlocked: but
//     that one stored nullptr before it last released the graph lock (if it
//     has an edge now), so the walker, which took the lock after, cannot see
//     the old value. Only a task that ended holding a Mutex leaves a stale
//     holder behind; a wait on such a mutex is a deadlock anyway.
// So a cycle found is a cycle that exists, and of two waits closing one at
// the same moment, the graph lock orders them: the second finds it.
#pragma once
#include <green/detail/task.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace green {
class Mutex;
}

namespace green::detail {

inline constexpr int kMaxCycle = 64;

// Records "self waits for the holder of m" (Mutex::lock) or "self waits for
// t to end" (join). Throws DeadlockError, recording nothing, if the edge
// closes a cycle.
void wait_for_mutex(const void* self, const Mutex& m);
void wait_for_task(const void* self, const Task* t);
// self's wait is over: removes its edge.
void wait_over(const void* self) noexcept;

// Mutex's holder, for the walk (mutex.hpp befriends it).
const void* holder_of(const Mutex& m) noexcept;

// How many edges are recorded (tests: nothing is left behind).
std::size_t wait_edges() noexcept;

// For the global deadlock report (deadlock.hpp): a copy of the edges, and
// how the report names a node ("task 7 \"name\"", "thread 1234").
struct WaitEdge {
  const void* who = nullptr;  // the blocked node; nullptr: a free slot
  const void* on = nullptr;   // the Mutex or the Task it waits for
  bool join = false;          // on is a Task (join), not a Mutex
  int tid = 0;                // a thread's id for the report; 0: who is a Task
};
std::vector<WaitEdge> wait_edges_now();
std::string node_name(const void* who, int tid);

}  // namespace green::detail
