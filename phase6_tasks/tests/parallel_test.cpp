// parallel_for / parallel_reduce: every index once (signed, unsigned, near
// the type's limits), empty ranges, grain rules, index-order reduction,
// deterministic floating point, exceptions, plain threads, nesting.
#include <task_util.hpp>

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace green;
using green::test::scaled;

template <class Index>
void expect_each_once(Runtime& rt, Index first, Index last, std::size_t grain) {
  std::size_t n = static_cast<std::size_t>(green::detail::distance(first, last));
  std::vector<std::atomic<int>> hits(n);
  rt.run([&] {
    parallel_for(first, last, [&](Index i) { hits[static_cast<std::size_t>(green::detail::distance(first, i))].fetch_add(1); }, grain);
  });
  for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(hits[k].load(), 1) << "index " << k << " from first, grain " << grain;
}

TEST(ParallelFor, EveryIndexOnceForSignedAndUnsignedIndices) {
  Runtime rt({.workers = 2});
  for (std::size_t grain : {0u, 1u, 7u, 1000u}) {
    expect_each_once<int>(rt, -500, 1500, grain);
    expect_each_once<unsigned>(rt, 3u, 2003u, grain);
    expect_each_once<std::int64_t>(rt, INT64_MIN, INT64_MIN + 999, grain);
    expect_each_once<std::int64_t>(rt, INT64_MAX - 999, INT64_MAX, grain);
    expect_each_once<std::uint8_t>(rt, 0, 255, grain);
    expect_each_once<short>(rt, SHRT_MIN, SHRT_MAX, grain);
  }
}

TEST(ParallelFor, AnEmptyRangeRunsNothing) {
  Runtime rt({.workers = 2});
  rt.run([] {
    std::atomic<int> ran{0};
    parallel_for(5, 5, [&](int) { ran++; });
    parallel_for(9, 2, [&](int) { ran++; });
    parallel_for(10u, 3u, [&](unsigned) { ran++; }, 1);
    EXPECT_EQ(ran.load(), 0);
    EXPECT_EQ(parallel_reduce(4, 4, 17, [](int, int, int acc) { return acc + 1; }, std::plus<>()), 17)
        << "an empty range reduces to the identity";
    parallel_for(-1, 2, [&](int) { ran++; }, 1);
    EXPECT_EQ(ran.load(), 3) << "and [-1, 2) runs three";
  });
}

// Each piece parallel_reduce hands to body is between grain/2 and grain long.
TEST(ParallelReduce, PiecesAreBetweenHalfTheGrainAndTheGrain) {
  Runtime rt({.workers = 2});
  for (std::size_t grain : {1u, 2u, 3u, 10u, 64u, 1000u}) {
    for (int n : {1, 5, 999, 1000, 1001, 4097}) {
      std::mutex m;
      std::vector<int> sizes;
      long covered = rt.run([&] {
        return parallel_reduce(0, n, 0L, [&](int lo, int hi, long acc) {
          std::lock_guard lk(m);
          sizes.push_back(hi - lo);
          return acc + (hi - lo);
        }, std::plus<>(), grain);
      });
      EXPECT_EQ(covered, n);
      for (int s : sizes) {
        EXPECT_LE(static_cast<std::size_t>(s), grain) << "n " << n << " grain " << grain;
        if (static_cast<std::size_t>(n) > grain) {
          EXPECT_GE(2 * static_cast<std::size_t>(s), grain) << "n " << n << " grain " << grain;
        }
      }
    }
  }
}

TEST(ParallelReduce, CombinesInIndexOrder) {
  for (unsigned workers : {1u, 2u}) {
    Runtime rt({.workers = workers});
    std::string serial;
    for (int i = 0; i < 2000; ++i) serial += std::to_string(i) + ",";
    for (std::size_t grain : {0u, 1u, 13u}) {
      std::string s = rt.run([&] {
        return parallel_reduce(0, 2000, std::string(), [](int lo, int hi, std::string acc) {
          for (int i = lo; i < hi; ++i) acc += std::to_string(i) + ",";
          return acc;
        }, [](std::string a, const std::string& b) { return a + b; }, grain);
      });
      EXPECT_EQ(s, serial) << "string concatenation is associative, not commutative: order matters (grain " << grain << ")";
    }
  }
}

