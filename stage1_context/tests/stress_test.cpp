// Stress: many tasks, many yields, many live at once.
#include <green/detail/sanitizers.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

using green::LocalScheduler;
using green::TaskHandle;
using green::test::scaled;

TEST(Stress, HundredThousandTasksSpawnedAndJoined) {
  const long n = scaled(100'000);
  LocalScheduler s;
  long sum = 0;
  s.spawn([&] {
    for (long i = 0; i < n; ++i) {
      TaskHandle h = green::spawn([&sum, i] { sum += i; });
      h.join();
    }
  });
  s.run();
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

// Not scaled: the Valgrind smoke test runs it too and must report 0 leaks
// after 100,000 tasks, each using the heap-backed parts of a task (a long
// name, an exception in one of a thousand).
TEST(Stress, HundredThousandTasksLeakNothing) {
  const long n = GREEN_TSAN ? 10'000 : 100'000;  // TSan: a fiber per task, 10x slower
  LocalScheduler s;
  long ended = 0, caught = 0;
  s.spawn([&] {
    for (long i = 0; i < n; ++i) {
      TaskHandle h = green::spawn(
          [&, i] {
            ++ended;
            if (i % 1000 == 0) throw std::runtime_error("x");
          },
          {.name = "a task name longer than fifteen characters"});
      try {
        h.join();
      } catch (const std::runtime_error&) {
        ++caught;
      }
    }
  });
  s.run();
  EXPECT_EQ(ended, n);
  EXPECT_EQ(caught, n / 1000);
}

// 1,000 tasks x 1,000 yields: each round, every task runs once, in spawn order.
TEST(Stress, RoundRobinOrderHoldsOverAMillionYields) {
  const long tasks = scaled(1000), rounds = scaled(1000);
  LocalScheduler s;
  std::vector<int> trace;
  trace.reserve(static_cast<std::size_t>(tasks * rounds));
  for (long t = 0; t < tasks; ++t)
    s.spawn([&, t] {
      for (long r = 0; r < rounds; ++r) {
        trace.push_back(static_cast<int>(t));
        green::this_task::yield();
      }
    });
  s.run();
  ASSERT_EQ(static_cast<long>(trace.size()), tasks * rounds);
  for (std::size_t i = 0; i < trace.size(); ++i)
    ASSERT_EQ(trace[i], static_cast<int>(static_cast<long>(i) % tasks)) << "round-robin order broken at step " << i;
}

// 10,000 tasks alive at the same time, each on a guarded stack of its own
// (stage 1's source allows about 16,000, the guard budget; stage 4's slabs
// take 100,000 and more, stack_source_test.cpp).
TEST(Stress, TenThousandLiveTasks) { green::test::run_all_live_at_once(scaled(10'000)); }

TEST(Stress, NestedSpawnsWithRandomYields) {
  LocalScheduler s;
  long leaves = 0;
  unsigned seed = 12345;
  auto rnd = [&seed] { return (seed = seed * 1103515245u + 12345u) >> 16; };
  std::function<void(int)> node = [&](int depth) {
    if (rnd() % 3 == 0) green::this_task::yield();
    if (depth == 0) {
      ++leaves;
      return;
    }
    std::vector<TaskHandle> kids;
    for (int i = 0; i < 4; ++i) kids.push_back(green::spawn([&, depth] { node(depth - 1); }));
    for (auto& k : kids) k.join();
  };
  const int depth = scaled(1000) >= 1000 ? 6 : 3;
  s.spawn([&] { node(depth); });
  s.run();
  EXPECT_EQ(leaves, 1L << (2 * depth));
}

}  // namespace
