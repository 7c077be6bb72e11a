// LocalScheduler and its ReadyQueue: order, priorities, spawning from tasks,
// the end of run(), deadlock instead of a hang.
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <string>
#include <system_error>
#include <vector>

namespace {

using green::LocalScheduler;
using green::SpawnOptions;
namespace this_task = green::this_task;

TEST(ReadyQueue, PopsHighestPriorityFirstFifoWithinALevel) {
  using namespace green::detail;
  // Fake tasks: only word and next are used by the queue.
  std::vector<Task> tasks(6);
  int prios[] = {3, 15, 3, 0, 15, 8};
  for (int i = 0; i < 6; ++i) tasks[i].word.init(TaskState::Ready, prios[i], false);
  ReadyQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop(), nullptr);
  for (auto& t : tasks) q.push(&t);
  EXPECT_EQ(q.bitmap(), (1u << 0) | (1u << 3) | (1u << 8) | (1u << 15));
  Task* expect[] = {&tasks[1], &tasks[4], &tasks[5], &tasks[0], &tasks[2], &tasks[3]};
  for (Task* e : expect) EXPECT_EQ(q.pop(), e);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bitmap(), 0u);
}

TEST(LocalScheduler, RunsEveryTaskAndReturnsWhenAllEnded) {
  LocalScheduler s;
  int ran = 0;
  for (int i = 0; i < 10; ++i) s.spawn([&] { ++ran; });
  EXPECT_EQ(s.live_tasks(), 10u);
  s.run();
  EXPECT_EQ(ran, 10);
  EXPECT_EQ(s.live_tasks(), 0u);
  s.run();  // nothing left: returns at once
}

TEST(LocalScheduler, RoundRobinWithinALevel) {
  LocalScheduler s;
  std::string order;
  for (char c : std::string("abc"))
    s.spawn([&order, c] {
      for (int i = 0; i < 3; ++i) {
        order += c;
        this_task::yield();
      }
    });
  s.run();
  EXPECT_EQ(order, "abcabcabc");
}

TEST(LocalScheduler, HigherPriorityRunsFirst) {
  LocalScheduler s;
  std::string order;
  s.spawn([&] { order += 'l'; }, {.priority = 2});
  s.spawn([&] { order += 'h'; }, {.priority = 14});
  s.spawn([&] { order += 'm'; }, {.priority = 8});
  s.run();
  EXPECT_EQ(order, "hml");
}

// A higher-priority task that becomes ready runs at the next yield of a lower one.
TEST(LocalScheduler, NewHigherPriorityTaskRunsAtTheNextYield) {
  LocalScheduler s;
  std::string order;
  s.spawn([&] {
    order += "1";
    green::spawn([&] { order += "H"; }, {.priority = 12});
    order += "2";  // no yield yet: still us
    this_task::yield();
    order += "3";
  });
  s.run();
  EXPECT_EQ(order, "12H3");
}

TEST(LocalScheduler, SetPriorityTakesEffectWhenRequeued) {
  LocalScheduler s;
  std::string order;
  s.spawn([&] {
    this_task::set_priority(1);
    EXPECT_EQ(this_task::priority(), 1);
    this_task::yield();  // now below b
    order += 'a';
  });
  s.spawn([&] { order += 'b'; });
  s.run();
  EXPECT_EQ(order, "ba");
}

TEST(LocalScheduler, TasksSpawnTasks) {
  LocalScheduler s;
  int count = 0;
  std::function<void(int)> tree = [&](int depth) {
    ++count;
    if (depth == 0) return;
    auto a = green::spawn([&, depth] { tree(depth - 1); });
    auto b = green::spawn([&, depth] { tree(depth - 1); });
    a.join();
    b.join();
  };
  s.spawn([&] { tree(8); });
  s.run();
  EXPECT_EQ(count, (1 << 9) - 1);
}

// run() finds the deadlock once nothing can run. From phase 4 on, a join
// that closes a cycle may throw instead (DeadlockError, a system_error with
// the same code: when the joiners hold a green::Mutex), and the tasks end.
TEST(LocalScheduler, DeadlockIsReportedNotHung) {
  LocalScheduler s;
  green::TaskHandle b_handle;
  bool join_threw = false;
  auto join = [&](green::TaskHandle& h) {
    try {
      h.join();
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
      join_threw = true;
    }
  };
  green::TaskHandle a = s.spawn([&] {
    this_task::yield();  // let b start
    join(b_handle);      // b waits on us: neither can go on
  });
  b_handle = s.spawn([&] { join(a); });
  try {
    s.run();
    EXPECT_TRUE(join_threw) << "run() returned although two tasks wait on each other";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
    EXPECT_NE(std::string(e.what()).find("deadlock"), std::string::npos) << e.what();
  }
  // The two tasks can never end, like two threads blocked on each other
  // forever: their memory stays theirs. Keep the handles reachable so leak
  // checkers see that memory as held, which it is (never destroyed: a static
  // vector would be destroyed before the leak check runs).
  static auto* deadlocked = new std::vector<green::TaskHandle>;
  deadlocked->push_back(std::move(a));
  deadlocked->push_back(std::move(b_handle));
}

TEST(LocalScheduler, RunInsideATaskIsALogicError) {
  LocalScheduler s;
  bool threw = false;
  s.spawn([&] {
    LocalScheduler inner;
    try {
      inner.run();
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  s.run();
  EXPECT_TRUE(threw);
}

TEST(LocalScheduler, DestructorRunsPendingTasks) {
  int ran = 0;
  {
    LocalScheduler s;
    s.spawn([&] { ++ran; }).detach();
  }
  EXPECT_EQ(ran, 1) << "a task spawned on a scheduler must not be silently dropped";
}

TEST(LocalScheduler, BadStackSizesAreRefused) {
  EXPECT_THROW(LocalScheduler(0, 16 * 1024), std::invalid_argument);
  EXPECT_THROW(LocalScheduler(256 * 1024, std::size_t{1} << 40), std::invalid_argument);
}

}  // namespace
