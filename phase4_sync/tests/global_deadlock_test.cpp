// The global deadlock (detail/deadlock.hpp): when every task of a runtime is
// blocked, with no timer armed and no thread waiting in a primitive,
// Runtime::run throws DeadlockError listing each blocked task and what it
// waits on, about 50-100 ms after the last one blocked, and ~Runtime does not
// hang. And the cases that are not deadlocks: a sleeping task, an outside
// thread that will wake a task (detection off), a thread waiting in a
// primitive.
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>

namespace {

using namespace green::test;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs main on a fresh runtime; returns DeadlockError's what() ("" if run
// returned) and how long run took.
template <class F>
std::string run_expecting(unsigned workers, F main, std::chrono::milliseconds* took = nullptr) {
  std::string what;
  auto t0 = Clock::now();
  {
    green::Runtime rt({.workers = workers});
    try {
      rt.run(main);
    } catch (const green::DeadlockError& e) {
      EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
      what = e.what();
    }
    if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  }  // ~Runtime must not wait for the blocked tasks
  return what;
}

TEST(GlobalDeadlock, MainWaitingOnAChannelNobodySendsOnThrowsOutOfRun) {
  for (unsigned workers : {1u, 2u}) {
    std::chrono::milliseconds took{};
    std::string what = run_expecting(workers, [] {
      green::Channel<int> never;
      (void)never.recv();
    }, &took);
    ASSERT_FALSE(what.empty()) << "workers=" << workers << ": run returned";
    EXPECT_TRUE(has(what, "all 1 tasks of this runtime are blocked")) << what;
    EXPECT_TRUE(has(what, "\"main\" waits on green::Channel (to receive) 0x")) << what;
    EXPECT_GE(took.count(), 50) << "it must look twice, 50 ms apart";
    EXPECT_LT(took, slack(std::chrono::milliseconds(1000))) << "found " << took.count() << " ms after the block";
  }
}

TEST(GlobalDeadlock, TheReportNamesEveryBlockedTaskAndWhatItWaitsOn) {
  green::Mutex m, cm;
  green::CondVar cv;
  green::Semaphore none(0);
  std::string what = run_expecting(2, [&] {
    green::Barrier b_holds(2);
    auto b = green::spawn([&] {
      std::lock_guard lk(m);
      b_holds.arrive_and_wait();
      none.acquire();  // never released
    }, {.name = "b"});
    b_holds.arrive_and_wait();
    auto a = green::spawn([&] { std::lock_guard lk(m); }, {.name = "a"});
    auto c = green::spawn([&] {
      std::unique_lock lk(cm);
      cv.wait(lk);  // never notified
    }, {.name = "c"});
    a.join();
  });
  ASSERT_FALSE(what.empty()) << "run returned";
  EXPECT_TRUE(has(what, "all 4 tasks of this runtime are blocked")) << what;
  EXPECT_TRUE(has(what, "\"a\" waits on green::Mutex 0x")) << what;
  EXPECT_TRUE(has(what, "held by task ") && has(what, " \"b\"")) << what;
  EXPECT_TRUE(has(what, "\"b\" waits on green::Semaphore 0x")) << what;
  EXPECT_TRUE(has(what, "\"c\" waits on green::CondVar 0x")) << what;
  EXPECT_TRUE(has(what, "\"main\" waits to join task ")) << what;
  EXPECT_TRUE(has(what, "thread ") && has(what, "waits to join task ")) << "the caller of run: " << what;
}

// Joiners that hold no Mutex are not in the wait-for graph: two tasks joining
// each other are found here, once everything is blocked. A task has one
// joiner, so main waits for a third task, itself blocked on a semaphore.
TEST(GlobalDeadlock, TwoTasksJoiningEachOther) {
  std::string what = run_expecting(2, [] {
    green::TaskHandle a, b;
    green::Barrier ready(3);
    green::Semaphore never(0);
    a = green::spawn([&] {
      ready.arrive_and_wait();
      b.join();
    }, {.name = "a"});
    b = green::spawn([&] {
      ready.arrive_and_wait();
      a.join();
    }, {.name = "b"});
    ready.arrive_and_wait();
    green::spawn([&] { never.acquire(); }, {.name = "c"}).join();
  });
  ASSERT_FALSE(what.empty()) << "run returned";
  EXPECT_TRUE(has(what, "\"a\" waits to join task ") && has(what, "\"b\" waits to join task ")) << what;
  EXPECT_TRUE(has(what, "\"c\" waits on green::Semaphore 0x")) << what;
  EXPECT_TRUE(has(what, "\"main\" waits to join task ")) << what;
}

TEST(GlobalDeadlock, ASleepingTaskIsNotADeadlock) {
  green::Semaphore s(0);
  std::string what = run_expecting(2, [&] {
    auto sleeper = green::spawn([&] {
      green::this_task::sleep_for(std::chrono::milliseconds(300));  // a timer is armed meanwhile
      s.release();
    });
    s.acquire();
    sleeper.join();
  });
  EXPECT_EQ(what, "");
}

TEST(GlobalDeadlock, TurnedOffAnOutsideThreadMayWakeTheTasks) {
  green::Semaphore s(0);
  std::thread outside([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s.release();
  });
  green::Runtime rt({.workers = 2, .detect_deadlock = false});
  EXPECT_NO_THROW(rt.run([&] { s.acquire(); }));
  outside.join();
}

TEST(GlobalDeadlock, NotWhileAThreadWaitsInAPrimitive) {
  green::Semaphore s(0), gate(0);
  std::thread waiter([&] {
    gate.acquire();  // a thread in a green wait: it may wake tasks later
    s.release();
  });
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    gate.release();
  });
  std::string what = run_expecting(2, [&] { s.acquire(); });
  EXPECT_EQ(what, "");
  waiter.join();
  opener.join();
}

TEST(GlobalDeadlock, AnotherRuntimeWorksAfterwards) {
  std::string what = run_expecting(1, [] {
    green::Mutex m;
    green::CondVar cv;
    std::unique_lock lk(m);
    cv.wait(lk);
  });
  EXPECT_TRUE(has(what, "waits on green::CondVar")) << what;
  green::Runtime rt({.workers = 2});
  EXPECT_EQ(rt.run([] { return 42; }), 42);
}

}  // namespace
