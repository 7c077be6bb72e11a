// The false-sharing experiment: the same RingQueue with head and tail on
// separate cache lines (Align = 64) and packed on one (Align = 4). One
// producer thread pushes, one consumer thread takes; ns_per_item is the
// cost per item moved. Each side keeps its own copy of the other's index and
// reads the other's line only when it has to (the ring looks full, or
// empty), and the consumer takes in bursts half a ring behind, so the two
// never share a slot's line. With separate lines each side then mostly
// writes a line it owns; on one line, every push and every take steals the
// line from the other core.
#include <green/detail/ring_queue.hpp>

#include <benchmark/benchmark.h>
#include <stats.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <pthread.h>
#include <sched.h>

namespace {

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// ns per item moved from a producer (this thread) to a consumer thread.
template <std::size_t Align>
double ns_per_item(long n) {
  using Ring = green::detail::RingQueue<long*, 1024, Align>;
  static long item;
  auto ring = std::make_unique<Ring>();
  // Pin the two threads to different CPUs: if the kernel put both on one
  // core they would take turns, and no cache line would move at all.
  pin_to_cpu(0);
  std::thread consumer([&] {
    pin_to_cpu(1);
    std::uint32_t tail_seen = 0;  // our own copy: tail's line is read only when we catch up
    // Take in bursts, half a ring behind the producer, so the two never
    // work on the same slots' lines: what is left to share is head and tail.
    constexpr long kBurst = Ring::capacity() / 2;
    for (long got = 0; got < n;) {
      while (static_cast<long>(ring->size()) < std::min(kBurst, n - got)) __builtin_ia32_pause();
      for (long k = 0; k < kBurst && got < n;)
        if (ring->pop(tail_seen)) ++got, ++k;
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i)
    while (!ring->push(&item))  // full: back off before looking at head again,
      for (int k = 0; k < 256; ++k) __builtin_ia32_pause();  // or we would pull its line away from the consumer
  consumer.join();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / static_cast<double>(n);
}

using benchstats::median;

// The two layouts in alternation, so both see the same machine: the factor
// is the median of the per-round ratios packed / separate.
void BM_FalseSharing(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> sep, packed, factor;
    for (int round = 0; round < 7; ++round) {
      sep.push_back(ns_per_item<64>(1'000'000));
      packed.push_back(ns_per_item<4>(1'000'000));
      factor.push_back(packed.back() / sep.back());
    }
    state.counters["separate_ns_per_item"] = median(sep);
    state.counters["packed_ns_per_item"] = median(packed);
    state.counters["factor"] = median(factor);
  }
}
BENCHMARK(BM_FalseSharing)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
