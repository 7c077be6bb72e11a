// ChaseLevDeque against a model: with 2 to 8 threads, every pushed item is
// taken exactly once (by the owner's pop or a thief's steal); nothing is lost
// or duplicated. Owner-only order (LIFO) is checked single-threaded.
#include <green/detail/chase_lev_deque.hpp>
#include <green/detail/sanitizers.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace {

using green::detail::ChaseLevDeque;
using green::test::scaled;

TEST(ChaseLevDeque, OwnerIsLifoThiefIsFifo) {
  static int items[4];
  ChaseLevDeque<int*, 4> d;
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
  for (int& i : items) EXPECT_TRUE(d.push(&i));
  EXPECT_FALSE(d.push(&items[0])) << "full: refuse, never overwrite";
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.steal(), &items[0]);  // oldest
  EXPECT_EQ(d.pop(), &items[3]);    // newest
  EXPECT_EQ(d.pop(), &items[2]);
  EXPECT_EQ(d.steal(), &items[1]);
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_TRUE(d.empty());
}

TEST(ChaseLevDeque, WrapsAround) {
  static int items[3];
  ChaseLevDeque<int*, 4> d;
  for (int round = 0; round < 100000; ++round) {
    for (int& i : items) ASSERT_TRUE(d.push(&i));
    ASSERT_EQ(d.steal(), &items[0]);
    ASSERT_EQ(d.pop(), &items[2]);
    ASSERT_EQ(d.pop(), &items[1]);
  }
}

// The owner pushes and pops at random; thieves steal. Each item must be taken
// exactly once. The last-element race (pop vs steal on one item) happens
// constantly because the deque is kept nearly empty.
void model_check(int thieves, long pushes) {
  std::vector<long> items(static_cast<std::size_t>(pushes));
  std::vector<std::atomic<unsigned char>> taken(static_cast<std::size_t>(pushes));
  ChaseLevDeque<long*, 64> d;
  std::atomic<bool> done{false};
  std::atomic<long> stolen{0};
  auto take = [&](long* p) {
    auto& t = taken[static_cast<std::size_t>(p - items.data())];
    ASSERT_EQ(t.fetch_add(1, std::memory_order_relaxed), 0) << "item " << (p - items.data()) << " taken twice";
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < thieves; ++i)
    ts.emplace_back([&] {
      while (!done.load(std::memory_order_acquire))
        if (long* p = d.steal()) {
          take(p);
          stolen.fetch_add(1, std::memory_order_relaxed);
        } else {
          std::this_thread::yield();
        }
    });
  std::mt19937 rng(42);
  long next = 0;
  for (long op = 0; next < pushes; ++op) {
    // Now and then give the thieves the CPU (there may be more threads than
    // cores, and Valgrind runs one thread at a time).
    if (op % 256 == 0) std::this_thread::yield();
    if (next == pushes / 2 && stolen.load() == 0) {
      // Make sure the thieves get their chance at least once: leave items
      // in the deque and wait (bounded) for a steal.
      for (int i = 0; i < 16 && next < pushes && d.push(&items[static_cast<std::size_t>(next)]); ++i) ++next;
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (stolen.load() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    }
    if (rng() % 3 != 0) {
      if (d.push(&items[static_cast<std::size_t>(next)])) ++next;
    } else if (long* p = d.pop()) {
      take(p);
    }
  }
  while (long* p = d.pop()) take(p);
  done.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  while (long* p = d.steal()) take(p);  // a steal may have lost a race after our last pop
  for (long i = 0; i < pushes; ++i)
    ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << "item " << i << " lost (thieves: " << thieves << ")";
  EXPECT_GT(stolen.load(), 0) << "no steal succeeded: the race was not exercised";
}

// 10^6 pushes, in TSan too (scaled() would take 10x off there; this is the
// test TSan is for).
const long kPushes = scaled(GREEN_TSAN ? 10'000'000 : 1'000'000, 5000);
TEST(ChaseLevDeque, ModelWith2Threads) { model_check(1, kPushes); }
TEST(ChaseLevDeque, ModelWith4Threads) { model_check(3, kPushes); }
TEST(ChaseLevDeque, ModelWith8Threads) { model_check(7, kPushes); }

}  // namespace
