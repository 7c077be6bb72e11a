// What preemption costs and what it buys.
//   BM_PreemptOverhead/T a CPU-bound workload (floating-point work split over
//                        T tasks on 2 workers, ~0.17 s) with time_slice 10 ms
//                        against time_slice 0, run as 9 alternating pairs;
//                        counters: the median wall seconds of each, and
//                        overhead_pct, the median over pairs of
//                        (on / off - 1) * 100 in CPU time (the process's
//                        user + system time: what the ticks cost, without
//                        the time a virtual machine's host took the CPU
//                        away, which moved wall-time figures by 2-3% here);
//                        wall_overhead_pct, the same in wall time, for
//                        information. T = 2 (one task per worker)
//                        measures what the ticks and preemptions cost. With
//                        T = 8, slicing also turns run-to-completion into
//                        round robin, whose end is ragged: the last task runs
//                        alone for up to a slice while the other worker idles.
//   BM_ReadyLatency/S    1 worker, one task spinning without ever yielding,
//                        slices of S microseconds; a plain thread spawns a
//                        tiny task every few slices and it records how long
//                        it waited to start. Counters: p50_ms, p99_ms, and
//                        the same in slices (p50_slices, p99_slices)
#include <green/detail/preempt_signal.hpp>
#include <green/green.hpp>

#include <benchmark/benchmark.h>
#include <stats.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

[[gnu::noinline]] double work(double x, long n) {
  double a = x, b = 0.5;
  for (long i = 0; i < n; ++i) {
    a = a * 0.9999999 + b;
    b = b * 0.999 + 1e-7;
  }
  return a + b;
}

// The process's CPU time so far (every thread's, ended ones included), seconds.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Seconds {
  double wall, cpu;
};

Seconds cpu_bound_seconds(std::chrono::microseconds slice, int tasks) {
  double cpu0 = cpu_seconds();
  green::Runtime rt({.workers = 2, .time_slice = slice});
  std::atomic<double> sink{0};
  const long per_task = 200'000'000 / tasks;
  auto t0 = Clock::now();
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int k = 0; k < tasks; ++k) hs.push_back(green::spawn([&, k] { sink.store(work(k, per_task)); }));
    for (auto& h : hs) h.join();
  });
  benchmark::DoNotOptimize(sink.load());
  return {std::chrono::duration<double>(Clock::now() - t0).count(), cpu_seconds() - cpu0};
}

using benchstats::median;

void BM_PreemptOverhead(benchmark::State& state) {
  const int tasks = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<double> off, on, pct, wall_pct;
    cpu_bound_seconds(0us, tasks);  // warm up the caches, the frequency and the allocator
    for (int pair = 0; pair < 9; ++pair) {
      // Alternate which goes first, so a drift in the machine hits both alike.
      Seconds a, b;
      if (pair % 2) {
        b = cpu_bound_seconds(10ms, tasks);
        a = cpu_bound_seconds(0us, tasks);
      } else {
        a = cpu_bound_seconds(0us, tasks);
        b = cpu_bound_seconds(10ms, tasks);
      }
      off.push_back(a.wall);
      on.push_back(b.wall);
      pct.push_back((b.cpu / a.cpu - 1) * 100);
      wall_pct.push_back((b.wall / a.wall - 1) * 100);
    }
    state.counters["off_s"] = median(off);
    state.counters["on_s"] = median(on);
    state.counters["overhead_pct"] = median(pct);
    state.counters["wall_overhead_pct"] = median(wall_pct);
  }
}
BENCHMARK(BM_PreemptOverhead)->Arg(2)->Arg(8)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ReadyLatency(benchmark::State& state) {
  const auto slice = std::chrono::microseconds(state.range(0));
  const int samples = slice >= 10ms ? 60 : 200;
  for (auto _ : state) {
    green::Runtime rt({.workers = 1, .time_slice = slice});
    std::atomic<bool> stop{false};
    auto busy = rt.spawn([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
    std::vector<double> waited;
    for (int i = 0; i < samples; ++i) {
      // Spawn at a point unrelated to the tick's phase.
      std::this_thread::sleep_for(slice + std::chrono::microseconds(137 * (i % 7)));
      auto t0 = Clock::now();
      Clock::time_point started;
      rt.spawn([&] { started = Clock::now(); }).join();
      waited.push_back(std::chrono::duration<double, std::milli>(started - t0).count());
    }
    stop.store(true);
    busy.join();
    std::sort(waited.begin(), waited.end());
    double ms = std::chrono::duration<double, std::milli>(slice).count();
    double p50 = waited[waited.size() / 2], p99 = waited[waited.size() * 99 / 100];
    state.counters["p50_ms"] = p50;
    state.counters["p99_ms"] = p99;
    state.counters["p50_slices"] = p50 / ms;
    state.counters["p99_slices"] = p99 / ms;
  }
}
BENCHMARK(BM_ReadyLatency)->Arg(1000)->Arg(10000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
