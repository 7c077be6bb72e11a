// The timer heap alone, then the runtime's timers through sleep: never
// early, many at once, an earlier timer waking the keeper, a busy worker
// firing its own, and cancel racing fire.
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/green.hpp>
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using green::detail::Timer;
using green::detail::TimerHeap;
using Clock = std::chrono::steady_clock;

struct Recorder : Timer {
  std::vector<std::int64_t>* fired = nullptr;
};
void record(Timer* t) { static_cast<Recorder*>(t)->fired->push_back(t->deadline); }

TEST(TimerHeap, FiresInDeadlineOrderAndCancelLeavesNothingBehind) {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    const int n = 1 + static_cast<int>(rng() % 500);
    std::vector<std::int64_t> fired;
    std::vector<Recorder> ts(n);
    TimerHeap h;
    for (auto& t : ts) {
      t.deadline = 1 + static_cast<std::int64_t>(rng() % 1000);
      t.fire = record;
      t.fired = &fired;
      h.arm(&t);
    }
    std::vector<std::int64_t> kept;
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) ASSERT_TRUE(h.cancel(&ts[i])) << "an armed timer must cancel";
      else kept.push_back(ts[i].deadline);
    }
    ASSERT_EQ(h.size(), kept.size()) << "cancelled timers must leave the heap at once";
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(h.next(), kept.empty() ? green::detail::kNever : kept.front());
    EXPECT_EQ(h.fire_due(500), static_cast<int>(std::count_if(kept.begin(), kept.end(), [](auto d) { return d <= 500; })));
    h.fire_due(1000);
    EXPECT_EQ(fired, kept) << "timers must fire once each, earliest first, none early";
    EXPECT_EQ(h.size(), 0u);
    EXPECT_EQ(h.next(), green::detail::kNever);
    for (auto& t : ts) EXPECT_FALSE(h.cancel(&t)) << "a fired or cancelled timer is not armed";
  }
}

