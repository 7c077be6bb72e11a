// Event: a one-shot signal with at most one waiter, a task or a plain thread.
// TaskGroup::wait and Future::wait sleep on one.
//
// The word is the whole state, moved by one atomic operation on each side
// (the join slot of stage 4 again, detail/join_state.hpp):
//
//   0            not set, nobody waits              (initial, and after reset)
//   kSet         set                                (final until reset)
//   Task*        a task waits (it parks, or is about to)
//   Parker* | 2  a thread waits on its Parker (phase 4, detail/waiter.hpp)
//
//   waiter:  CAS 0 -> itself, then sleep; a failed CAS saw kSet: return.
//   set:     exchange -> kSet; what was there is the one sleeper to wake.
//
// After its exchange, set() touches only the sleeper (its TCB, or its
// thread's Parker, which is never freed), never the Event: a waiter may
// return and free the Event the moment the exchange lands.
#pragma once
#include <atomic>
#include <cstdint>

namespace green::detail {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Returns once set() has been called. One waiter at a time.
  void wait();
  // Once per reset. Wakes the waiter, if there is one.
  void set() noexcept;
  // acquire: pairs with set()'s release; the caller sees what the setter did.
  bool is_set() const noexcept { return word_.load(std::memory_order_acquire) == kSet; }
  // Back to "not set"; only while nobody waits (the owner's, after its wait).
  void reset() noexcept { word_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr std::uintptr_t kSet = 1, kThread = 2;
  std::atomic<std::uintptr_t> word_{0};
};

}  // namespace green::detail
