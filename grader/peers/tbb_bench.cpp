// The workloads of stage3_stealing/bench/runtime.cpp with oneTBB task_group.
// oneTBB has no yield: that workload is left out.
// Prints one `peer=tbb bench=... value=... unit=...` line each.
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

using Clock = std::chrono::steady_clock;
double since_ns(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

// Run n empty tasks, then wait for all: ns per task.
double spawn_join(long n) {
  tbb::task_group g;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) g.run([] {});
  g.wait();
  return since_ns(t0) / static_cast<double>(n);
}

// Every call with n >= 2 runs both children as tasks (as BM_FibFine).
long fib(int n) {
  if (n < 2) return n;
  long x = 0, y = 0;
  tbb::task_group g;
  g.run([&] { x = fib(n - 1); });
  g.run([&] { y = fib(n - 2); });
  g.wait();
  return x + y;
}

}  // namespace

int main() {
  // The default arena has one thread per CPU, as green's default Runtime.
  for (long n : {1'000L, 10'000L, 100'000L, 1'000'000L}) {
    double ns = 0;
    for (int i = 0; i < 3; ++i) ns = spawn_join(n);  // three rounds, the last reported (as BM_SpawnJoin)
    std::printf("peer=tbb bench=spawn_join n=%ld value=%.2f unit=ns\n", n, ns);
  }
  for (int workers : {1, 2}) {
    tbb::task_arena arena(workers);  // the calling thread and workers - 1 worker threads
    auto t0 = Clock::now();
    long r = arena.execute([] { return fib(32); });
    if (r != 2178309) std::abort();
    std::printf("peer=tbb bench=fib_fine workers=%d value=%.4f unit=s\n", workers, since_ns(t0) / 1e9);
  }
}
