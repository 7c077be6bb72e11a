// TaskWordCell: a task's state, priority, stack class and flags, and the
// transitions the dispatcher makes:
//
//   Ready --start_running--> Running --stop_running (yield)--> Ready
//                            Running --park--> Waiting --unpark--> Ready
//                            Running --finish--> Done
//
// In stages 1-3 a task changes hands between threads only through a queue, a
// lock or park's callback, each of which orders the accesses, so these are
// plain fields. Stage 4 packs them into one 32-bit TaskWord and makes the
// cell atomic, so that a wake-up may race a park.
#pragma once
#include <green/detail/unimplemented.hpp>

#include <cstdint>

namespace green::detail {

enum class TaskState : std::uint8_t {
  Ready = 0,    // in a run queue, or about to be
  Running = 1,  // on a worker, right now
  Waiting = 2,  // parked: only an unpark makes it Ready again
  Done = 3,     // its function returned or threw; it never runs again
};

class TaskWordCell {
 public:
  // Before the task is shared (spawn). priority is validated already.
  void init(TaskState s, int priority, bool small) noexcept {
    // BEGIN SOLUTION
    state_ = s;
    priority_ = static_cast<std::uint8_t>(priority);
    small_ = small;
    // STUB: (void)s, (void)priority, (void)small;
    // STUB: unimplemented("stage 1: TaskWordCell::init (task_word.hpp) is yours to write");
    // END SOLUTION
  }
  TaskState state() const noexcept { return state_; }
  int priority() const noexcept { return priority_; }
  bool small_stack() const noexcept { return small_; }
  // The task has a name, in its block (task.hpp). Set once, before the task is shared.
  bool named() const noexcept { return named_; }
  void set_named() noexcept { named_ = true; }
  void set_priority(int p) noexcept { priority_ = static_cast<std::uint8_t>(p); }  // by the task itself
  // The latency sample (dispatcher.hpp's mark_runnable): set by whoever made
  // the task Ready, before it queues it; start_running takes it off and says
  // whether it was there.
  void set_sampled() noexcept { sampled_ = true; }
  bool start_running() noexcept {
    state_ = TaskState::Running;
    bool s = sampled_;
    sampled_ = false;
    return s;
  }
  void stop_running() noexcept { state_ = TaskState::Ready; }
  void finish() noexcept { state_ = TaskState::Done; }
  // On the loop, once the task has switched out to park. True: it now waits
  // for an unpark. (Stage 4: false when a wake-up came first.)
  bool park() noexcept {
    state_ = TaskState::Waiting;
    return true;
  }
  // By the waker. True: the task is Ready and the caller must queue it.
  bool unpark() noexcept {
    state_ = TaskState::Ready;
    return true;
  }

 private:
  TaskState state_ = TaskState::Ready;
  std::uint8_t priority_ = 0;
  bool small_ = false;
  bool sampled_ : 1 = false;
  bool named_ : 1 = false;
};
static_assert(sizeof(TaskWordCell) <= 4, "the TCB has 4 bytes for it");

}  // namespace green::detail
