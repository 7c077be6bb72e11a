// Semaphore and Barrier.
#include <green/detail/waiter.hpp>
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace {

using namespace green::test;

TEST(Semaphore, NeverMoreHoldersThanPermits) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  green::Semaphore sem(3);
  std::atomic<int> holders{0}, most{0};
  in_tasks(rt, 50, [&](int i) {
    unsigned seed = static_cast<unsigned>(i);
    for (long k = 0; k < scaled(200, 10); ++k) {
      sem.acquire();
      int h = holders.fetch_add(1) + 1;
      for (int m = most.load(); h > m && !most.compare_exchange_weak(m, h);) {}
      maybe_yield(seed);
      holders.fetch_sub(1);
      sem.release();
    }
  });
  EXPECT_LE(most.load(), 3);
}

// Three holders at once (they meet at a barrier while holding), and a
// fourth is refused meanwhile.
TEST(Semaphore, EveryPermitCanBeHeldAtOnce) {
  green::Runtime rt({.workers = 2});
  green::Semaphore sem(3);
  green::Barrier all_in(4);  // three holders and this task
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 3; ++i)
      hs.push_back(green::spawn([&] {
        sem.acquire();
        all_in.arrive_and_wait();  // all three hold a permit now
        all_in.arrive_and_wait();  // until the check below is done
        sem.release();
      }));
    all_in.arrive_and_wait();
    EXPECT_FALSE(sem.try_acquire()) << "a fourth permit while three are held";
    all_in.arrive_and_wait();
    for (auto& h : hs) h.join();
    EXPECT_TRUE(sem.try_acquire());
  });
}

TEST(Semaphore, ReleaseNWakesUpToN) {
  green::Runtime rt({.workers = 2});
  green::Semaphore sem(0);
  std::atomic<int> through{0};
  std::vector<green::TaskHandle> hs;
  for (int i = 0; i < 10; ++i)
    hs.push_back(rt.spawn([&] {
      sem.acquire();
      through.fetch_add(1);
    }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(through.load(), 0);
  sem.release(4);
  for (auto t0 = Clock::now(); through.load() < 4 && Clock::now() - t0 < 5s;) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(through.load(), 4) << "release(4) must let exactly 4 through";
  std::thread([&] { sem.release(6); }).join();  // from a plain thread
  for (auto& h : hs) h.join();
  EXPECT_EQ(through.load(), 10);
  EXPECT_FALSE(sem.try_acquire());
  sem.release(2);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
}

TEST(Semaphore, ThreadsBlockAndTasksPark) {
  green::Runtime rt({.workers = 1});
  green::Semaphore ping(0), pong(0);
  const long rounds = scaled(20000, 100);
  std::thread t([&] {
    for (long i = 0; i < rounds; ++i) {
      ping.acquire();
      pong.release();
    }
  });
  rt.run([&] {
    for (long i = 0; i < rounds; ++i) {
      ping.release();
      pong.acquire();
    }
  });
  t.join();
}

// A woken thread may see its wake-up and return, even exit, before the
// waker's futex wake is made. That wake must land on memory that is still
// alive (the thread's Parker, never its stack). Here it happens every time:
// the thread sleeps in sleep_queued until a deadline; the waker claims it
// first and delivers only after the thread has seen the claim at its
// deadline, returned and exited. Valgrind's memcheck fails this test if the
// wake goes to the dead thread's stack.
TEST(Waiter, AThreadsWakeLandsOnLiveMemoryAfterItExits) {
  using namespace green::detail;
  SpinLock guard;
  WaitList list{"test", nullptr};
  Parker* parker = nullptr;
  bool woken = false;
  std::atomic<bool> queued{false};
  std::string error;
  std::thread t([&] {
    Waiter me;
    PreemptOff no_preempt;
    guard.lock();
    parker = me.parker;
    list.push_back(&me);
    queued = true;
    try {
      woken = sleep_queued(me, guard, list, now_ns() + std::chrono::nanoseconds(slack(50ms)).count());
    } catch (const std::exception& e) {  // unwritten: it threw holding guard
      error = e.what();
      list.remove(&me);
      guard.unlock();
    }
  });
  for (auto give_up = Clock::now() + slack(5000ms); !queued && Clock::now() < give_up;) std::this_thread::yield();
  Wakeups wake;
  guard.lock();
  Waiter* w = list.pop_front();
  bool claimed = w && wake.add(w);
  guard.unlock();
  t.join();  // at its deadline the thread finds itself claimed, returns and exits
  ASSERT_EQ(error, "");
  ASSERT_TRUE(claimed) << "the thread never queued itself";
  const std::uint32_t gen = parker->gen.load();
  wake.deliver();
  EXPECT_TRUE(woken) << "a claimed waiter must return true, even from its deadline";
  EXPECT_EQ(parker->gen.load(), gen + 1) << "the wake-up went elsewhere than the exited thread's Parker";
}

TEST(Semaphore, BadCountsAreInvalidArguments) {
  EXPECT_THROW(green::Semaphore(-1), std::invalid_argument);
  green::Semaphore s(0);
  EXPECT_THROW(s.release(-2), std::invalid_argument);
  EXPECT_FALSE(s.try_acquire()) << "a refused release must give nothing";
}

TEST(Barrier, NobodyPassesARoundBeforeEveryoneArrived) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  const int n = 40, threads = 2;  // n - threads tasks and `threads` plain threads
  const long rounds = scaled(300, 20);
  green::Barrier b(n);
  std::vector<std::atomic<int>> arrived(static_cast<std::size_t>(rounds));
  std::atomic<bool> early{false};
  auto body = [&](int i) {
    unsigned seed = static_cast<unsigned>(i);
    for (long r = 0; r < rounds; ++r) {
      arrived[r].fetch_add(1);
      if (green::detail::current_task()) maybe_yield(seed);
      b.arrive_and_wait();
      if (arrived[r].load() != n) early = true;
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back(body, -1 - i);
  in_tasks(rt, n - threads, body);
  for (auto& t : ts) t.join();
  EXPECT_FALSE(early.load()) << "someone left a round before all " << n << " had arrived";
}

TEST(Barrier, ZeroIsAnInvalidArgument) { EXPECT_THROW(green::Barrier(0), std::invalid_argument); }

}  // namespace
