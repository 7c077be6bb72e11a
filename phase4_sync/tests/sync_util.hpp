// Helpers for phase 4's tests.
#pragma once
#include <green/green.hpp>
#include <test_util.hpp>

#include <sys/resource.h>
#include <valgrind/valgrind.h>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace green::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A bound on how long something may take, for a quiet machine: Valgrind
// runs one thread at a time, 20-50x slower; TSan 5-15x slower.
inline std::chrono::milliseconds slack(std::chrono::milliseconds d) {
  return d * (RUNNING_ON_VALGRIND ? 50 : GREEN_TSAN ? 10 : 1);
}

// Runs body(i) in n tasks of rt and waits for all of them.
inline void in_tasks(Runtime& rt, int n, const std::function<void(int)>& body) {
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < n; ++i) hs.push_back(spawn([&body, i] { body(i); }));
    for (auto& h : hs) h.join();
  });
}

// The process's CPU time (user + system), for "waiters use no CPU" checks.
inline std::chrono::microseconds cpu_time() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](timeval t) { return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec); };
  return us(u.ru_utime) + us(u.ru_stime);
}

// A cheap random yield: stirs the interleavings of a stress test.
inline void maybe_yield(unsigned& seed) {
  seed = seed * 1103515245u + 12345u;
  if ((seed >> 16) % 4 == 0) this_task::yield();
}

}  // namespace green::test
