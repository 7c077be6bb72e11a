// Waiter: one task or OS thread waiting in a primitive's wait list. Every
// primitive of phase 4 (Mutex, CondVar, SharedMutex, Semaphore, Barrier) is
// a small state guarded by a SpinLock plus WaitLists of these.
//
// A Waiter lives on its waiter's stack, from before it is queued until its
// wait returns. Its state is decided by one compare-exchange:
//
//   Waiting --claim (a waker, under the primitive's lock)--> Woken
//   Waiting --its timeout (timer or futex timeout)-------> TimedOut
//
// so a wake-up and a timeout can race and exactly one wins. The waker claims
// under the primitive's lock and delivers (unpark, futex wake) after
// releasing it (Wakeups): no system call under a spin lock. After a claim the
// waker touches the Waiter no more: a thread may return at once, so it sleeps
// on its thread's Parker, which outlives any one wait, not on the Waiter; a
// task cannot return before the unpark it was promised. A timed-out waiter takes the
// lock and unlinks itself if it is still queued (`queued`, under the lock).
//
// Announce-then-park: a task is queued (announced) under PreemptOff and
// parks before that is released (TaskWordCell's invariant); if the waker is
// quicker than the park, the task word's woken bit keeps the wake-up.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/task.hpp>
#include <green/detail/timers.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace green::detail {

class WaitList;
struct Worker;

// A blocked task's entry in its worker's blocked list, for the global
// deadlock report (deadlock.hpp): who waits, and for what (a primitive's
// list, or a task to join). Under that list's lock.
struct BlockedNode {
  Task* task = nullptr;
  const WaitList* on = nullptr;     // a primitive's wait list, or
  const Task* joining = nullptr;    // the task it joins
  Worker* in = nullptr;             // whose list holds it; nullptr: none
  BlockedNode* next = nullptr;
  BlockedNode* prev = nullptr;
};

// What a plain thread sleeps on. A waker's futex wake may come after the
// wait it was for has returned (even after its thread has exited), so
// Parkers are never freed: a thread takes one from a pool at its first wait
// and gives it back when it exits. A late wake then lands on live memory; at
// worst it costs the Parker's next wait one more look at its Waiter.
struct Parker {
  std::atomic<std::uint32_t> gen{0};  // bumped before each wake (the futex word)
  Parker* next = nullptr;             // in the pool
  Parker* made = nullptr;             // in the list of every Parker
};
Parker* thread_parker() noexcept;  // the calling thread's

struct Waiter {
  enum : std::uint32_t { kWaiting = 0, kWoken = 1, kTimedOut = 2 };

  Waiter* next = nullptr;             // links: the list's, under the primitive's lock
  Waiter* prev = nullptr;
  bool queued = false;                // in a list; under the primitive's lock
  bool handoff = false;               // Mutex: the lock came with the wake-up
  Task* const task = current_task();  // nullptr: an OS thread, sleeping on `parker`
  Parker* const parker = task ? nullptr : thread_parker();
  std::int64_t since = 0;             // when it first queued (Mutex's starvation guard)
  std::atomic<std::uint32_t> state{kWaiting};
  BlockedNode blocked;                // while a task sleeps untimed (deadlock.hpp)

  // The waker's CAS. acq_rel: release publishes what the waker did under the
  // lock (a handed-over permit) to the waiter's acquire load; acquire pairs
  // with the waiter's queueing.
  bool claim() noexcept {
    std::uint32_t w = kWaiting;
    return state.compare_exchange_strong(w, kWoken, std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  // The waiter's own CAS on timeout; acq_rel mirrors claim.
  bool time_out() noexcept {
    std::uint32_t w = kWaiting;
    return state.compare_exchange_strong(w, kTimedOut, std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  // Before queueing again (a Mutex waiter that lost the race after a wake-up).
  void rearm() noexcept {
    handoff = false;
    state.store(kWaiting, std::memory_order_relaxed);  // nobody else sees it until it is queued
  }
};

// An intrusive FIFO of Waiters; the primitive's lock guards it. It knows its
// primitive, for the deadlock report: what (its type and role), owner (its
// address) and, for a Mutex, who holds it.
class WaitList {
 public:
  explicit WaitList(const char* what, const void* owner,
                    const void* (*holder)(const void* owner) noexcept = nullptr) noexcept
      : what(what), owner(owner), holder(holder) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  const char* const what;
  const void* const owner;
  const void* (*const holder)(const void* owner) noexcept;

  bool empty() const noexcept { return !head_; }
  std::size_t size() const noexcept { return size_; }
  Waiter* front() const noexcept { return head_; }
  void push_back(Waiter* w) noexcept;
  void push_front(Waiter* w) noexcept;
  Waiter* pop_front() noexcept;
  void remove(Waiter* w) noexcept;
  // Moves every waiter of o here (this list is empty); o is left empty.
  void take_all(WaitList& o) noexcept {
    head_ = o.head_, tail_ = o.tail_, size_ = o.size_;
    o.head_ = o.tail_ = nullptr, o.size_ = 0;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Waiters claimed under a primitive's lock, woken once it is released.
class Wakeups {
 public:
  static constexpr int kMax = 32;
  // Unlinked w: claims it. False if its timeout won (it is not ours to wake).
  bool add(Waiter* w) noexcept;
  bool full() const noexcept { return n_ == kMax; }
  // Outside the lock: unpark each task, wake each thread.
  void deliver() noexcept;
  ~Wakeups() { deliver(); }

 private:
  struct Item {
    Task* task;
    Parker* parker;
  } items_[kMax];
  int n_ = 0;
};

// The waiting half of every primitive. The caller holds PreemptOff and
// `guard`, and has queued `me` in `list`. This releases guard, calls
// then(arg) if given (CondVar unlocks its mutex there), and sleeps until me
// is claimed (true) or `deadline` (now_ns() units; kNever: none) passes
// (false; me is then unlinked). A task parks; a thread sleeps on me.state.
bool sleep_queued(Waiter& me, SpinLock& guard, WaitList& list, std::int64_t deadline,
                  void (*then)(void*) = nullptr, void* arg = nullptr);

// A timed wait needs timers: a Runtime's task or a plain thread has them; a
// LocalScheduler task does not (std::logic_error naming `what`).
void require_timers(const char* what);

// Who is calling: its Task, or a tag unique to its thread. Mutex owners.
const void* self_id() noexcept;

// How many plain threads are waiting in a primitive right now (a runtime
// whose tasks are all blocked is not deadlocked while one is: deadlock.hpp).
int threads_waiting() noexcept;

}  // namespace green::detail
