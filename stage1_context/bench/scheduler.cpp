// LocalScheduler costs: spawn+run+finish of an empty task, and yield
// throughput with 2 and with 1,000 tasks (ns per yield, counter ns_per_yield).
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

// One iteration: spawn an empty task, run it to its end, free it.
void BM_SpawnRunFinish(benchmark::State& state) {
  green::LocalScheduler s;
  for (auto _ : state) {
    s.spawn([] {}).detach();
    s.run();
  }
  state.counters["sizeof_Task"] = sizeof(green::detail::Task);
  state.counters["sizeof_TaskExtra"] = sizeof(green::detail::TaskExtra);
}
BENCHMARK(BM_SpawnRunFinish);

// One iteration: spawn a batch of empty tasks from a task, join each (ns per task).
void BM_SpawnJoinInTask(benchmark::State& state) {
  constexpr long kBatch = 1000;
  green::LocalScheduler s;
  for (auto _ : state) {
    s.spawn([] {
      for (long i = 0; i < kBatch; ++i) green::spawn([] {}).join();
    });
    s.run();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_SpawnJoinInTask);

// state.range(0) tasks each yield until the total reaches the iteration count.
void BM_Yield(benchmark::State& state) {
  const long tasks = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    green::LocalScheduler s;
    const long per_task = 1'000'000 / tasks;
    for (long t = 0; t < tasks; ++t)
      s.spawn([per_task] {
        for (long i = 0; i < per_task; ++i) green::this_task::yield();
      }).detach();
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    s.run();
    auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    state.counters["ns_per_yield"] = ns / static_cast<double>(per_task * tasks);
  }
}
BENCHMARK(BM_Yield)->Arg(2)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
