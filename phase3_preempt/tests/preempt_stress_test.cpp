// Preemption in the middle of everything: the allocator, iostreams,
// exceptions, and the runtime's own spawn/join/yield/park paths, with slices
// short enough that ticks land everywhere.
#include <green/detail/preempt_signal.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using green::detail::preempt_stats;
using green::test::scaled;
using Clock = std::chrono::steady_clock;

bool k_yield(long x) { return (x & 1) == 0; }  // every other leaf yields once

struct Checked : std::runtime_error {
  explicit Checked(long v) : std::runtime_error("checked " + std::to_string(v)), value(v) {}
  long value;
};

[[gnu::noinline]] long thrower(long depth, long v) {
  std::string keep(static_cast<std::size_t>(depth) + 8, 'x');  // something to destroy while unwinding
  if (depth == 0) throw Checked(v);
  return thrower(depth - 1, v) + static_cast<long>(keep.size());
}

// One unit of library-heavy work; returns false if anything came out wrong.
bool library_work(unsigned& seed) {
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  // malloc/free of assorted sizes, each block filled and checked.
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (int i = 0; i < 16; ++i) {
    std::size_t n = 1 + next() % 4096;
    auto* p = static_cast<unsigned char*>(std::malloc(n));
    if (!p) return false;
    std::memset(p, static_cast<int>(n & 0xff), n);
    blocks.emplace_back(p, n);
  }
  bool ok = true;
  for (auto& [p, n] : blocks) {
    for (std::size_t k = 0; k < n; k += 97) ok &= p[k] == static_cast<unsigned char>(n & 0xff);
    std::free(p);
  }
  // iostreams: format and parse back.
  std::ostringstream out;
  long a = static_cast<long>(next() % 100000);
  double b = static_cast<double>(next() % 1000) / 8;
  out << a << ' ' << b << " end";
  std::istringstream in(out.str());
  long a2 = 0;
  double b2 = 0;
  std::string word;
  in >> a2 >> b2 >> word;
  ok &= a2 == a && b2 == b && word == "end";
  // Exceptions through a few frames with destructors.
  long v = static_cast<long>(next() % 1000);
  try {
    thrower(static_cast<long>(next() % 8), v);
    ok = false;
  } catch (const Checked& e) {
    ok &= e.value == v;
  }
  return ok;
}

// 5 s (scaled) of malloc/free, iostream and exception-heavy tasks with
// 100 us slices: no deadlock, no corruption. Such tasks are mostly inside
// libraries, where a tick is deferred, and under Valgrind a scaled run sees
// only a few dozen ticks: if none has preempted yet when the time is up, the
// tasks go on (up to 10x longer) until one has, so the check below holds
// on every run and still fails if preemption never happens.
TEST(PreemptStress, LibraryHeavyTasksForFiveSeconds) {
  green::Runtime rt({.workers = 2, .time_slice = 100us});
  const auto duration = std::chrono::milliseconds(scaled(5'000, 200));
  const auto p0 = preempt_stats();
  std::atomic<long> units{0}, bad{0};
  const auto until = Clock::now() + duration, at_most = Clock::now() + 10 * duration;
  auto go_on = [&] {
    auto now = Clock::now();
    return now < until || (now < at_most && preempt_stats().preemptions == p0.preemptions);
  };
  std::vector<green::TaskHandle> hs;
  for (unsigned k = 0; k < 8; ++k)
    hs.push_back(rt.spawn([&, k] {
      unsigned seed = k + 1;
      while (go_on()) {
        if (!library_work(seed)) bad.fetch_add(1);
        units.fetch_add(1, std::memory_order_relaxed);
      }
    }));
  for (auto& h : hs) h.join();
  const auto p1 = preempt_stats();
  EXPECT_EQ(bad.load(), 0) << "units of work that came out wrong, of " << units.load();
  EXPECT_GT(p1.preemptions - p0.preemptions, 0u);
  std::printf("  %ld units, %llu preemptions, %llu ticks deferred (not at a safe point)\n", units.load(),
              static_cast<unsigned long long>(p1.preemptions - p0.preemptions),
              static_cast<unsigned long long>(p1.deferred - p0.deferred));
}

// 50 us slices over the runtime's own paths: nested spawns, joins across
// workers, yields, task-local values, exceptions through join.
TEST(PreemptStress, RapidTicksOverSpawnJoinYieldAndTaskLocals) {
  green::Runtime rt({.workers = 2, .time_slice = 50us});
  const long rounds = scaled(2000, 20);
  std::atomic<long> leaves{0}, wrong{0};
  green::TaskLocal<long> mine;
  const auto p0 = preempt_stats().preemptions;
  rt.run([&] {
    for (long r = 0; r < rounds; ++r) {
      std::vector<green::TaskHandle> hs;
      for (int i = 0; i < 8; ++i)
        hs.push_back(green::spawn([&, i] {
          *mine = i;
          std::vector<green::TaskHandle> inner;
          for (int j = 0; j < 4; ++j)
            inner.push_back(green::spawn([&] {
              volatile long x = 0;
              for (int k = 0; k < 2000; ++k) x = x + k;
              if (k_yield(x)) green::this_task::yield();
              leaves.fetch_add(1, std::memory_order_relaxed);
            }));
          for (auto& h : inner) h.join();
          if (*mine != i) wrong.fetch_add(1);
          if (i == 7) throw std::runtime_error("through join");
        }));
      for (int i = 0; i < 8; ++i) {
        if (i == 7) EXPECT_THROW(hs[i].join(), std::runtime_error);
        else hs[i].join();
      }
    }
  });
  EXPECT_EQ(leaves.load(), rounds * 8 * 4);
  EXPECT_EQ(wrong.load(), 0) << "a task saw another task's TaskLocal value";
  std::printf("  %llu preemptions\n", static_cast<unsigned long long>(preempt_stats().preemptions - p0));
}

}  // namespace
