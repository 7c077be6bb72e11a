// detail::Event: the one-shot signal TaskGroup and Future sleep on. Set
// before and after the wait, tasks and threads on either side, and a storm
// of short waits where the waiter frees the Event the moment it returns.
#include <task_util.hpp>

#include <green/detail/event.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace green;
using green::detail::Event;

TEST(Event, SetBeforeWaitReturnsAtOnce) {
  Event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.wait();  // a thread: must not block
  e.reset();
  EXPECT_FALSE(e.is_set());
}

TEST(Event, ATaskSleepsUntilAThreadSetsIt) {
  Runtime rt({.workers = 1});
  Event e;
  std::atomic<bool> waiting{false};
  int value = 0;
  std::thread setter([&] {
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    value = 42;  // published by set()
    e.set();
  });
  rt.run([&] {
    waiting = true;
    e.wait();
    EXPECT_EQ(value, 42) << "the waiter must see what the setter wrote before set()";
  });
  setter.join();
}

TEST(Event, AThreadSleepsUntilATaskSetsIt) {
  Runtime rt({.workers = 1});
  Event e;
  int value = 0;
  rt.spawn([&] {
    this_task::sleep_for(std::chrono::milliseconds(5));
    value = 7;
    e.set();
  });
  e.wait();
  EXPECT_EQ(value, 7);
}

// The waiter owns the Event and frees it as soon as wait() returns, while
// the setter may still be inside set(): set() must not touch it after its
// exchange (ASan and Valgrind see a use after free if it does).
TEST(Event, TheWaiterMayFreeItAtOnce) {
  Runtime rt({.workers = 2});
  const int n = static_cast<int>(green::test::scaled(20000, 200));
  rt.run([&] {
    for (int i = 0; i < n; ++i) {
      auto e = std::make_unique<Event>();
      Event* raw = e.get();
      spawn([raw] { raw->set(); }).detach();
      if (i % 3 == 0) this_task::yield();
      e->wait();
      e.reset();  // freed while set() may still be returning
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < n / 10; ++i) {
        auto e = std::make_unique<Event>();
        Event* raw = e.get();
        rt.spawn([raw] { raw->set(); }).detach();
        e->wait();
      }
    });
  for (auto& t : threads) t.join();
}

}  // namespace
