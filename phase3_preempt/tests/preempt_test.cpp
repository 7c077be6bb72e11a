// Timer-signal preemption: a task that never yields cannot keep its worker.
#include <green/detail/preempt_signal.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using green::detail::preempt_stats;
using Clock = std::chrono::steady_clock;

std::uint64_t ticks() { return preempt_stats().ticks; }

// Spins without yielding until told to stop, or until a watchdog runs out (so
// that a runtime that never preempts fails the test instead of hanging it).
void spin_until(const std::atomic<bool>& stop, std::chrono::seconds watchdog = 20s) {
  auto give_up = Clock::now() + watchdog;
  while (!stop.load(std::memory_order_relaxed))
    if (Clock::now() > give_up) return;
}

TEST(Preempt, SpinningTaskDoesNotStarveAnotherWithinThreeSlices) {
  green::Runtime rt({.workers = 1, .time_slice = 1ms});
  for (int trial = 0; trial < 20; ++trial) {
    std::atomic<bool> stop{false}, spinning{false};
    std::uint64_t t0 = 0;
    rt.run([&] {
      auto spinner = green::spawn([&] {
        t0 = ticks();
        spinning.store(true, std::memory_order_relaxed);
        spin_until(stop);
      });
      // One worker: the spinner can only start when we switch out, and we
      // can only run again if the timer takes the worker back from it.
      while (!spinning.load(std::memory_order_relaxed)) green::this_task::yield();
      std::uint64_t waited = ticks() - t0;
      bool preempted = !stop.load();
      stop.store(true);
      spinner.join();
      ASSERT_TRUE(preempted);
      EXPECT_LE(waited, 3u) << "ticks (1 ms slices) before the other task ran again; deferred so far " << preempt_stats().deferred;
    });
  }
}

}  // namespace
