// RingQueue: FIFO order, capacity, and one producer against many consumers.
#include <green/detail/ring_queue.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using green::detail::RingQueue;
using green::test::scaled;

TEST(RingQueue, FifoAndCapacity) {
  static int items[8];
  RingQueue<int*, 8> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop(), nullptr);
  for (int& i : items) EXPECT_TRUE(q.push(&i));
  EXPECT_FALSE(q.push(&items[0])) << "a full ring must refuse, not overwrite";
  EXPECT_EQ(q.size(), 8u);
  for (int& i : items) EXPECT_EQ(q.pop(), &i);
  EXPECT_TRUE(q.empty());
}

TEST(RingQueue, WrapsAroundManyTimes) {
  static int items[3];
  RingQueue<int*, 4> q;
  for (int round = 0; round < 100000; ++round) {
    for (int& i : items) ASSERT_TRUE(q.push(&i));
    for (int& i : items) ASSERT_EQ(q.pop(), &i);
  }
}

TEST(RingQueue, HeadAndTailOnSeparateCacheLines) {
  RingQueue<int*, 8> q;
  EXPECT_GE(sizeof(q), 3 * 64u) << "head, tail and slots each get their own line";
  EXPECT_EQ(alignof(RingQueue<int*, 8>), 64u);
}

// One producer, several consumers: every item is taken exactly once.
TEST(RingQueue, OneProducerManyConsumersLoseAndDuplicateNothing) {
  for (int consumers : {1, 3, 7}) {
    const long n = scaled(1'000'000, 1000);
    std::vector<long> values(static_cast<std::size_t>(n));
    std::vector<std::atomic<int>> taken(static_cast<std::size_t>(n));
    RingQueue<long*, 64> q;
    std::atomic<long> consumed{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < consumers; ++c)
      threads.emplace_back([&] {
        while (consumed.load(std::memory_order_relaxed) < n)
          if (long* p = q.pop()) {
            taken[static_cast<std::size_t>(p - values.data())].fetch_add(1, std::memory_order_relaxed);
            consumed.fetch_add(1, std::memory_order_relaxed);
          } else {
            std::this_thread::yield();  // more threads than cores: let the producer run
          }
      });
    for (long i = 0; i < n; ++i)
      while (!q.push(&values[static_cast<std::size_t>(i)])) std::this_thread::yield();
    for (auto& t : threads) t.join();
    for (long i = 0; i < n; ++i) ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << "item " << i << " with " << consumers << " consumers";
  }
}

}  // namespace
