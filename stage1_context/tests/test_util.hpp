// Helpers shared by the test files of every stage.
#pragma once
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>
#include <green/local_scheduler.hpp>
#include <green/this_task.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace green::test {

// GREEN_TEST_SCALE (default 1) shrinks stress loops: the Valgrind smoke test
// runs with 0.02. Under ThreadSanitizer, which runs 5-15x slower and keeps a
// thread state per live task, loops shrink by another 10x. Never below
// `floor`, so a scaled test still tests something.
// full_under_tsan: a race test whose count is its point keeps it under TSan.
inline long scaled(long n, long floor = 10, bool full_under_tsan = false) {
  static const double env = [] {
    const char* s = std::getenv("GREEN_TEST_SCALE");
    return s ? std::atof(s) : 1.0;
  }();
  double scale = env * (GREEN_TSAN && !full_under_tsan ? 0.1 : 1.0);
  long v = static_cast<long>(static_cast<double>(n) * scale);
  return v < floor ? (n < floor ? n : floor) : v;
}

// The permissions of the mapping that holds the byte at p ("rw-p"), or ""
// if none does. Read from /proc/self/maps.
inline std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  while (std::getline(maps, line)) {
    std::uintptr_t lo, hi;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) == 3 && lo <= a && a < hi) return perms;
  }
  return "";
}

// Is the byte at p mapped PROT_NONE?
inline bool is_guard_page(const void* p) { return mapping_of(p).substr(0, 3) == "---"; }

// n tasks on one LocalScheduler, all alive at once (each yields once, after
// every one has started): each must run to its end.
inline void run_all_live_at_once(long n) {
  LocalScheduler s;
  long started = 0, finished = 0;
  std::vector<TaskHandle> handles;
  handles.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i)
    handles.push_back(s.spawn([&] {
      ++started;
      this_task::yield();  // everyone is live here at once
      EXPECT_EQ(started, n);
      ++finished;
    }));
  s.run();
  EXPECT_EQ(finished, n);
  for (auto& h : handles) h.join();
}

// Recursion that never ends for n large enough: 256 bytes of frame per call,
// for the overflow tests.
[[gnu::noinline]] inline int recurse(int n) {
  volatile char pad[256];
  pad[0] = static_cast<char>(n);
  return n == 0 ? pad[0] : recurse(n - 1) + pad[0];
}

}  // namespace green::test