// Each task sleeps a random 0-20 ms and checks it did not wake early.
TEST(Sleep, NeverEarlyManyTasksRandomDurations) {
  green::Runtime rt({.workers = 2});
  std::atomic<int> early{0};
  const long n = green::test::scaled(2000, 50);
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (long i = 0; i < n; ++i)
      hs.push_back(green::spawn([&, i] {
        auto d = std::chrono::microseconds((i * 7919) % 20000);
        auto t0 = Clock::now();
        green::this_task::sleep_for(d);
        if (Clock::now() - t0 < d) early.fetch_add(1);
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(early.load(), 0) << "a sleep ended before its time";
}

// 100,000 tasks wait at a gate, then all sleep until one deadline, a second
// after the gate opens (time for every one of them to arm its timer): at the
// deadline they all come due at once, and the last must end soon after. The
// figure is the time from the deadline to the last end (4.5 us per task
// would be 0.45 s on 2 workers; a heap that degraded to a linear scan, or a
// worker that slept through due timers, takes seconds).
TEST(Sleep, HundredThousandSleepersFinishTogether) {
  green::Runtime rt({.workers = 2, .small_stack_size = 16 * 1024});
  // TSan keeps a thread state per live task and its clocks grow with them:
  // there, 500 sleepers already take seconds. ASan makes each task's stack
  // and block several times dearer: 10,000 there.
  const long n = GREEN_TSAN ? 500 : GREEN_ASAN ? 10'000 : green::test::scaled(100'000, 100);
  std::atomic<long> started{0}, armed{0}, early{0};
  std::atomic<Clock::rep> last_end{0};
  green::Semaphore all_started(0);
  green::Channel<int> gate;  // closed to open it
  Clock::time_point deadline;
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    hs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i)
      hs.push_back(green::spawn([&] {
        if (started.fetch_add(1) == n - 1) all_started.release();
        gate.recv();
        if (Clock::now() < deadline) armed.fetch_add(1);
        green::this_task::sleep_until(deadline);
        auto now = Clock::now();
        if (now < deadline) early.fetch_add(1);
        auto t = now.time_since_epoch().count();
        for (auto l = last_end.load(); t > l && !last_end.compare_exchange_weak(l, t);) {}
      }, {.small_stack = true}));
    all_started.acquire();
    // Written before the close publishes it. Valgrind: 2,000 tasks, slower.
    deadline = Clock::now() + (RUNNING_ON_VALGRIND ? 3000ms : 1000ms);
    gate.close();
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(early.load(), 0) << "a sleep ended before its deadline";
  EXPECT_EQ(armed.load(), n) << n - armed.load() << " of " << n
                             << " tasks passed the gate only after the deadline: too slow to test anything";
  auto spread = Clock::time_point(Clock::duration(last_end.load())) - deadline;
  std::printf("  %ld sleepers: the last ended %.1f ms after their common deadline\n", n,
              std::chrono::duration<double, std::milli>(spread).count());
  EXPECT_LT(spread, green::test::slack(1000ms))
      << n << " sleepers due together took " << std::chrono::duration<double>(spread).count()
      << " s past their deadline to end";
}

// The keeper sleeps until a far deadline; a nearer timer armed later must
// wake it (arm_timer's poke), or the near sleeper would wait for the far one.
TEST(Sleep, AnEarlierTimerWakesTheSleepingKeeper) {
  green::Runtime rt({.workers = 2});
  auto far = rt.spawn([] { green::this_task::sleep_for(1500ms); });
  std::this_thread::sleep_for(50ms);  // both workers idle: one keeps the timers until +1.5 s
  auto t0 = Clock::now();
  rt.run([] { green::this_task::sleep_for(20ms); });
  auto took = Clock::now() - t0;
  EXPECT_LT(took, green::test::slack(700ms)) << "a 20 ms sleep took " << std::chrono::duration<double>(took).count()
                      << " s: the keeper slept through the earlier timer";
  far.join();
}

// One worker that never runs dry: it must fire its own timers between tasks.
TEST(Sleep, ABusyWorkerFiresItsOwnTimers) {
  green::Runtime rt({.workers = 1, .time_slice = 0us});
  std::atomic<bool> stop{false};
  auto spinner = rt.spawn([&] {
    while (!stop.load()) green::this_task::yield();
  });
  auto t0 = Clock::now();
  rt.run([] { green::this_task::sleep_for(10ms); });
  auto took = Clock::now() - t0;
  stop = true;
  spinner.join();
  EXPECT_LT(took, green::test::slack(500ms)) << "a 10 ms sleep beside a yielding task took "
                         << std::chrono::duration<double>(took).count() << " s";
}

// A timer that fires on an idle worker makes one task Ready there, and that
// worker runs it next: waking the other worker too is futile, and on a
// 2-vCPU VM it made 1 ms sleeps wake 2-3 ms late (worker_loop.cpp's submit).
TEST(Sleep, ATimerFiredOnAnIdleWorkerWakesNoOtherWorker) {
  green::Runtime rt({.workers = 2, .time_slice = 0us});
  rt.run([] {});  // both workers have started and parked
  const auto before = rt.stats().wakeups;
  constexpr int kSleeps = 200;
  rt.run([] {
    for (int i = 0; i < kSleeps; ++i) green::this_task::sleep_for(1ms);
  });
  const auto woken = rt.stats().wakeups - before;
  // Each run() wakes a worker once to start it; the sleeps should add ~none.
  EXPECT_LT(woken, static_cast<std::uint64_t>(kSleeps / 10))
      << woken << " wake-ups of parked workers for " << kSleeps
      << " sleeps of one task: each fired timer woke another worker for nothing";
}

TEST(Sleep, OutsideATaskSleepsTheThread) {
  auto t0 = Clock::now();
  green::this_task::sleep_for(5ms);
  EXPECT_GE(Clock::now() - t0, 5ms);
  t0 = Clock::now();
  green::this_task::sleep_until(std::chrono::system_clock::now() + 5ms);
  EXPECT_GE(Clock::now() - t0, 4ms);  // system_clock may step; the steady one still moved
  green::this_task::sleep_for(-1s);   // nothing to wait for
  green::this_task::sleep_for(0s);
}

TEST(Sleep, ALocalSchedulerTaskSleepsItsThread) {
  green::LocalScheduler s;
  Clock::duration took{};
  s.spawn([&] {
    auto t0 = Clock::now();
    green::this_task::sleep_for(5ms);
    took = Clock::now() - t0;
  });
  s.run();
  EXPECT_GE(took, 5ms);
}

// Timers armed to fire now, cancelled from another thread while a worker
// fires them: each ends exactly once, by its fire or by a successful cancel.
TEST(TimerRace, CancelRacingFireEndsEachTimerOnce) {
  const long rounds = green::test::scaled(20'000, 200);
  struct Counted : Timer {
    std::atomic<int>* fires;
  };
  std::atomic<int> fires{0};
  int cancels = 0;
  std::vector<Counted> ts(static_cast<std::size_t>(rounds));  // outlives the runtime's heaps
  std::atomic<long> armed{0};
  green::Runtime rt({.workers = 2});
  rt.run([&] {
    green::detail::Worker* w = green::detail::current_worker();
    ASSERT_NE(w, nullptr);
    for (auto& t : ts) {
      t.fires = &fires;
      t.fire = [](Timer* x) { static_cast<Counted*>(x)->fires->fetch_add(1); };
      t.deadline = green::detail::now_ns();
    }
    std::thread canceller([&] {
      for (long i = 0; i < rounds; ++i) {
        while (armed.load(std::memory_order_acquire) <= i) {}
        if (ts[i].heap->cancel(&ts[i])) ++cancels;
      }
    });
    for (long i = 0; i < rounds; ++i) {
      {
        green::detail::PreemptOff off;  // stay on this worker while arming on its heap
        green::detail::arm_timer(*green::detail::current_worker(), &ts[i]);
      }
      armed.store(i + 1, std::memory_order_release);
      if (i % 16 == 0) green::this_task::yield();  // between tasks the worker fires what is due
    }
    canceller.join();
  });
  // The last ones fire on an idle worker.
  for (auto t0 = Clock::now(); fires.load() + cancels < rounds && Clock::now() - t0 < 5s;) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(fires.load() + cancels, rounds) << fires.load() << " fired, " << cancels << " cancelled";
}

}  // namespace
