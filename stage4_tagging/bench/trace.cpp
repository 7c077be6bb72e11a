// The scheduler trace's cost (HANDOUT 11): fib on one runtime, traced or not.
//   BM_FibTrace/N/C/T   fib(N) with a serial cutoff below C (0: every call a
//                       task) on 2 workers; T = 1: between trace_start and
//                       trace_stop (not timed: the file is written to /dev/null).
// Compare T = 0 and T = 1 of the same N/C, in the same run. fib(32) with
// cutoff 20 is PEER-WORKLOADS 3's cut20; fib(27) with none is its cut0, smaller.
#include <green/green.hpp>
#include <green/trace.hpp>

#include <benchmark/benchmark.h>
#include <fib.hpp>

namespace {

using fibbench::fib;

void BM_FibTrace(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), cutoff = static_cast<int>(state.range(1));
  const bool traced = state.range(2) != 0;
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    if (traced) {
      state.PauseTiming();
      green::trace_start("/dev/null");  // the default limit
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(rt.run([&] { return fib(n, cutoff); }));
    if (traced) {
      state.PauseTiming();
      green::trace_stop();
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_FibTrace)
    ->Args({32, 20, 0})->Args({32, 20, 1})  // PEER-WORKLOADS 3's cut20
    ->Args({40, 25, 0})->Args({40, 25, 1})
    ->Args({40, 20, 0})->Args({40, 20, 1})
    ->Args({27, 0, 0})->Args({27, 0, 1})
    ->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