TEST(ParallelReduce, FloatingPointIsTheSameOnEveryRunAndWorkerCount) {
  const int n = static_cast<int>(scaled(1'000'000, 10'000));
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = 1.0 / (1.0 + i % 977) * ((i % 2) ? 1e8 : 1e-8);
  auto sum = [&](Runtime& rt) {
    return rt.run([&] {
      return parallel_reduce(0, n, 0.0, [&](int lo, int hi, double acc) {
        for (int i = lo; i < hi; ++i) acc += v[static_cast<std::size_t>(i)];
        return acc;
      }, std::plus<>(), 1000);
    });
  };
  Runtime one({.workers = 1}), two({.workers = 2}), three({.workers = 3});
  double first = sum(two);
  for (int r = 0; r < 5; ++r) EXPECT_EQ(sum(two), first) << "run " << r;
  EXPECT_EQ(sum(one), first);
  EXPECT_EQ(sum(three), first);
}

TEST(ParallelFor, AnExceptionFromABodyIsRethrownOnce) {
  Runtime rt({.workers = 2});
  rt.run([] {
    std::atomic<int> ran{0};
    EXPECT_THROW(parallel_for(0, 10000, [&](int i) {
      ran++;
      if (i == 5000) throw std::runtime_error("index 5000");
    }, 10), std::runtime_error);
    EXPECT_GE(ran.load(), 1);
    EXPECT_THROW(parallel_reduce(0, 100, 0, [](int lo, int, int) -> int {
      if (lo >= 50) throw std::domain_error("piece");
      return 0;
    }, std::plus<>(), 5), std::domain_error);
  });
}

TEST(ParallelFor, FromAPlainThreadOnTheNewestRuntime) {
  EXPECT_THROW(parallel_for(0, 10, [](int) {}), std::logic_error) << "no runtime alive";
  Runtime rt({.workers = 2});
  std::atomic<long> sum{0};
  parallel_for(0, 1000, [&](int i) { sum += i; });
  EXPECT_EQ(sum.load(), 999L * 1000 / 2);
  EXPECT_EQ(parallel_reduce(1, 101, 0, [](int lo, int hi, int acc) {
    for (int i = lo; i < hi; ++i) acc += i;
    return acc;
  }, std::plus<>()), 5050);
}

TEST(ParallelFor, NestedFiveLevelsDeep) {
  Runtime rt({.workers = 2});
  std::atomic<long> leaves{0};
  rt.run([&] {
    parallel_for(0, 4, [&](int) {
      parallel_for(0, 4, [&](int) {
        parallel_for(0, 4, [&](int) {
          parallel_for(0, 4, [&](int) { parallel_for(0, 8, [&](int) { leaves++; }); });
        });
      });
    });
  });
  EXPECT_EQ(leaves.load(), 4L * 4 * 4 * 4 * 8);
}

// A nested 1000 x 1000 loop on 16 KiB stacks: helping must stop before a
// guard page (the test would crash).
TEST(ParallelFor, Nested1000By1000OnSmallStacks) {
  Runtime rt({.workers = 2, .stack_size = 16 * 1024});
  const int n = static_cast<int>(scaled(1000, 30));
  std::atomic<long> count{0};
  rt.run([&] {
    parallel_for(0, n, [&](int) {
      std::atomic<long> local{0};  // the inner pieces run on both workers
      parallel_for(0, n, [&](int) { local.fetch_add(1, std::memory_order_relaxed); }, 1);
      count += local.load();
    }, 1);
  });
  EXPECT_EQ(count.load(), static_cast<long>(n) * n);
}

TEST(ParallelFor, CanceledWithItsGroup) {
  Runtime rt({.workers = 2});
  rt.run([] {
    TaskGroup g;
    std::atomic<long> ran{0};
    g.run([&] {
      g.cancel();  // before the loop: its pieces belong to a canceled scope
      parallel_for(0, 100000, [&](int) { ran++; }, 100);
    });
    g.wait();
    EXPECT_EQ(ran.load(), 0) << "pieces of a loop inside a canceled group must not run";
  });
}

}  // namespace
