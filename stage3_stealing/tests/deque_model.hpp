// The model check of a work-stealing deque (stage 3's ChaseLevDeque, phase
// 6's GrowableDeque): the owner pushes and pops at random while thieves
// steal, and every item must be taken exactly once.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace green::test {

// The owner pushes and pops at random (two pushes to a pop); thieves steal.
// Each item must be taken exactly once. The last-element race (pop vs steal
// on one item) happens constantly while the deque is nearly empty. d holds
// long*; a push may refuse (a full fixed deque): the owner pops instead.
template <class Deque>
void model_check(Deque& d, int thieves, long pushes) {
  std::vector<long> items(static_cast<std::size_t>(pushes));
  std::vector<std::atomic<unsigned char>> taken(static_cast<std::size_t>(pushes));
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

}  // namespace green::test
