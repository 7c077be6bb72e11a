// JoinState, stage 2: joins across threads. The joiner and the end of the
// task now run on different threads, so "is it done?" and "who waits?" must
// be decided together: a SpinLock guards both. Without it, the joiner could
// check done == false, the task could end and find no joiner, and then the
// joiner would park forever (a lost wake-up).
// (Stage 4 replaces the lock and the two fields with one tagged word.)
#pragma once
#include <green/detail/spin_lock.hpp>

namespace green::detail {

struct Task;
struct ThreadWaiter;  // join.cpp: an OS thread blocked in join()

struct JoinState {
  SpinLock lock;                  // guards the three fields below
  bool done = false;              // set once, by notify_done
  Task* joiner = nullptr;         // a task parked in join()
  ThreadWaiter* thread = nullptr; // or a thread blocked in join()
};

// Blocks the calling OS thread until t has ended (for Scheduler::wait_from_thread).
void block_thread_until_done(Task* t);
// True once t's join has ended: t ended (or a deadlock ended its joins).
// Read by a thread that runs t's runtime while it waits (RuntimeImpl::lend).
bool join_ended(Task* t) noexcept;

}  // namespace green::detail
