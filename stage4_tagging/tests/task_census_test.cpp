// The task census of Runtime::stats() (task_census.cpp): a runtime's tasks
// by state, found through the block registry.
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using green::detail::Task;

TEST(TaskCensus, CountsARuntimesTasksByState) {
  green::Runtime rt({.workers = 2});
  constexpr int kParked = 10;
  std::vector<std::atomic<Task*>> parked(kParked);
  std::vector<green::TaskHandle> hs;
  for (auto& slot : parked)
    hs.push_back(rt.spawn([&slot] {
      green::detail::PreemptOff no_preempt;
      slot.store(green::detail::current_task(), std::memory_order_release);  // pairs with the loads below
      green::detail::park_current(nullptr, nullptr);
    }));
  for (auto& slot : parked) {
    Task* t;
    while (!(t = slot.load(std::memory_order_acquire)) || t->word.state() != green::detail::TaskState::Waiting)
      std::this_thread::yield();
  }
  green::Runtime other({.workers = 1});  // its tasks are not counted here
  green::TaskHandle elsewhere = other.spawn([] { green::this_task::yield(); });
  green::RuntimeStats s = rt.stats();
  EXPECT_EQ(s.waiting, std::uint64_t{kParked}) << "parked tasks";
  EXPECT_EQ(s.running, 0u) << "nothing runs while all of its tasks are parked";
  EXPECT_EQ(s.runnable, 0u);
  // From a task: that task is running.
  green::RuntimeStats inside = rt.run([&] { return rt.stats(); });
  EXPECT_GE(inside.running, 1u) << "the task asking is running";
  EXPECT_EQ(inside.waiting, std::uint64_t{kParked});
  for (auto& slot : parked) green::detail::unpark(slot.load());
  for (auto& h : hs) h.join();
  elsewhere.join();
  s = rt.stats();
  EXPECT_EQ(s.waiting + s.running + s.runnable, 0u) << "ended and joined tasks are not counted";
}

// A spawned task that has not run yet is runnable.
TEST(TaskCensus, ATaskNotYetRunIsRunnable) {
  green::Runtime rt({.workers = 1});
  green::RuntimeStats s = rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 20; ++i) hs.push_back(green::spawn([] {}));
    green::RuntimeStats mid = rt.stats();  // one worker, and it is running us: none of them ran
    for (auto& h : hs) h.join();
    return mid;
  });
  EXPECT_EQ(s.runnable, 20u);
  EXPECT_EQ(s.running, 1u) << "main";
}

}  // namespace
