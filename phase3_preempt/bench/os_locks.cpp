// What holding preemption off across OS locks costs (src/os_locks.cpp).
//   BM_LockPair  an uncontended std::mutex lock/unlock pair in a task of a
//                preemptive runtime (1 worker, 10 ms slices), three ways:
//                through the interposed pthread calls; through a bare
//                forwarder, a call that only passes the pair on to the C
//                library (what any interposer costs, before it does
//                anything); and straight to the C library (what a program
//                without green pays). 15 alternating rounds of 2^20 pairs
//                each; counters: the medians of interposed_ns, forwarded_ns
//                and plain_ns per pair, of the per-round ratio
//                interposed/forwarded (what holding preemption off adds),
//                and of interposed/plain.
//
// The check is on `ratio`, against the forwarder: the forwarding itself is
// one call and return each way, a fixed ~1.5 ns that is 10% of a 15 ns pair
// on one machine and 30% of a 5 ns pair on another.
#include <green/green.hpp>

#include <benchmark/benchmark.h>
#include <stats.hpp>

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using LockFn = int (*)(pthread_mutex_t*);

using benchstats::median;

template <class Pair>
double ns_per_pair(long n, Pair pair) {
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) pair();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
}

// The C library's own functions, as an un-interposed program calls them.
LockFn libc_lock, libc_unlock;

// The bare forwarders: the shape of an interposed call, with nothing in it.
[[gnu::noinline]] int forward_lock(pthread_mutex_t* m) { return libc_lock(m); }
[[gnu::noinline]] int forward_unlock(pthread_mutex_t* m) { return libc_unlock(m); }

void BM_LockPair(benchmark::State& state) {
  libc_lock = reinterpret_cast<LockFn>(dlsym(RTLD_NEXT, "pthread_mutex_lock"));
  libc_unlock = reinterpret_cast<LockFn>(dlsym(RTLD_NEXT, "pthread_mutex_unlock"));
  LockFn lock = libc_lock, unlock = libc_unlock;
  constexpr long kPairs = 1 << 20;
  constexpr int kRounds = 15;
  green::Runtime rt({.workers = 1, .time_slice = std::chrono::milliseconds(10)});
  for (auto _ : state) {
    std::vector<double> inter, fwd, plain, ratio, ratio_plain;
    rt.run([&] {
      std::mutex m;
      auto* raw = m.native_handle();
      for (int r = 0; r < kRounds; ++r) {
        double a = ns_per_pair(kPairs, [&] {
          m.lock();
          benchmark::ClobberMemory();
          m.unlock();
        });
        double f = ns_per_pair(kPairs, [&] {
          forward_lock(raw);
          benchmark::ClobberMemory();
          forward_unlock(raw);
        });
        double b = ns_per_pair(kPairs, [&] {
          lock(raw);
          benchmark::ClobberMemory();
          unlock(raw);
        });
        inter.push_back(a);
        fwd.push_back(f);
        plain.push_back(b);
        ratio.push_back(a / f);
        ratio_plain.push_back(a / b);
      }
    });
    state.counters["interposed_ns"] = median(inter);
    state.counters["forwarded_ns"] = median(fwd);
    state.counters["plain_ns"] = median(plain);
    state.counters["ratio"] = median(ratio);
    state.counters["ratio_plain"] = median(ratio_plain);
  }
}
BENCHMARK(BM_LockPair)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
