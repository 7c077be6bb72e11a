// Runtime: the public API across workers.
#include <green/detail/dispatcher.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>
#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using green::Runtime;
using green::RuntimeOptions;
using green::TaskHandle;
using green::test::scaled;

TEST(Runtime, RunReturnsMainsResult) {
  Runtime rt({.workers = 2});
  EXPECT_EQ(rt.workers(), 2u);
  EXPECT_EQ(rt.run([] { return 6 * 7; }), 42);
  EXPECT_EQ(rt.run([] { return std::string("twice"); }), "twice") << "run can be called again";
  int x = 0;
  rt.run([&] { x = 1; });
  EXPECT_EQ(x, 1);
}

TEST(Runtime, RunRethrowsMainsException) {
  Runtime rt({.workers = 2});
  EXPECT_THROW(rt.run([]() -> int { throw std::out_of_range("main"); }), std::out_of_range);
}

TEST(Runtime, DefaultsToOneWorkerPerCpu) {
  Runtime rt;
  EXPECT_EQ(rt.workers(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(Runtime, BadOptionsAreInvalidArgument) {
  EXPECT_THROW(Runtime({.stack_size = 0}), std::invalid_argument);
  EXPECT_THROW(Runtime({.small_stack_size = std::size_t{1} << 40}), std::invalid_argument);
  EXPECT_THROW(Runtime({.workers = 100000}), std::invalid_argument);
  EXPECT_THROW(Runtime({.time_slice = std::chrono::microseconds(-1)}), std::invalid_argument);
}

TEST(Runtime, SpawnFromManyThreadsAndJoinFromThreads) {
  Runtime rt({.workers = 2});
  std::atomic<long> sum{0};
  const long per_thread = scaled(2000);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&] {
      std::vector<TaskHandle> hs;
      for (long i = 0; i < per_thread; ++i) hs.push_back(rt.spawn([&sum, i] { sum.fetch_add(i); }));
      for (auto& h : hs) h.join();  // a thread blocks
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 4 * per_thread * (per_thread - 1) / 2);
}

TEST(Runtime, TasksSpawnAndJoinAcrossWorkers) {
  Runtime rt({.workers = 2});
  std::function<long(int)> fib = [&](int n) -> long {
    if (n < 2) return n;
    long a = 0;
    TaskHandle h = green::spawn([&] { a = fib(n - 1); });
    long b = fib(n - 2);
    h.join();
    return a + b;
  };
  EXPECT_EQ(rt.run([&] { return fib(18); }), 2584);
  EXPECT_GT(rt.stats().spawned, 4000u);
}

// Two spawns from a plain thread while a worker is spinning: producers that
// see a spinner wake nobody, so the spinner, on taking the first task, must
// hand the looking on; otherwise the second waits, queued, with the other
// worker asleep, for as long as the first runs (here: for ever). A lost
// wake-up that a whole CI run once hung on; before the fix, 56-1,934 rounds
// of this reproduced it.
TEST(Runtime, TwoSpawnsFromAThreadBothRunWhileEachHoldsItsWorker) {
  Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(0)});
  const int rounds = static_cast<int>(scaled(200, 5));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<bool> gate{false};
    std::atomic<int> busy{0};
    auto hold = [&] {
      busy.fetch_add(1);
      while (!gate.load()) __builtin_ia32_pause();
    };
    TaskHandle h1 = rt.spawn(hold), h2 = rt.spawn(hold);
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (busy.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    const bool both = busy.load() == 2;
    EXPECT_TRUE(both) << "round " << r << ": a spawned task stayed queued while a worker slept";
    gate = true;
    h1.join();
    h2.join();
    if (!both) break;
  }
}

