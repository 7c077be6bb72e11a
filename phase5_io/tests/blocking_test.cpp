// blocking(f): results, references, exceptions, the worker stays free, many
// calls at once, helpers come and go, plain threads run f inline.
#include <io_util.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace green;
using green::test::slack;

TEST(Blocking, ReturnsTheResultAndRunsOnAnotherThread) {
  Runtime rt({.workers = 1});
  rt.run([] {
    auto me = std::this_thread::get_id();
    auto where = blocking([] { return std::this_thread::get_id(); });
    EXPECT_NE(where, me) << "f should run on a helper thread, not the worker";
    EXPECT_EQ(blocking([] { return std::string("value"); }), "value");
    int x = 1;
    int& r = blocking([&x]() -> int& { return x; });
    EXPECT_EQ(&r, &x) << "a reference result is the same object";
    blocking([&x] { x = 2; });
    EXPECT_EQ(x, 2);
    auto moved = blocking([] { return std::make_unique<int>(7); });
    EXPECT_EQ(*moved, 7);
  });
}

TEST(Blocking, RethrowsTheException) {
  Runtime rt({.workers = 1});
  rt.run([] {
    EXPECT_THROW(blocking([]() -> int { throw std::runtime_error("from the helper"); }), std::runtime_error);
    try {
      blocking([] { throw std::invalid_argument("bad"); });
      ADD_FAILURE() << "should have thrown";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "bad");
    }
  });
}

TEST(Blocking, TheWorkerRunsOtherTasksMeanwhile) {
  Runtime rt({.workers = 1});
  rt.run([] {
    std::atomic<bool> released{false};
    auto slow = spawn([&released] {
      blocking([&released] {
        while (!released.load()) std::this_thread::sleep_for(1ms);
      });
    });
    // One worker: this task runs only because the blocking call parked its task.
    auto other = spawn([&released] { released = true; });
    other.join();
    slow.join();
  });
}

TEST(Blocking, ManyCallsAtOnceFromManyTasks) {
  Runtime rt({.workers = 2});
  const int n = static_cast<int>(green::test::scaled(2000, 100));
  std::atomic<long> sum{0};
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(spawn([&sum, i] {
        sum += blocking([i] {
          if (i % 64 == 0) std::this_thread::sleep_for(1ms);
          return i;
        });
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(sum.load(), long(n) * (n - 1) / 2);
}

TEST(Blocking, SleepingCallsRunInParallelUpToTheCap) {
  // 50 calls that each sleep 100 ms finish in about 100 ms, not 5 s: the pool
  // grows on demand.
  Runtime rt({.workers = 1});
  auto t0 = std::chrono::steady_clock::now();
  rt.run([] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 50; ++i)
      hs.push_back(spawn([] { blocking([] { std::this_thread::sleep_for(100ms); }); }));
    for (auto& h : hs) h.join();
  });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, slack(1500ms));
}

TEST(Blocking, OutsideATaskRunsInline) {
  auto me = std::this_thread::get_id();
  EXPECT_EQ(blocking([] { return std::this_thread::get_id(); }), me);
  EXPECT_THROW(blocking([] { throw std::logic_error("x"); }), std::logic_error);
  LocalScheduler s;
  s.spawn([me] { EXPECT_EQ(blocking([] { return std::this_thread::get_id(); }), me); });
  s.run();
}

TEST(Blocking, ATaskWaitingOnBlockingIsNotADeadlock) {
  // Every task blocked, but one is waiting on a helper that will finish: no
  // DeadlockError.
  Runtime rt({.workers = 2});
  EXPECT_NO_THROW(rt.run([] { blocking([] { std::this_thread::sleep_for(300ms); }); }));
}

}  // namespace
