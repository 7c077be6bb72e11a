// Memory density: what a task costs while it waits.
//   BM_ParkedTaskMemory/N/S  N tasks (small stacks of S bytes) parked at once:
//                            resident bytes per parked task
//   BM_QueuedTaskMemory/N    N tasks spawned and not yet run (one worker, busy
//                            spawning them): resident bytes per queued task
//
// Resident memory is read from /proc/self/statm, before and while the tasks
// wait, so a figure is everything the runtime holds for a task: its block
// (Task + TaskExtra + callable, from task_block.cpp's classes), the resident
// part of its stack (with its TaskRun at the top), and any queue slot. The bench's
// own bookkeeping (one Task* and one TaskHandle per task) is allocated and
// written before the first reading, so it is not counted. Each Runtime is
// made and destroyed inside its run, and freed heap memory is given back
// (malloc_trim) before the first reading, so one run does not reuse another's
// resident pages and under-count.
//
// Counters: bytes_per_task, and the layout figures sizeof_Task,
// sizeof_TaskExtra, sizeof_TaskRun and block_class (the block class a task of the bench lands
// in, computed). One iteration each: the figures are exact, not timings.
#include <green/detail/block_registry.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <fstream>
#include <malloc.h>
#include <vector>

namespace {

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4096;
}

// The size class of the block a task with an unnamed callable of
// `callable_size` bytes (alignment 8) lands in: as task.cpp lays it out.
constexpr std::size_t block_class(std::size_t callable_size) {
  std::size_t size = green::detail::callable_offset(0, 8) + callable_size;
  for (std::size_t c : green::detail::kBlockClass)
    if (size <= c) return c;
  return size;
}

void layout_counters(benchmark::State& state, std::size_t callable_size) {
  state.counters["sizeof_Task"] = sizeof(green::detail::Task);
  state.counters["sizeof_TaskExtra"] = sizeof(green::detail::TaskExtra);
  state.counters["sizeof_TaskRun"] = sizeof(green::detail::TaskRun);
  state.counters["block_class"] = static_cast<double>(block_class(callable_size));
}

// Where parked tasks record themselves (park callbacks run on any worker).
struct ParkedList {
  std::vector<green::detail::Task*> tasks;  // sized up front; slot i written once, by whoever claimed i
  // Claims slots. relaxed: it hands out unique indices and publishes nothing.
  std::atomic<std::size_t> claimed{0};
  // Slots written. fetch_add release after the slot's write; the root task
  // loads it with acquire, and on reading n has seen every write (each
  // increment is an RMW, so all of them are in the release sequence it reads).
  std::atomic<std::size_t> written{0};
};

// One worker: the root task spawns N tasks and reads the RSS before it lets
// any of them run, so they all sit in a run queue (the first ones in the
// worker's deque, the rest overflowed to the runtime's global queue, which
// links tasks through Task::next and costs no memory per task). Registered
// first, so that it runs before the other benches have left blocks in the
// block cache, whose chunks are never freed: it would reuse those and count
// nothing.
void BM_QueuedTaskMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<green::TaskHandle> hs(n);
    green::Runtime rt({.workers = 1});
    malloc_trim(0);
    long before = rss_bytes();
    long during = rt.run([&] {
      for (std::size_t i = 0; i < n; ++i) hs[i] = green::spawn([] {}, {.small_stack = true});
      long r = rss_bytes();
      for (auto& h : hs) h.join();
      return r;
    });
    state.counters["block_bytes"] = static_cast<double>(during - before) / static_cast<double>(n);
  }
  layout_counters(state, sizeof([] {}));
}
BENCHMARK(BM_QueuedTaskMemory)->ArgName("N")->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_ParkedTaskMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto small = static_cast<std::size_t>(state.range(1));
  std::size_t callable_size = 0;
  for (auto _ : state) {
    ParkedList parked;
    parked.tasks.assign(n, nullptr);             // written: resident before the reading
    std::vector<green::TaskHandle> hs(n);         // likewise
    green::Runtime rt({.small_stack_size = small});
    malloc_trim(0);
    long before = rss_bytes();
    long during = rt.run([&] {
      auto body = [&parked] {
        // The callback runs once this task has switched out.
        green::detail::park_current(
            [](green::detail::Task* self, void* arg) {
              auto* l = static_cast<ParkedList*>(arg);
              l->tasks[l->claimed.fetch_add(1, std::memory_order_relaxed)] = self;
              l->written.fetch_add(1, std::memory_order_release);
            },
            &parked);
      };
      callable_size = sizeof(body);
      for (std::size_t i = 0; i < n; ++i) hs[i] = green::spawn(body, {.small_stack = true});
      while (parked.written.load(std::memory_order_acquire) != n) green::this_task::yield();
      long r = rss_bytes();
      for (auto* t : parked.tasks) green::detail::unpark(t);
      for (auto& h : hs) h.join();
      return r;
    });
    state.counters["bytes_per_task"] = static_cast<double>(during - before) / static_cast<double>(n);
  }
  layout_counters(state, callable_size);
}
BENCHMARK(BM_ParkedTaskMemory)
    ->ArgNames({"N", "S"})
    ->Args({100'000, 16384})
    ->Args({100'000, 2048})
    ->Args({1'000'000, 16384})
    ->Args({1'000'000, 2048})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
