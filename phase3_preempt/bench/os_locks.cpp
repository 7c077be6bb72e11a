// What holding preemption off across OS locks costs (src/os_locks.cpp).
//   BM_LockPair  an uncontended std::mutex lock/unlock pair in a task of a
//                preemptive runtime (1 worker, 10 ms slices), through the
//                interposed pthread calls, against the same pair made
//                straight to the C library's functions (what a program
//                without green pays). 15 alternating rounds of 2^20 pairs
//                each; counters: the medians of interposed_ns and plain_ns
//                per pair, and of the per-round ratio.
#include <green/green.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using LockFn = int (*)(pthread_mutex_t*);

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class Pair>
double ns_per_pair(long n, Pair pair) {
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) pair();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
}

void BM_LockPair(benchmark::State& state) {
  // The C library's own functions, as an un-interposed program calls them.
  auto lock = reinterpret_cast<LockFn>(dlsym(RTLD_NEXT, "pthread_mutex_lock"));
  auto unlock = reinterpret_cast<LockFn>(dlsym(RTLD_NEXT, "pthread_mutex_unlock"));
  constexpr long kPairs = 1 << 20;
  constexpr int kRounds = 15;
  green::Runtime rt({.workers = 1, .time_slice = std::chrono::milliseconds(10)});
  for (auto _ : state) {
    std::vector<double> inter, plain, ratio;
    rt.run([&] {
      std::mutex m;
      auto* raw = m.native_handle();
      for (int r = 0; r < kRounds; ++r) {
        double a = ns_per_pair(kPairs, [&] {
          m.lock();
          benchmark::ClobberMemory();
          m.unlock();
        });
        double b = ns_per_pair(kPairs, [&] {
          lock(raw);
          benchmark::ClobberMemory();
          unlock(raw);
        });
        inter.push_back(a);
        plain.push_back(b);
        ratio.push_back(a / b);
      }
    });
    state.counters["interposed_ns"] = median(inter);
    state.counters["plain_ns"] = median(plain);
    state.counters["ratio"] = median(ratio);
  }
}
BENCHMARK(BM_LockPair)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
