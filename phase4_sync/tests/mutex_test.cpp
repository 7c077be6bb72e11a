// Mutex: exclusion under preemption and random yields, tasks and threads
// together, the standard lock wrappers, parking (no CPU while waiting), the
// starvation guard, and the errors.
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace {

using namespace green::test;

TEST(Mutex, ExcludesUnderPreemptionAndRandomYields) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  green::Mutex m;
  long counter = 0;  // guarded by m
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  const int tasks = 64;
  const long iters = scaled(10000, 20);
  in_tasks(rt, tasks, [&](int i) {
    unsigned seed = static_cast<unsigned>(i);
    for (long k = 0; k < iters; ++k) {
      std::lock_guard lk(m);
      if (inside.fetch_add(1) != 0) overlap = true;
      long c = counter;
      maybe_yield(seed);  // a switch inside the critical section
      counter = c + 1;
      inside.fetch_sub(1);
    }
  });
  EXPECT_FALSE(overlap.load()) << "two holders at once";
  EXPECT_EQ(counter, tasks * iters);
}

TEST(Mutex, TasksAndPlainThreadsShareIt) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  long counter = 0;
  const long iters = scaled(20000, 100);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (long k = 0; k < iters; ++k) {
        std::unique_lock lk(m);
        ++counter;
      }
    });
  in_tasks(rt, 8, [&](int) {
    for (long k = 0; k < iters; ++k) {
      std::scoped_lock lk(m);
      ++counter;
      if (k % 64 == 0) green::this_task::yield();
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 10 * iters);
}

TEST(Mutex, WaitersParkAndUseNoCpu) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  std::atomic<int> waiting{0};
  m.lock();  // held by this thread while 100 tasks wait
  std::vector<green::TaskHandle> hs;
  for (int i = 0; i < 100; ++i)
    hs.push_back(rt.spawn([&] {
      waiting.fetch_add(1);
      std::lock_guard lk(m);
    }));
  while (waiting.load() < 100) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);  // let the spinning end
  auto cpu0 = cpu_time();
  std::this_thread::sleep_for(200ms);
  auto used = cpu_time() - cpu0;
  m.unlock();
  for (auto& h : hs) h.join();
  EXPECT_LT(used, 40ms) << "waiters used " << used.count() << " us of CPU in 200 ms: they must park";
}

// One task takes the lock again and again; a second one waits for it. Past
// the 1 ms guard the unlock hands the lock over: the waiter gets in soon.
TEST(Mutex, AStarvingWaiterIsHandedTheLock) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  std::atomic<bool> stop{false}, hammering{false};
  auto hammer = rt.spawn([&] {
    while (!stop.load()) {
      std::lock_guard lk(m);
      hammering = true;
      for (int i = 0; i < 200; ++i) __builtin_ia32_pause();
    }
  });
  while (!hammering.load()) std::this_thread::sleep_for(1ms);
  Clock::duration worst{};
  rt.run([&] {
    for (int i = 0; i < 20; ++i) {
      auto t0 = Clock::now();
      m.lock();
      worst = std::max(worst, Clock::now() - t0);
      m.unlock();
    }
  });
  stop = true;
  hammer.join();
  EXPECT_LT(worst, slack(100ms)) << "a waiter waited " << std::chrono::duration<double, std::milli>(worst).count()
                          << " ms for a lock released every microsecond";
}

TEST(Mutex, ManyMoreTasksThanWorkers) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  long counter = 0;
  const int tasks = static_cast<int>(scaled(10000, 100));
  in_tasks(rt, tasks, [&](int) {
    for (int k = 0; k < 10; ++k) {
      std::lock_guard lk(m);
      ++counter;
    }
  });
  EXPECT_EQ(counter, tasks * 10L);
}

// One worker: a task parked in lock() gives the worker to the others.
TEST(Mutex, ABlockedLockLetsOtherTasksRunOnOneWorker) {
  green::Runtime rt({.workers = 1, .time_slice = std::chrono::microseconds(0)});
  green::Mutex m;
  std::atomic<long> others{0};
  rt.run([&] {
    m.lock();
    auto blocked = green::spawn([&] { std::lock_guard lk(m); });
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 100; ++i) hs.push_back(green::spawn([&] { others.fetch_add(1); }));
    for (auto& h : hs) h.join();  // they ran while `blocked` waited for the lock
    EXPECT_EQ(others.load(), 100);
    m.unlock();
    blocked.join();
  });
}

TEST(Mutex, TryLock) {
  green::Mutex m;
  EXPECT_TRUE(m.try_lock());
  std::thread([&] { EXPECT_FALSE(m.try_lock()) << "held by another thread"; }).join();
  m.unlock();
  std::thread([&] {
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  }).join();
}

TEST(Mutex, LockingAMutexYouHoldIsADeadlockError) {
  green::Mutex m;
  std::lock_guard lk(m);
  EXPECT_THROW(m.lock(), green::DeadlockError);
  green::Runtime rt({.workers = 1});
  rt.run([] {
    green::Mutex t;
    t.lock();
    try {
      t.lock();
      ADD_FAILURE() << "no DeadlockError";
    } catch (const green::DeadlockError& e) {
      EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
      EXPECT_NE(std::string(e.what()).find("cycle of 1 wait: task"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("\"main\""), std::string::npos) << e.what();
    }
    t.unlock();
  });
}

TEST(MutexDeathTest, UnlockByANonHolderAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  green::Mutex m;
  EXPECT_DEATH(m.unlock(), "does not hold this mutex");
  m.lock();
  EXPECT_DEATH(std::thread([&] { m.unlock(); }).join(), "does not hold this mutex");
  m.unlock();
}

}  // namespace
