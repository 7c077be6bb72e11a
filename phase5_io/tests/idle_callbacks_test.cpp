// Runtime::on_idle / cancel_idle: a callback runs when a worker runs out of
// work, not in a loop on an idle runtime, may spawn, and never starts once
// cancel_idle has returned.
#include <io_util.hpp>

#include <atomic>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace green;

TEST(IdleCallbacks, RunWhenWorkersRunOutOfWorkNotInALoop) {
  Runtime rt({.workers = 2});
  std::atomic<int> calls{0};
  auto id = rt.on_idle([&calls] { calls++; });
  rt.run([] { this_task::sleep_for(5ms); });
  std::this_thread::sleep_for(50ms);  // the workers went idle
  int settled = calls.load();
  EXPECT_GE(settled, 1) << "a worker ran out of work: the callback should have run";
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(calls.load() - settled, 2) << "an idle runtime must not run its idle callbacks again and again";
  rt.cancel_idle(id);
}

TEST(IdleCallbacks, ACallbackMaySpawnWork) {
  Runtime rt({.workers = 1});
  std::atomic<int> ran{0};
  std::atomic<bool> once{false};
  auto id = rt.on_idle([&] {
    if (!once.exchange(true)) rt.spawn([&ran] { ran++; });
  });
  rt.run([] { this_task::sleep_for(1ms); });
  for (int i = 0; i < 200 && ran.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ran.load(), 1) << "the task an idle callback spawned should run";
  rt.cancel_idle(id);
}

TEST(IdleCallbacks, NeverStartsAfterCancelReturns) {
  Runtime rt({.workers = 2});
  const int rounds = static_cast<int>(green::test::scaled(500, 20));
  for (int i = 0; i < rounds; ++i) {
    std::atomic<bool> cancelled{false};
    std::atomic<int> late{0};
    auto id = rt.on_idle([&] {
      if (cancelled.load()) late++;
    });
    // Keep the workers going idle and waking while we cancel.
    rt.spawn([] { this_task::yield(); }).join();
    rt.cancel_idle(id);
    cancelled = true;
    rt.spawn([] {}).join();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    ASSERT_EQ(late.load(), 0) << "round " << i << ": the callback started after cancel_idle returned";
  }
}

TEST(IdleCallbacks, CancelFromItsOwnCallbackAndUnknownIds) {
  Runtime rt({.workers = 1});
  std::atomic<int> calls{0};
  std::uint64_t id = 0;
  std::atomic<bool> ready{false};
  id = rt.on_idle([&] {
    calls++;
    if (ready.load()) rt.cancel_idle(id);
  });
  ready = true;
  for (int i = 0; i < 5; ++i) rt.spawn([] {}).join();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.load(), 1) << "a callback that cancels itself runs no more";
  rt.cancel_idle(id);        // again: nothing
  rt.cancel_idle(123456789);  // never given: nothing
}

TEST(IdleCallbacks, IdleRuntimeWithCallbacksAndIoUsesNoCpu) {
  Runtime rt({.workers = 2});
  auto [a, b] = green::test::socket_pair();
  std::atomic<int> calls{0};
  auto id = rt.on_idle([&calls] { calls++; });
  auto reader = rt.spawn([a = a] {
    char c;
    io::read(a, &c, 1);  // parks for the whole test
  });
  std::this_thread::sleep_for(50ms);
  auto cpu0 = green::test::cpu_time();
  int calls0 = calls.load();
  std::this_thread::sleep_for(300ms);
  auto used = green::test::cpu_time() - cpu0;
  EXPECT_LE(calls.load() - calls0, 2) << "idle: the callbacks should not run again and again";
  EXPECT_LT(used, 30ms) << "an idle runtime with a task waiting on I/O should sleep, not poll";
  io::write(b, "x", 1);
  reader.join();
  rt.cancel_idle(id);
  io::close(a), io::close(b);
}

}  // namespace
