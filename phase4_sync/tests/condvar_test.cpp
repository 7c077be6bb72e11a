// CondVar: no lost wake-ups between tasks and threads, timed waits, the
// predicate overloads, notify_all, and timeouts racing notifies.
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>

namespace {

using namespace green::test;

// Producers and consumers, tasks and threads, on one queue: every item is
// consumed exactly once, and nobody sleeps through a notify (or this hangs).
TEST(CondVar, ProducersAndConsumersLoseNoWakeUp) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  green::Mutex m;
  green::CondVar not_empty;
  std::deque<long> q;
  const long per_producer = scaled(20000, 200);
  const int producers = 4, consumers = 6;  // half of each kind are threads
  long sum = 0, taken = 0;
  const long total = producers * per_producer;
  auto consume = [&] {
    for (;;) {
      std::unique_lock lk(m);
      not_empty.wait(lk, [&] { return !q.empty() || taken == total; });
      if (taken == total) {
        not_empty.notify_all();
        return;
      }
      sum += q.front();
      q.pop_front();
      ++taken;
    }
  };
  auto produce = [&] {
    for (long i = 1; i <= per_producer; ++i) {
      std::lock_guard lk(m);
      q.push_back(i);
      not_empty.notify_one();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < consumers / 2; ++i) threads.emplace_back(consume);
  for (int i = 0; i < producers / 2; ++i) threads.emplace_back(produce);
  in_tasks(rt, producers / 2 + consumers / 2, [&](int i) { i < producers / 2 ? produce() : consume(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken, total);
  EXPECT_EQ(sum, producers * (per_producer * (per_producer + 1) / 2));
}

TEST(CondVar, WaitForTimesOutNeverEarly) {
  green::Runtime rt({.workers = 2});
  auto check = [] {
    green::Mutex m;
    green::CondVar cv;
    std::unique_lock lk(m);
    auto t0 = Clock::now();
    EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
    EXPECT_GE(Clock::now() - t0, 20ms);
    EXPECT_TRUE(lk.owns_lock());
    EXPECT_FALSE(cv.wait_for(lk, 5ms, [] { return false; }));
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::now() + 5ms), std::cv_status::timeout);
    EXPECT_EQ(cv.wait_for(lk, -1ms), std::cv_status::timeout);
  };
  rt.run(check);  // a task: its worker's timer
  check();        // a thread: the futex timeout
}

TEST(CondVar, ANotifiedTimedWaitSaysNoTimeout) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  green::CondVar cv;
  bool ready = false;
  rt.run([&] {
    auto waiter = green::spawn([&] {
      std::unique_lock lk(m);
      EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return ready; }));
    });
    green::this_task::sleep_for(5ms);
    {
      std::lock_guard lk(m);
      ready = true;
    }
    cv.notify_one();
    auto t0 = Clock::now();
    waiter.join();
    EXPECT_LT(Clock::now() - t0, 5s) << "the waiter slept until its timeout";
  });
}

TEST(CondVar, NotifyAllWakesEveryWaiterTasksAndThreads) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  green::CondVar cv;
  int generation = 0, waiting = 0;
  const int tasks = 200, threads = 3;
  auto wait_once = [&] {
    std::unique_lock lk(m);
    int g = generation;
    ++waiting;
    cv.wait(lk, [&] { return generation != g; });
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back(wait_once);
  std::vector<green::TaskHandle> hs;
  for (int i = 0; i < tasks; ++i) hs.push_back(rt.spawn(wait_once));
  for (;; std::this_thread::sleep_for(1ms)) {
    std::lock_guard lk(m);
    if (waiting == tasks + threads) break;
  }
  {
    std::lock_guard lk(m);
    ++generation;
  }
  cv.notify_all();  // from a plain thread
  for (auto& h : hs) h.join();
  for (auto& t : ts) t.join();
}

// Short timed waits racing notify_one: every wait returns, and no more of
// them report a notify than there were notifies.
TEST(CondVar, TimeoutsRacingNotifies) {
  green::Runtime rt({.workers = 2});
  green::Mutex m;
  green::CondVar cv;
  std::atomic<long> notified{0}, notifies{0};
  std::atomic<bool> stop{false};
  const long rounds = scaled(3000, 100);
  auto notifier = rt.spawn([&] {
    while (!stop.load()) {
      cv.notify_one();
      notifies.fetch_add(1);
      green::this_task::yield();
    }
  });
  in_tasks(rt, 8, [&](int i) {
    for (long k = 0; k < rounds / 8; ++k) {
      std::unique_lock lk(m);
      if (cv.wait_for(lk, std::chrono::microseconds(50 + 37 * ((i + k) % 7))) == std::cv_status::no_timeout)
        notified.fetch_add(1);
    }
  });
  stop = true;
  notifier.join();
  EXPECT_LE(notified.load(), notifies.load());
}

TEST(CondVar, Errors) {
  green::Mutex m;
  green::CondVar cv;
  std::unique_lock lk(m, std::defer_lock);
  EXPECT_THROW(cv.wait(lk), std::system_error) << "waiting without holding the mutex";
  green::LocalScheduler s;
  s.spawn([&] {
    std::unique_lock held(m);
    EXPECT_THROW(cv.wait_for(held, 1ms), std::logic_error) << "a LocalScheduler has no timers";
  });
  s.run();
}

TEST(CondVar, PingPongOnALocalScheduler) {
  green::LocalScheduler s;
  green::Mutex m;
  green::CondVar cv;
  int turn = 0;
  const int rounds = 1000;
  for (int me = 0; me < 2; ++me)
    s.spawn([&, me] {
      for (int r = 0; r < rounds; ++r) {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return turn % 2 == me; });
        ++turn;
        cv.notify_one();
      }
    });
  s.run();
  EXPECT_EQ(turn, 2 * rounds);
}

}  // namespace
