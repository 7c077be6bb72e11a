// ReadyQueue: 16 priority levels, each an intrusive FIFO of Ready tasks, plus
// a 16-bit bitmap of the non-empty levels. push and pop are O(1): pop takes
// the highest set bit. Round robin within a level falls out of FIFO order.
// Single-threaded: the owner of the queue is the only one touching it.
#pragma once
#include <green/detail/unimplemented.hpp>
#include <green/detail/task.hpp>

#include <bit>
#include <cstdint>

namespace green::detail {

class ReadyQueue {
 public:
  static constexpr int kLevels = kMaxPriority + 1;
  static_assert(kLevels <= 16, "the bitmap is 16 bits");

  void push(Task* t) noexcept {
    // BEGIN SOLUTION
    int p = t->word.priority();
    t->next = nullptr;
    Level& l = levels_[p];
    (l.tail ? l.tail->next : l.head) = t;
    l.tail = t;
    bitmap_ |= static_cast<std::uint16_t>(1u << p);
    // STUB: (void)t;
    // STUB: unimplemented("stage 1: ReadyQueue::push is yours to write");
    // END SOLUTION
  }

  // The oldest task of the highest non-empty level, or nullptr.
  Task* pop() noexcept {
    // BEGIN SOLUTION
    if (!bitmap_) return nullptr;
    int p = std::bit_width(bitmap_) - 1;
    Level& l = levels_[p];
    Task* t = l.head;
    l.head = t->next;
    if (!l.head) {
      l.tail = nullptr;
      bitmap_ &= static_cast<std::uint16_t>(~(1u << p));
    }
    t->next = nullptr;
    return t;
    // STUB: unimplemented("stage 1: ReadyQueue::pop is yours to write");
    // END SOLUTION
  }

  bool empty() const noexcept { return bitmap_ == 0; }
  // Highest non-empty level, or -1.
  int top_priority() const noexcept { return std::bit_width(bitmap_) - 1; }
  std::uint16_t bitmap() const noexcept { return bitmap_; }

 private:
  struct Level {
    Task* head = nullptr;
    Task* tail = nullptr;
  };
  Level levels_[kLevels];
  std::uint16_t bitmap_ = 0;  // bit p set <=> levels_[p] is not empty
};

}  // namespace green::detail
