// A shared library of the tests' own (preempt_test.cpp, SafePoints*): it
// holds a lock of its own, not a pthread one, while it works, as a library's
// internal lock would be. A task preempted in here would keep that lock
// while it waits in a run queue; the runtime must leave it alone unless the
// program opts this library in.
#include <atomic>
#include <chrono>

namespace {
std::atomic<bool> g_locked{false};
}

// Holds the lock through ms milliseconds of work; returns how many times it
// found the lock taken (by a preempted holder) before it got it.
extern "C" long green_spinlib_hold(long ms) {
  long contended = 0;
  // acquire/release: an ordinary spin lock.
  while (g_locked.exchange(true, std::memory_order_acquire)) ++contended;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (unsigned i = 1;; ++i)
    if (i % 1024 == 0 && std::chrono::steady_clock::now() > until) break;
  g_locked.store(false, std::memory_order_release);
  return contended;
}
