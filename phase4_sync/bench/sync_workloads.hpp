// What the phase 4 workloads of PEER-WORKLOADS.md share, in green's
// bench/sync and in the C++ peers (grader/peers/std_bench.cpp,
// boost_fiber_bench.cpp, built with -Iphase4_sync/bench): one definition of
// the work, the sizes, the clock and the statistics, so the programs measure
// the same thing. Plain C++: no green header.
#pragma once
#include <stats.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace workloads {

using Clock = std::chrono::steady_clock;

inline double since_ns(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

// A workload's size n times BENCH_SCALE (default 1), for quick tries.
inline long scaled(long n) {
  static const double scale = [] {
    const char* s = std::getenv("BENCH_SCALE");
    return s && *s ? std::atof(s) : 1.0;
  }();
  return std::max(1L, std::lround(static_cast<double>(n) * scale));
}

// A field of /proc/self/status (VmRSS, VmHWM), in bytes.
inline double status_bytes(const std::string& field) {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) * 1024.0;
  return 0;
}
// Lets VmHWM start again from VmRSS, so that what earlier benchmarks of this
// process took does not count.
inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// lcg_work: `steps` steps of a 64-bit LCG, one dependent chain; the empty asm
// keeps the compiler from folding the loop.
inline std::uint64_t lcg_work(std::uint64_t x, long steps) {
  for (long i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
  return x;
}
inline std::atomic<std::uint64_t> sink{0};  // keeps the work's results alive

// The work alone, on the calling thread: ns per lcg_work(work).
inline double work_alone(long work) {
  const long n = 1'000'000;
  std::uint64_t y = 1;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) y = lcg_work(y, work);
  sink.fetch_add(y);
  return since_ns(t0) / static_cast<double>(n);
}

// Mutex, uncontended: n lock+unlock pairs of a fresh M, after n/10 untimed
// ones: ns per pair.
template <class M>
double lock_unlock_ns(long n) {
  M m;
  for (long i = 0; i < n / 10; ++i) {  // warm-up
    m.lock();
    m.unlock();
  }
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    m.lock();
    m.unlock();
  }
  return since_ns(t0) / static_cast<double>(n);
}

// Mutex, contended: one task's (or thread's) share of the sections, `per`
// times `lock; ++counter; unlock; y = lcg_work(y, work)`, seeded with its index.
template <class M>
void contend(M& m, long& counter, long per, long work, int index) {
  auto y = static_cast<std::uint64_t>(index);
  for (long i = 0; i < per; ++i) {
    m.lock();
    ++counter;
    m.unlock();
    y = lcg_work(y, work);
  }
  sink.fetch_add(y, std::memory_order_relaxed);  // only keeps y alive: orders nothing
}

// Condition-variable ping-pong: two players pass the turn, n times each;
// start(f, g) runs f and g as two tasks (or threads) and waits for both.
// ns per hand-off.
template <class M, class CV, class Start>
double pingpong_cv_ns(long n, Start start) {
  M m;
  CV cv;
  int turn = 0;
  auto player = [&](int me) {
    for (long i = 0; i < n; ++i) {
      std::unique_lock lk(m);
      while (turn != me) cv.wait(lk);
      turn = 1 - me;
      cv.notify_one();
    }
  };
  auto t0 = Clock::now();
  start([&] { player(0); }, [&] { player(1); });
  return since_ns(t0) / (2.0 * static_cast<double>(n));
}

using benchstats::percentile;

// Sleep accuracy: n sleeps of 1 ms in a row by sleep_1ms(); the p50 and p99
// of how late each woke, in us.
template <class Sleep>
std::pair<double, double> sleep_overshoot_us(long n, Sleep sleep_1ms) {
  using namespace std::chrono_literals;
  std::vector<double> late;
  for (long i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    sleep_1ms();
    late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0 - 1ms).count());
  }
  return {percentile(late, 0.5), percentile(late, 0.99)};
}

}  // namespace workloads