// completed counts the ends as spawned counts the starts: equal once the
// runtime is quiet (main's own end is counted just after run() wakes).
TEST(Runtime, StatsCountEveryTaskThatEnded) {
  Runtime rt({.workers = 2});
  rt.run([] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 1000; ++i) hs.push_back(green::spawn([] { green::this_task::yield(); }));
    for (int i = 0; i < 500; ++i) hs[i].join();
  });
  green::RuntimeStats s = rt.stats();
  for (auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       s.completed != s.spawned && std::chrono::steady_clock::now() < give_up; s = rt.stats())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(s.spawned, 1001u) << "1,000 tasks and main";
  EXPECT_EQ(s.completed, s.spawned) << "a quiet runtime has completed every task it spawned";
}

// A worker that ran dry sleeps (parks) and is woken by whoever brings work:
// with one worker, each run() from a plain thread, made once the worker is
// asleep again, wakes it once.
TEST(Runtime, StatsCountParksAndWakeUps) {
  Runtime rt({.workers = 1});
  for (unsigned i = 0; i < 5; ++i) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rt.stats().parks < i + 1 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // asleep (again)
    rt.run([] {});
  }
  green::RuntimeStats s = rt.stats();
  EXPECT_EQ(s.wakeups, 5u) << "each of the 5 runs woke the sleeping worker; parks " << s.parks;
  EXPECT_LE(s.wakeups, s.parks) << "a worker is woken at most once per sleep";
}

