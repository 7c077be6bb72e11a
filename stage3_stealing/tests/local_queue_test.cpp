// LocalQueue's next slot (detail/local_queue.hpp): the owner runs the task
// made Ready last first; the task it displaces keeps the deque's order;
// thieves take from the deque, and from the slot only a task that sat there
// since their previous look; a lone worker's queue answers as a normal one.
// And in the runtime: a task spawned by a busy task is still taken by an
// idle worker.
#include <green/detail/local_queue.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace {

using green::detail::LocalQueue;
using green::detail::Task;

Task* fake(std::uintptr_t i) { return reinterpret_cast<Task*>(i * 64); }  // never dereferenced

TEST(LocalQueue, TheNextSlotRunsFirstAndWhatItDisplacesKeepsTheDequesOrder) {
  LocalQueue q;
  EXPECT_EQ(q.push_next(fake(1)), nullptr);
  EXPECT_EQ(q.push_next(fake(2)), fake(1)) << "push_next returns the task it displaced";
  ASSERT_TRUE(q.push(fake(1)));
  EXPECT_EQ(q.push_next(fake(3)), fake(2));
  ASSERT_TRUE(q.push(fake(2)));
  EXPECT_TRUE(q.nonempty_sc());
  EXPECT_EQ(q.pop(), fake(3)) << "the next slot first";
  EXPECT_EQ(q.pop(), fake(2)) << "then the deque, newest first";
  EXPECT_EQ(q.pop(), fake(1));
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_FALSE(q.nonempty_sc());
}

TEST(LocalQueue, ThievesTakeTheDequeFirstAndTheSlotOnlyWhenStale) {
  LocalQueue q;
  q.push_next(fake(1));
  ASSERT_TRUE(q.push(fake(2)));
  EXPECT_EQ(q.steal(), fake(2)) << "steal() takes from the deque, never the slot";
  EXPECT_EQ(q.steal(), nullptr);
  EXPECT_TRUE(q.nonempty_sc()) << "the slot counts for the wake-up protocol";
  std::uint64_t seen = ~0ull;
  EXPECT_EQ(q.steal_stale_next(&seen), nullptr) << "a first look only notes the push count";
  EXPECT_EQ(q.steal_stale_next(&seen), fake(1)) << "no push since: the task sat there; take it";
  EXPECT_EQ(q.pop(), nullptr);
  q.push_next(fake(3));
  EXPECT_EQ(q.steal_stale_next(&seen), nullptr) << "pushed since the last look: leave it";
  EXPECT_EQ(q.pop(), fake(3));
  q.push_next(fake(4));
  EXPECT_EQ(q.steal_next(), fake(4));
  EXPECT_EQ(q.pop(), nullptr);
}

// A lone worker's queue (set_alone: plain loads and stores, no thieves) must
// be the same queue: the same random operations, owner's and the owner's
// own take_oldest (which spills use), give the same answers as a normal one,
// through overflow (push refused at capacity) and emptiness.
TEST(LocalQueue, ALoneWorkersQueueAnswersAsANormalOne) {
  LocalQueue normal, alone;
  alone.set_alone();
  std::uint64_t rng = 88172645463325252ull;
  auto next = [&rng] { return rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; };
  std::uintptr_t id = 1;
  for (int i = 0; i < 200000; ++i) {
    switch (next() % 8) {
      case 0:
      case 1: {  // a burst of pushes: reaches the capacity now and then
        for (int k = static_cast<int>(next() % 300); k > 0; --k, ++id)
          ASSERT_EQ(normal.push(fake(id)), alone.push(fake(id))) << "push, op " << i;
        break;
      }
      case 2: {
        Task* a = normal.push_next(fake(id));
        ASSERT_EQ(a, alone.push_next(fake(id))) << "push_next, op " << i;
        ++id;
        if (a) {
          ASSERT_EQ(normal.push(a), alone.push(a));
        }
        break;
      }
      case 3:
      case 4:
        for (int k = static_cast<int>(next() % 200); k > 0; --k) ASSERT_EQ(normal.pop(), alone.pop()) << "pop, op " << i;
        break;
      case 5: {  // help-first's take of the newest, and its undo
        Task* t = fake(id - 1 - next() % 3);
        int wn = normal.take(t), wa = alone.take(t);
        ASSERT_EQ(wn, wa) << "take, op " << i;
        if (wn && next() % 2) {
          normal.put_back(t, wn);
          alone.put_back(t, wa);
        }
        break;
      }
      case 6:
        ASSERT_EQ(take_oldest(normal), take_oldest(alone)) << "take_oldest, op " << i;
        break;
      default:
        ASSERT_EQ(normal.nonempty_sc(), alone.nonempty_sc()) << "nonempty_sc, op " << i;
    }
  }
  while (Task* t = normal.pop()) ASSERT_EQ(t, alone.pop());
  EXPECT_EQ(alone.pop(), nullptr);
}

// The slot would hold a spawned task until its spawner blocks, if thieves
// never took from it: f would not run in parallel with long work.
TEST(StealingNoValgrind, ATaskSpawnedByABusyTaskRunsInParallel) {
  green::Runtime rt({.workers = 2});
  rt.run([] {
    std::atomic<bool> started{false};
    auto child = green::spawn([&] { started = true; });
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!started.load() && std::chrono::steady_clock::now() < until) {
    }  // long work, no yield: only the other worker can run the child
    EXPECT_TRUE(started.load()) << "the child waited in the next slot while its worker was busy";
    child.join();
  });
}

}  // namespace
