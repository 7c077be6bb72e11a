// The workloads of phase4_sync/bench/sync.cpp (PEER-WORKLOADS.md sections 6, 7
// and 10) with OS threads and the standard library: what a program without a
// green-thread runtime pays. Threads are unpinned on the machine's CPUs.
// BENCH_SCALE=0.01 scales the sizes down for a quick try.
//   mutex_uncontended        one thread, no other: 50M lock/unlock pairs of a
//                            std::mutex after 5M untimed ones (ns per pair)
//   mutex_contended          T threads share a std::mutex and a counter: 6,400,000
//                            sections in all of `lock; ++counter; unlock; y =
//                            lcg_work(y, work)`, T = 2 (3,200,000 each) and 64
//                            (100,000 each), work 0 or 90 (ns per section, thread
//                            creation included); mutex_work_alone: the 90 steps alone
//   pingpong_cv              two threads pass a turn through a std::mutex and a
//                            std::condition_variable, 20,000 times each: every
//                            hand-off is a futex wake across CPUs (ns per hand-off)
//   sleep_overshoot_p50/p99  std::this_thread::sleep_for(1 ms) 1,000 times in a row
//                            (glibc clock_nanosleep): how late, nearest rank (us)
// Prints one `peer=std bench=... value=... unit=...` line each.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "sync_workloads.hpp"  // phase4_sync/bench: what the phase 4 workloads share

namespace {

using namespace workloads;
using namespace std::chrono_literals;

double mutex_uncontended(long n) { return lock_unlock_ns<std::mutex>(n); }

double mutex_contended(int threads, long total, long work) {
  std::mutex m;
  long counter = 0;
  const long per = total / threads;
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] { contend(m, counter, per, work, t); });
  for (auto& t : ts) t.join();
  double ns = since_ns(t0) / static_cast<double>(threads * per);
  if (counter != threads * per) {
    std::fprintf(stderr, "std: mutex_contended: wrong counter\n");
    std::abort();
  }
  return ns;
}

double pingpong_cv(long n) {
  return pingpong_cv_ns<std::mutex, std::condition_variable>(n, [](auto f, auto g) {
    std::thread a(f), b(g);
    a.join();
    b.join();
  });
}

void sleep_overshoot(long n) {
  auto [p50, p99] = sleep_overshoot_us(n, [] { std::this_thread::sleep_for(1ms); });
  std::printf("peer=std bench=sleep_overshoot_p50 threads=1 value=%.1f unit=us\n", p50);
  std::printf("peer=std bench=sleep_overshoot_p99 threads=1 value=%.1f unit=us\n", p99);
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("peer=std bench=mutex_uncontended value=%.2f unit=ns\n", mutex_uncontended(scaled(50'000'000)));
  for (long work : {0L, 90L})
    for (int threads : {2, 64})
      std::printf("peer=std bench=mutex_contended threads=%d work=%ld value=%.2f unit=ns\n", threads, work,
                  mutex_contended(threads, scaled(6'400'000), work));
  std::printf("peer=std bench=mutex_work_alone work=90 value=%.2f unit=ns\n", work_alone(90));
  std::printf("peer=std bench=pingpong_cv threads=2 value=%.2f unit=ns\n", pingpong_cv(scaled(20'000)));
  sleep_overshoot(scaled(1000));
}
