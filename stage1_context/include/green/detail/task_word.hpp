// TaskWord: a task's state, priority and stack class packed in 32 bits.
//
//   bit  31 ........ 7 | 6           | 5 .. 2   | 1 .. 0
//        (reserved, 0) | small stack | priority | state
//
// One word, so later stages can read and change it with one atomic instruction.
//
// The TCB holds it in a TaskWordCell (below), which names the transitions the
// dispatcher makes. In stages 1-3 a task changes hands between threads only
// through a queue, a lock or park's callback, each of which orders the
// accesses, so the cell is a plain word. Stage 4 makes the cell atomic, so
// that a wake-up may race a park.
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

class TaskWord {
 public:
  static constexpr std::uint32_t kStateBits = 2, kPriorityShift = 2, kPriorityBits = 4, kSmallShift = 6;
  static constexpr std::uint32_t kStateMask = (1u << kStateBits) - 1;
  static constexpr std::uint32_t kPriorityMask = ((1u << kPriorityBits) - 1) << kPriorityShift;
  static constexpr std::uint32_t kSmallMask = 1u << kSmallShift;
  static constexpr std::uint32_t kUsedMask = kStateMask | kPriorityMask | kSmallMask;

  constexpr TaskWord() = default;
  constexpr TaskWord(TaskState s, int priority, bool small) noexcept {
    // BEGIN SOLUTION
    bits_ = static_cast<std::uint32_t>(s) | (static_cast<std::uint32_t>(priority) << kPriorityShift) |
            (small ? kSmallMask : 0);
    // STUB: (void)s, (void)priority, (void)small;
    // STUB: unimplemented_constexpr("stage 1: the TaskWord constructor (task_word.hpp) is yours to write");
    // END SOLUTION
  }

  constexpr TaskState state() const noexcept { return static_cast<TaskState>(bits_ & kStateMask); }
  constexpr int priority() const noexcept { return static_cast<int>((bits_ & kPriorityMask) >> kPriorityShift); }
  constexpr bool small_stack() const noexcept { return bits_ & kSmallMask; }
  constexpr std::uint32_t bits() const noexcept { return bits_; }

  constexpr TaskWord with_state(TaskState s) const noexcept {
    return TaskWord((bits_ & ~kStateMask) | static_cast<std::uint32_t>(s));
  }
  // priority must already be validated (kMinPriority..kMaxPriority).
  constexpr TaskWord with_priority(int p) const noexcept {
    return TaskWord((bits_ & ~kPriorityMask) | (static_cast<std::uint32_t>(p) << kPriorityShift));
  }
  constexpr bool operator==(const TaskWord&) const = default;

 private:
  constexpr explicit TaskWord(std::uint32_t bits) : bits_(bits) {}
  std::uint32_t bits_ = 0;
};

static_assert(sizeof(TaskWord) == 4);

// The word as the TCB holds it, and its transitions:
//
//   Ready --start_running--> Running --stop_running (yield)--> Ready
//                            Running --park--> Waiting --unpark--> Ready
//                            Running --finish--> Done
class TaskWordCell {
 public:
  TaskWord load() const noexcept { return w_; }
  void store(TaskWord w) noexcept { w_ = w; }  // before the task is shared (spawn)
  TaskState state() const noexcept { return w_.state(); }
  int priority() const noexcept { return w_.priority(); }
  bool small_stack() const noexcept { return w_.small_stack(); }
  void set_priority(int p) noexcept { w_ = w_.with_priority(p); }  // by the task itself

  void start_running() noexcept { w_ = w_.with_state(TaskState::Running); }
  void stop_running() noexcept { w_ = w_.with_state(TaskState::Ready); }
  void finish() noexcept { w_ = w_.with_state(TaskState::Done); }
  // On the loop, once the task has switched out to park. True: it now waits
  // for an unpark. (Stage 4: false when a wake-up came first.)
  bool park() noexcept {
    w_ = w_.with_state(TaskState::Waiting);
    return true;
  }
  // By the waker. True: the task is Ready and the caller must queue it.
  bool unpark() noexcept {
    w_ = w_.with_state(TaskState::Ready);
    return true;
  }

 private:
  TaskWord w_;
};

}  // namespace green::detail
