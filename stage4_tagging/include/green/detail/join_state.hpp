// JoinState, stage 4: the join slot is one tagged word.
//
// Stage 2 kept "is it done?", "which task waits?" and "which thread waits?"
// in three fields under a SpinLock. Here they are the states of one
// AtomicTaggedPtr<Task, 2>, and each side moves it with one atomic operation:
//
//   Empty  {nullptr}  nobody waits, not done         (initial)
//   Task   {joiner}   a task waits (it parks, or is about to)
//   Thread {nullptr}  an OS thread waits on the word (a futex)
//   Done   {nullptr}  the task ended                 (final)
//
//   joiner:  CAS Empty -> Task/Thread; if that fails the word is Done: return.
//   end:     exchange -> Done; whatever was there is the one waiter to wake.
//
// So the joiner can never see "not done" and then miss the wake-up: either
// its CAS lands first and the end's exchange returns the joiner, or the
// exchange lands first and the CAS fails. One joiner at most (TaskHandle is
// move-only), so the slot never holds two.
#pragma once
#include <green/detail/tagged_ptr.hpp>

namespace green::detail {

struct Task;

enum JoinTag : unsigned { kJoinEmpty = 0, kJoinTask = 1, kJoinThread = 2, kJoinDone = 3 };
using JoinState = AtomicTaggedPtr<Task, 2>;
using JoinWord = JoinState::Value;

// Blocks the calling OS thread until t has ended (for Scheduler::wait_from_thread).
void block_thread_until_done(Task* t);
// True once t's join has ended: t ended (or a deadlock ended its joins).
// Read by a thread that runs t's runtime while it waits (RuntimeImpl::lend).
bool join_ended(Task* t) noexcept;

}  // namespace green::detail
