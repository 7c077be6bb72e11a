// Work stealing in the runtime: idle workers take work from busy ones.
#include <green/green.hpp>
#include <green/detail/sanitizers.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>
#include <valgrind/valgrind.h>

#include <atomic>
#include <exception>
#include <functional>
#include <set>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <mutex>
#include <vector>

namespace {

using green::Runtime;
using green::TaskHandle;
using green::test::scaled;

// splitmix64: a well-mixed hash, so each node's random choices are independent.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// All work is spawned by one task; both workers end up running it.
// Valgrind runs one thread at a time: nothing forces a steal there.
TEST(StealingNoValgrind, WorkSpawnedByOneTaskRunsOnBothWorkers) {
  Runtime rt({.workers = 2});
  std::mutex m;
  std::set<long> threads;
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 500; ++i)  // fewer than a deque holds: none overflows to the global queue
      hs.push_back(green::spawn([&] {
        volatile double x = 1;
        for (int k = 0; k < 20000; ++k) x = x * 1.000001 + 1e-9;  // some real work
        std::lock_guard lk(m);
        threads.insert(syscall(SYS_gettid));
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_GT(rt.stats().steals, 0u) << "the idle worker never stole";
  EXPECT_EQ(threads.size(), 2u) << "the tasks ran on only one worker";
}

// Nested spawns, random yields, joins across workers: some 65,000 tasks.
// Yielded tasks wait behind the deque, so the tree grows wide and many tasks
// are live at once: 200,000 leaves needed more than the ~16,000 live stacks
// of stage 1's guard budget (stack.hpp) here; stage 4's slabs take far
// more (StackSource.HundredThousandLiveTasks). TSan keeps a thread state per
// live task: 10x fewer there (on top of scaled()'s 10x).
TEST(Stealing, NestedSpawnsRandomYieldsJoins) {
  Runtime rt({.workers = 2});
  const long leaves_wanted = scaled(GREEN_TSAN ? 5'000 : 50'000, 1000);
  std::atomic<long> leaves{0}, yields{0};
  // A tree with fan-out 4 (fewer near the bottom) down to one leaf per task.
  std::function<void(long, std::uint64_t)> node = [&](long n, std::uint64_t seed) {
    if (mix(seed) % 16 == 0) {
      yields.fetch_add(1, std::memory_order_relaxed);
      green::this_task::yield();
    }
    if (n <= 1) {
      leaves.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    TaskHandle kids[4];
    long k = n < 4 ? n : 4, part = n / k;
    for (long i = 0; i < k; ++i) {
      long m = i < k - 1 ? part : n - (k - 1) * part;  // every child gets >= 1 leaf
      kids[i] = green::spawn([&node, m, s = mix(seed + static_cast<std::uint64_t>(i) + 1)] { node(m, s); });
    }
    // Join every child even if one throws (std::bad_alloc, out of stacks):
    // a child left running would outlive this frame and the test's.
    std::exception_ptr first;
    for (long i = 0; i < k; ++i) try {
        kids[i].join();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    if (first) std::rethrow_exception(first);
  };
  rt.run([&] { node(leaves_wanted, 1); });
  EXPECT_EQ(leaves.load(), leaves_wanted);
  EXPECT_GT(yields.load(), 0);
  auto st = rt.stats();
  EXPECT_GE(st.spawned, static_cast<std::uint64_t>(leaves_wanted));
  if (!RUNNING_ON_VALGRIND) {
    EXPECT_GT(st.steals, 0u);
  }
}

// Fine-grained fork-join: fib with both children spawned as tasks.
long fib(int n) {
  if (n < 2) return n;
  long a = 0, b = 0;
  TaskHandle x = green::spawn([&] { a = fib(n - 1); });
  TaskHandle y = green::spawn([&] { b = fib(n - 2); });
  x.join();
  y.join();
  return a + b;
}

TEST(Stealing, FineGrainedFib) {
  Runtime rt({.workers = 2});
  int n = scaled(1000) >= 1000 ? 22 : 12;
  long expect[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765, 10946, 17711};
  EXPECT_EQ(rt.run([&] { return fib(n); }), expect[n]);
}

// One task spawns far more than its deque holds: the older halves overflow
// to the global queue and come back out in batches (take_global), moved to
// the deques and, on 2 workers, stolen from there, mixed with tasks of other
// priorities, which pass through the global queue one at a time. Each task
// runs exactly once, the lower priority ones too. On 1 worker nothing runs
// while the spawner spawns, so most tasks overflow; on 2 the thief may keep
// up, or not.
TEST(Stealing, OverflowComesBackOutOfTheGlobalQueueInBatches) {
  for (unsigned workers : {1u, 2u}) {
    SCOPED_TRACE(testing::Message() << workers << " worker(s)");
    Runtime rt({.workers = workers});
    const long n = scaled(40'000, 5'000);
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
    rt.run([&] {
      std::vector<TaskHandle> hs;
      for (long i = 0; i < n; ++i) {
        int prio = i % 97 == 0   ? green::kDefaultPriority - 1
                   : i % 89 == 0 ? green::kDefaultPriority + 1
                                 : green::kDefaultPriority;
        hs.push_back(green::spawn(
            [&runs, i] {
              runs[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
              if (i % 13 == 0) green::this_task::yield();
            },
            {.priority = prio, .small_stack = true}));
      }
      for (auto& h : hs) h.join();
    });
    for (long i = 0; i < n; ++i) ASSERT_EQ(runs[static_cast<std::size_t>(i)].load(), 1) << "task " << i;
    if (workers == 1) {
      EXPECT_GT(rt.stats().global_pushes, static_cast<std::uint64_t>(n) / 2)
          << "the deque hardly overflowed: the test tests little";
    }
  }
}

TEST(Stealing, StatsCountSpawnsSwitchesAndParks) {
  Runtime rt({.workers = 2});
  rt.run([] {
    for (int i = 0; i < 100; ++i) green::spawn([] {}).join();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the workers go idle
  auto st = rt.stats();
  EXPECT_EQ(st.spawned, 101u) << "100 tasks and main";
  EXPECT_GE(st.switches, 101u);
  EXPECT_GT(st.parks, 0u) << "idle workers must have parked";
}

// Many short bursts from outside: a parked runtime must wake for each.
TEST(Stealing, NoLostWakeupsAcrossIdlePeriods) {
  Runtime rt({.workers = 2});
  for (long i = 0; i < scaled(2000, 50); ++i) {
    std::atomic<int> x{0};
    rt.spawn([&] { x = 1; }).join();
    ASSERT_EQ(x.load(), 1);
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace
