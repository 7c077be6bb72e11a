// The false-sharing experiment: the same RingQueue with head and tail on
// separate cache lines (Align = 64) and packed on one (Align = 4). One
// producer thread pushes, one consumer thread takes; ns_per_item is the
// cost per item moved. On one line, every push and every take steals the
// line from the other core.
#include <green/detail/ring_queue.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

template <std::size_t Align>
void BM_Ring(benchmark::State& state) {
  using Ring = green::detail::RingQueue<long*, 1024, Align>;
  static long item;
  const long n = 1'000'000;
  for (auto _ : state) {
    auto ring = std::make_unique<Ring>();
    std::thread consumer([&] {
      for (long got = 0; got < n;)
        if (ring->pop()) ++got;
    });
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i)
      while (!ring->push(&item)) {
      }
    consumer.join();
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    state.counters["ns_per_item"] = ns / static_cast<double>(n);
  }
}

void BM_RingSeparateLines(benchmark::State& s) { BM_Ring<64>(s); }
void BM_RingPackedLine(benchmark::State& s) { BM_Ring<4>(s); }
BENCHMARK(BM_RingSeparateLines)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_RingPackedLine)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
