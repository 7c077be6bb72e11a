// What Runtime::stats() reports: counters summed over the workers, each
// exact once the runtime is quiet, and a census of its tasks.
#pragma once
#include <cstdint>

namespace green {

struct RuntimeStats {
  std::uint64_t spawned = 0;   // tasks created
  std::uint64_t completed = 0; // tasks that ended (equal to spawned once the runtime is quiet)
  std::uint64_t switches = 0;  // times a worker switched into a task
  std::uint64_t steals = 0;    // tasks taken from another worker's queue (from stage 3)
  std::uint64_t parks = 0;     // times a worker went to sleep for lack of work
  std::uint64_t wakeups = 0;   // times a sleeping worker was woken by another thread
  std::uint64_t global_pushes = 0;  // tasks that went through the global queue
  std::uint64_t preemptions = 0;    // tasks switched out by a timer tick (from phase 3)
  // The runtime's tasks by state at the moment of the call (from stage 4,
  // which can find every task; 0 before). A walk over every task block:
  // O(blocks), not for a hot loop.
  std::uint64_t runnable = 0;  // in a queue, or not yet started
  std::uint64_t running = 0;   // on a worker
  std::uint64_t waiting = 0;   // parked
  // How long tasks waited between becoming Ready (spawned, unparked,
  // yielded, preempted) and starting to run, like Go's /sched/latencies: one
  // wait in 64 is timed (detail/dispatcher.hpp). latency[i] counts waits in
  // [2^i, 2^(i+1)) ns (bucket 0 also 0 ns; the last, everything longer).
  static constexpr int kLatencyBuckets = 32;
  std::uint64_t latency[kLatencyBuckets] = {};

  std::uint64_t latency_samples() const noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t c : latency) n += c;
    return n;
  }
  // The upper edge (ns) of the bucket that holds quantile q (0..1) of the
  // sampled waits: at least that many waited less. 0 with no samples.
  std::uint64_t latency_quantile_ns(double q) const noexcept {
    std::uint64_t n = latency_samples(), seen = 0;
    if (n == 0) return 0;
    for (int i = 0; i < kLatencyBuckets; ++i) {
      seen += latency[i];
      if (static_cast<double>(seen) >= q * static_cast<double>(n)) return std::uint64_t{2} << i;
    }
    return std::uint64_t{2} << (kLatencyBuckets - 1);
  }
};

}  // namespace green
