// SharedMutex: many readers or one writer (phase 4); works with
// std::shared_lock and std::unique_lock, from tasks and plain threads.
//
// A waiting writer is not starved: once a writer waits, new readers queue
// behind it (as in Go's RWMutex). When a writer unlocks, the readers that
// queued meanwhile all go in together, then the next writer: neither side
// starves the other. The lock passes to the woken (hand-off), so a woken
// waiter never has to try again.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>

#include <cstddef>

namespace green {

class SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock();
  bool try_lock();
  void unlock();
  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

 private:
  // All under guard_: the critical sections are a few instructions.
  detail::SpinLock guard_;
  std::size_t readers_ = 0;   // holding it shared
  bool writer_ = false;       // holding it exclusively
  detail::WaitList readers_waiting_{"green::SharedMutex (to read)", this};
  detail::WaitList writers_waiting_{"green::SharedMutex (to write)", this};
};

}  // namespace green
