// The global deadlock: every task of a runtime blocked for good (phase 4).
//
// A runtime whose tasks are all parked, with no timer armed and no plain
// thread waiting in a green primitive, cannot go on: nothing inside it can
// wake anybody, and (unless RuntimeOptions::detect_deadlock is off) we take
// it that nothing outside will. Go prints "all goroutines are asleep"; here
// Runtime::run throws DeadlockError listing every blocked task and what it
// waits for, instead of hanging.
//
// Who is blocked where. A task about to park in a primitive with no timeout
// (sleep_queued), or in a join, links a BlockedNode (in its Waiter, or its
// JoinWait) into the blocked list of the worker it parks on, and unlinks it
// when it wakes, wherever that is (the node remembers the list). A thread
// waiting in a join is in the wait-for graph (wait_graph.hpp).
//
// Who notices. The keeper (timers.hpp), when it would sleep with no deadline
// while every worker is idle and tasks are alive, sleeps kDeadlockCheck
// instead and looks again. If nothing has run meanwhile (the workers' switch
// and spawn counts are the same), there is still no timer, and no thread
// waits in a primitive, the runtime is deadlocked: the keeper writes the
// report and ends the wait of every thread joining one of its tasks
// (Runtime::run's caller among them), whose join then throws DeadlockError
// (JoinWait::finished). The last worker to go idle pokes the keeper, so the
// first look is at once: the error comes kDeadlockCheck after the last task
// blocked, or up to twice that.
//
// Afterwards the blocked tasks are abandoned: ~Runtime stops the workers
// without waiting for them, and their memory stays allocated (and reachable
// for leak checkers). Touching what they wait on (a release, a send) after
// that is a use after free of the runtime.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/timers.hpp>
#include <green/detail/waiter.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace green::detail {

inline constexpr std::int64_t kDeadlockCheck = 50'000'000;  // ns

struct alignas(64) BlockedList {  // one per worker
  SpinLock lock;
  BlockedNode* head = nullptr;    // under lock
};

struct Deadlocks {
  explicit Deadlocks(unsigned workers) : lists(workers) {}
  std::vector<BlockedList> lists;
  bool detect = true;                  // RuntimeOptions::detect_deadlock
  // The keeper's, while it suspects a deadlock: the progress count it saw
  // first, and when. Only the keeper (one at a time, under Timers::keeper)
  // touches them.
  bool suspect = false;
  std::uint64_t progress = 0;
  std::int64_t since = 0;
  std::atomic<bool> found{false};      // set once, after report is written
  std::string report;                  // DeadlockError's what(); written before found
};

Deadlocks& deadlocks_of(RuntimeImpl& rt) noexcept;  // event_source.cpp

// A task's untimed wait on worker w (sleep_queued, a join), before it parks:
// n says who and what for. And after it woke.
void note_blocked(Worker& w, BlockedNode& n) noexcept;
void note_unblocked(BlockedNode& n) noexcept;

// The keeper, about to sleep with no timer armed: the deadline of its next
// look (kNever: none needed). Declares the deadlock when it finds one.
std::int64_t watch_for_deadlock(Worker& keeper);

// The report of t's runtime, if it deadlocked while t had not ended; else "".
std::string deadlock_report(Task& t);

}  // namespace green::detail
