// TaskWord: a task's state, priority and stack class packed in 32 bits.
//
//   bit  31 ........ 7 | 6           | 5 .. 2   | 1 .. 0
//        (reserved, 0) | small stack | priority | state
//
// One word, so later stages can read and change it with one atomic instruction.
#pragma once
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

  constexpr TaskWord() = default;
  constexpr TaskWord(TaskState s, int priority, bool small) noexcept
      : bits_(static_cast<std::uint32_t>(s) | (static_cast<std::uint32_t>(priority) << kPriorityShift) |
              (small ? kSmallMask : 0)) {}

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

}  // namespace green::detail
