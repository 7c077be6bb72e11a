// SharedMutex. See include/green/shared_mutex.hpp and detail/waiter.hpp.
#include <green/shared_mutex.hpp>

#include <cstdio>
#include <cstdlib>

namespace green {

using detail::PreemptOff;

[[noreturn, maybe_unused]] static void misuse(const char* what) {  // (unused in a starter tree)
  std::fprintf(stderr, "green::SharedMutex::%s\n", what);
  std::abort();
}

bool SharedMutex::try_lock() {
  PreemptOff no_preempt;
  std::lock_guard lk(guard_);
  if (writer_ || readers_) return false;
  writer_ = true;
  return true;
}

void SharedMutex::lock() {
  detail::Waiter me;
  PreemptOff no_preempt;
  guard_.lock();
  // BEGIN SOLUTION
  if (!writer_ && !readers_) {
    writer_ = true;
    return guard_.unlock();
  }
  writers_waiting_.push_back(&me);
  detail::sleep_queued(me, guard_, writers_waiting_, detail::kNever);  // woken = the lock is ours
  // STUB: detail::unimplemented("phase 4: SharedMutex::lock (shared_mutex.cpp) is yours to write");
  // END SOLUTION
}

bool SharedMutex::try_lock_shared() {
  PreemptOff no_preempt;
  std::lock_guard lk(guard_);
  if (writer_ || !writers_waiting_.empty()) return false;
  ++readers_;
  return true;
}

void SharedMutex::lock_shared() {
  detail::Waiter me;
  PreemptOff no_preempt;
  guard_.lock();
  // BEGIN SOLUTION
  if (!writer_ && writers_waiting_.empty()) {  // a waiting writer goes first
    ++readers_;
    return guard_.unlock();
  }
  readers_waiting_.push_back(&me);
  detail::sleep_queued(me, guard_, readers_waiting_, detail::kNever);  // woken = counted in readers_
  // STUB: detail::unimplemented("phase 4: SharedMutex::lock_shared (shared_mutex.cpp) is yours to write");
  // END SOLUTION
}

void SharedMutex::unlock() {
  for (bool first = true;; first = false) {
    PreemptOff no_preempt;
    detail::Wakeups wake;  // delivered after guard_ is released
    guard_.lock();
    // BEGIN SOLUTION
    if (first) {
      if (!writer_) {
        guard_.unlock();
        misuse("unlock: not locked exclusively");
      }
      writer_ = false;
      // The readers that queued behind us go first, then the next writer.
      if (readers_waiting_.empty()) {
        if (detail::Waiter* w = writers_waiting_.pop_front()) {
          writer_ = true;
          wake.add(w);
        }
      }
    }
    // Admit the waiting readers, a batch at a time (they were counted in).
    while (!wake.full() && !readers_waiting_.empty() && !writer_) {
      ++readers_;
      wake.add(readers_waiting_.pop_front());
    }
    bool more = !writer_ && !readers_waiting_.empty();
    // STUB: bool more = false;
    // STUB: (void)first;
    // STUB: detail::unimplemented("phase 4: SharedMutex::unlock (shared_mutex.cpp) is yours to write");
    // END SOLUTION
    guard_.unlock();
    if (!more) return;
  }
}

void SharedMutex::unlock_shared() {
  PreemptOff no_preempt;
  detail::Wakeups wake;
  guard_.lock();
  // BEGIN SOLUTION
  if (!readers_) {
    guard_.unlock();
    misuse("unlock_shared: not locked shared");
  }
  if (--readers_ == 0)
    if (detail::Waiter* w = writers_waiting_.pop_front()) {
      writer_ = true;
      wake.add(w);
    }
  // STUB: detail::unimplemented("phase 4: SharedMutex::unlock_shared (shared_mutex.cpp) is yours to write");
  // END SOLUTION
  guard_.unlock();
}

}  // namespace green