// The runnable-to-running histogram times one wait in 64: every start of a
// task follows one mark (spawn, unpark, yield), so the samples are the
// switches over 64, give or take one countdown per thread that marked.
TEST(Runtime, LatencyHistogramTimesOneWaitIn64) {
  ASSERT_EQ(green::detail::latency_sample_period(), 64u);
  Runtime rt({.workers = 1});
  rt.run([] {
    auto a = green::spawn([] {
      for (int i = 0; i < 32'000; ++i) green::this_task::yield();
    });
    for (int i = 0; i < 32'000; ++i) green::this_task::yield();
    a.join();
  });
  green::RuntimeStats s = rt.stats();
  double expect = static_cast<double>(s.switches) / 64;
  EXPECT_NEAR(static_cast<double>(s.latency_samples()), expect, 3.0) << s.switches << " switches";
  EXPECT_LT(s.latency_quantile_ns(0.5), 1'000'000u) << "a yield's wait is far below a millisecond";
}

// A task that waits 20 ms for its worker (the running task does not yield)
// lands in a bucket of 8 ms or more. Every wait timed (period 1).
TEST(Runtime, LatencyHistogramShowsALongWait) {
  green::detail::set_latency_sample_period(1);
  Runtime rt({.workers = 1});
  rt.run([] {
    for (int i = 0; i < 100; ++i) green::this_task::yield();  // every thread's countdown at 1
    auto waits = green::spawn([] {});
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < until) {}  // (a preemptive stage takes the worker at 10 ms)
    waits.join();
  });
  green::detail::set_latency_sample_period(64);
  green::RuntimeStats s = rt.stats();
  std::uint64_t long_ones = 0;
  for (int b = 23; b < green::RuntimeStats::kLatencyBuckets; ++b) long_ones += s.latency[b];
  EXPECT_GE(long_ones, 1u) << "the spawned task waited >= 10 ms; p100 " << s.latency_quantile_ns(1.0) << " ns";
  EXPECT_GE(s.latency_quantile_ns(1.0), std::uint64_t{1} << 24);
}

TEST(Runtime, SpawnInATaskGoesToTheLocalQueue) {
  Runtime rt({.workers = 1});
  rt.run([] {
    for (int i = 0; i < 100; ++i) green::spawn([] {}).detach();
  });
  EXPECT_EQ(rt.stats().global_pushes, 0u) << "100 default-priority spawns fit in the local ring";
}

TEST(Runtime, JoinRethrowsAcrossWorkers) {
  Runtime rt({.workers = 2});
  rt.run([] {
    TaskHandle h = green::spawn([] { throw std::runtime_error("child"); });
    EXPECT_THROW(h.join(), std::runtime_error);
  });
}

TEST(Runtime, DestructorWaitsForDetachedTasks) {
  std::atomic<int> done{0};
  {
    Runtime rt({.workers = 2});
    for (int i = 0; i < 50; ++i)
      rt.spawn([&] {
        for (int k = 0; k < 100; ++k) green::this_task::yield();
        done.fetch_add(1);
      }).detach();
  }
  EXPECT_EQ(done.load(), 50);
}

// On one worker, a higher-priority Ready task runs before a lower one.
TEST(Runtime, PrioritiesHoldOnAWorker) {
  Runtime rt({.workers = 1});
  std::string order;
  rt.run([&] {
    std::vector<TaskHandle> hs;
    hs.push_back(green::spawn([&] { order += 'l'; }, {.priority = 3}));
    hs.push_back(green::spawn([&] { order += 'd'; }));
    hs.push_back(green::spawn([&] { order += 'h'; }, {.priority = 13}));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(order, "hdl");
}

// The periodic look at the global queue (against starvation) must not let a
// lower-priority task overtake Ready default-priority work.
TEST(Runtime, LowerPriorityWaitsWhileDefaultWorkIsReady) {
  Runtime rt({.workers = 1});
  std::atomic<int> defaults_done{0};
  int seen_by_low = -1;
  rt.run([&] {
    std::vector<TaskHandle> hs;
    hs.push_back(green::spawn([&] { seen_by_low = defaults_done.load(); }, {.priority = 2}));
    for (int i = 0; i < 200; ++i) hs.push_back(green::spawn([&] { defaults_done.fetch_add(1); }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(seen_by_low, 200) << "the priority-2 task ran before all default-priority tasks were done";
}

TEST(Runtime, YieldRoundRobinsOnOneWorker) {
  Runtime rt({.workers = 1});
  std::string order;
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (char c : std::string("abc"))
      hs.push_back(green::spawn([&order, c] {
        for (int i = 0; i < 3; ++i) {
          order += c;
          green::this_task::yield();
        }
      }));
    for (auto& h : hs) h.join();
  });
  // Round robin: each round of three runs every task once. (Which task
  // starts depends on the queue: FIFO in stage 2, LIFO from stage 3 on.)
  ASSERT_EQ(order.size(), 9u);
  for (std::size_t round = 0; round < 3; ++round) {
    std::string r = order.substr(3 * round, 3);
    std::sort(r.begin(), r.end());
    EXPECT_EQ(r, "abc") << "round " << round << " of " << order;
  }
}

TEST(Runtime, IdsAreUniqueAcrossWorkersAndThreads) {
  Runtime rt({.workers = 2});
  std::vector<TaskHandle> hs;
  std::set<green::TaskId> ids;
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i) rt.spawn([] {}).join();
  });
  for (int i = 0; i < 1000; ++i) hs.push_back(rt.spawn([] {}));
  other.join();
  for (auto& h : hs) EXPECT_TRUE(ids.insert(h.id()).second);
}

TEST(Runtime, TaskLocalAndAtExitWorkAcrossWorkers) {
  Runtime rt({.workers = 2});
  green::TaskLocal<int> local;
  std::atomic<int> handlers{0};
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 200; ++i)
      hs.push_back(green::spawn([&, i] {
        *local = i;
        green::this_task::at_exit([&] { handlers.fetch_add(1); });
        for (int k = 0; k < 5; ++k) {
          green::this_task::yield();
          EXPECT_EQ(*local, i);
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(handlers.load(), 200);
}

}  // namespace

namespace {

// The address space left is room for a few worker threads, not for 64: the
// constructor must stop the workers it started and throw, not terminate.
// run() on one worker lends the caller's thread to the worker (runtime.cpp,
// "Lending"): main and the tasks it waits for run on the caller's thread,
// and the worker's own thread is gone meanwhile (the process has one thread
// fewer: the kernel's fast path for an fd table nobody shares).
TEST(Runtime, RunOnOneWorkerRunsOnTheCallersThread) {
  Runtime rt({.workers = 1});
  pid_t worker_tid = 0;
  rt.spawn([&] { worker_tid = gettid(); }).join();  // a thread's join: it blocks, the worker runs
  const pid_t caller = gettid();
  ASSERT_NE(worker_tid, caller);
  pid_t child_tid = 0;
  bool worker_thread_alive = true;
  rt.run([&] {
    EXPECT_EQ(gettid(), caller) << "main should run on run()'s caller";
    green::spawn([&] { child_tid = gettid(); }).join();
    std::string task_dir = "/proc/self/task/" + std::to_string(worker_tid);
    worker_thread_alive = access(task_dir.c_str(), F_OK) == 0;
  });
  EXPECT_EQ(child_tid, caller) << "a task main waited for should run on the caller too";
  EXPECT_FALSE(worker_thread_alive) << "the worker's own thread should have exited while run() lent its thread";
  // Afterwards a new thread runs the worker: a task that outlives main goes on.
  std::atomic<bool> go{false};
  pid_t later = 0;
  TaskHandle h;
  rt.run([&] {
    h = green::spawn([&] {
      while (!go.load()) green::this_task::yield();
      later = gettid();
    });
  });
  go = true;
  h.join();
  EXPECT_NE(later, 0);
  EXPECT_NE(later, caller) << "after run() the worker has a thread of its own again";
}

// Lending is run()'s alone and one thread's at a time: two threads' run() on
// one worker at once, a hundred times each, all of main's children done;
// and runs one after another on a fresh runtime each time.
TEST(Runtime, RunsFromTwoThreadsAtOnceAndManyInARowOnOneWorker) {
  {
    Runtime rt({.workers = 1});
    std::atomic<int> done{0};
    auto caller = [&] {
      for (int i = 0; i < 100; ++i) {
        int got = rt.run([] {
          std::vector<TaskHandle> hs;
          std::atomic<int> n{0};
          for (int k = 0; k < 8; ++k) hs.push_back(green::spawn([&] { n.fetch_add(1); green::this_task::yield(); }));
          for (auto& x : hs) x.join();
          return n.load();
        });
        EXPECT_EQ(got, 8);
        done.fetch_add(1);
      }
    };
    std::thread a(caller), b(caller);
    a.join();
    b.join();
    EXPECT_EQ(done.load(), 200);
  }
  for (int i = 0; i < scaled(200); ++i) {
    Runtime rt({.workers = 1});
    EXPECT_EQ(rt.run([i] {
                green::spawn([] {}).detach();  // left for the worker's new thread
                return i;
              }),
              i);
  }
}

TEST(RuntimeDeathTest, AWorkerThreadThatCannotStartIsAnErrorNotACrash) {
#if GREEN_ASAN || GREEN_TSAN
  GTEST_SKIP() << "the sanitizers' shadow memory does not fit under an RLIMIT_AS";
#endif
  EXPECT_EXIT(
      {
        long pages = 0;
        std::FILE* f = std::fopen("/proc/self/statm", "r");
        if (!f || std::fscanf(f, "%ld", &pages) != 1) _exit(5);
        std::fclose(f);
        rlimit r{};
        r.rlim_cur = r.rlim_max = static_cast<rlim_t>(pages) * 4096 + (48 << 20);  // a few 8 MiB thread stacks
        if (setrlimit(RLIMIT_AS, &r) != 0) _exit(6);
        try {
          Runtime rt({.workers = 64});
          _exit(3);  // all 64 started: the limit did not bite
        } catch (const std::system_error& e) {
          std::fprintf(stderr, "threw: %s\n", e.what());
          _exit(0);
        } catch (...) {
          _exit(4);
        }
      },
      ::testing::ExitedWithCode(0), "threw");
}

}  // namespace
