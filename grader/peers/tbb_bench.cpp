// The workloads of stage3_stealing/bench/runtime.cpp (group "runtime") and of
// phase6_tasks/bench/tasks.cpp (group "tasks") with oneTBB; `tbb runtime` or
// `tbb tasks` runs one group, no argument both. oneTBB has no yield: that
// workload is left out. Workers = a task_arena of that many threads; where
// green uses its default Runtime (one worker per CPU), the default arena (one
// thread per CPU).
//   runtime group
//     spawn_join n=N         one task_group: N empty run()s, wait (ns per task)
//     fib_fine workers=W     fib(32), a task_group per call with n >= 2 (s)
//   tasks group
//     group_fib workers=W    fib(32) again, as BM_GroupFib (s)
//     group_run_wait n=100000  one task_group: 100,000 empty run()s, wait; three
//                            rounds, the last reported (ns per task)
//     async_get              1,000,000 times { task_group g; g.run([]{}); g.wait(); }:
//                            oneTBB has no futures, this is async+get's stand-in
//                            (wait() may run the task itself) (ns per pair)
//     skynet workers=W       10^6 leaves, a task_group per inner node writing its
//                            10 children's sums into a local array; a 10^4-leaf
//                            warm-up first (ms)
//     for_axpy workers=W     a[i] = 2 a[i] + 1 over 10^8 doubles (starting at 1.0),
//                            parallel_for(blocked_range, auto_partitioner) (ms)
//     reduce_sum workers=W   the sum of 10^8 doubles (all 1.0, checked),
//                            parallel_reduce(blocked_range, auto_partitioner) (ms)
//                            the two loops: one untimed run, then the median of 5
//     graph_layers           a flow graph of 100 layers x 100 continue_nodes, every
//                            node of a layer an edge to every node of the next
//                            (990,000 edges), a broadcast_node feeding layer 0 (ns
//                            per node)
//     graph_chain            a flow graph chain of 10^5 continue_nodes (ns per node)
//                            the graphs: empty bodies; each round builds a fresh
//                            graph (untimed) and times its first run, try_put +
//                            wait_for_all; three rounds, the last reported (as
//                            BM_GraphLayers and BM_GraphChain); a graph of the same
//                            shape whose nodes count themselves is run once first
// Prints one `peer=tbb bench=... value=... unit=...` line each.
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double since_ns(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tbb: %s: wrong result\n", what);
    std::abort();
  }
}

// Run n empty tasks, then wait for all: ns per task.
double spawn_join(long n) {
  tbb::task_group g;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) g.run([] {});
  g.wait();
  return since_ns(t0) / static_cast<double>(n);
}

// Every call with n >= 2 runs both children as tasks (as BM_FibFine and BM_GroupFib).
long fib(int n) {
  if (n < 2) return n;
  long x = 0, y = 0;
  tbb::task_group g;
  g.run([&] { x = fib(n - 1); });
  g.run([&] { y = fib(n - 2); });
  g.wait();
  return x + y;
}

// fib(32) in an arena of `workers` threads: seconds.
double fib32_s(int workers) {
  tbb::task_arena arena(workers);  // the calling thread and workers - 1 worker threads
  auto t0 = Clock::now();
  long r = arena.execute([] { return fib(32); });
  check(r == 2178309, "fib(32)");
  return since_ns(t0) / 1e9;
}

void runtime_group() {
  // The default arena has one thread per CPU, as green's default Runtime.
  for (long n : {1'000L, 10'000L, 100'000L, 1'000'000L}) {
    double ns = 0;
    for (int i = 0; i < 3; ++i) ns = spawn_join(n);  // three rounds, the last reported (as BM_SpawnJoin)
    std::printf("peer=tbb bench=spawn_join n=%ld value=%.2f unit=ns\n", n, ns);
  }
  for (int workers : {1, 2})
    std::printf("peer=tbb bench=fib_fine workers=%d value=%.4f unit=s\n", workers, fib32_s(workers));
}

// async+get's stand-in: a task_group per empty function, run then wait.
double async_get_ns(long n) {
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    tbb::task_group g;
    g.run([] {});
    g.wait();
  }
  return since_ns(t0) / static_cast<double>(n);
}

long skynet(long num, long size) {
  if (size == 1) return num;
  long sums[10] = {};
  tbb::task_group g;
  for (long i = 0; i < 10; ++i) g.run([&sums, i, num, size] { sums[i] = skynet(num + i * (size / 10), size / 10); });
  g.wait();
  long s = 0;
  for (long x : sums) s += x;
  return s;
}

double skynet_ms(int workers) {
  tbb::task_arena arena(workers);
  check(arena.execute([] { return skynet(0, 10'000); }) == 49'995'000L, "skynet(10^4)");  // warm-up
  auto t0 = Clock::now();
  long r = arena.execute([] { return skynet(0, 1'000'000); });
  double ms = since_ns(t0) / 1e6;
  check(r == 499'999'500'000L, "skynet(10^6)");
  return ms;
}

std::vector<double>& big() {
  static std::vector<double> v(100'000'000, 1.0);  // touched here, serially, as green's
  return v;
}

// One untimed run, then the median of 5 (ms), in an arena of `workers` threads.
double median_ms(int workers, const std::function<void()>& run) {
  tbb::task_arena arena(workers);
  arena.execute(run);
  double ms[5];
  for (double& m : ms) {
    auto t0 = Clock::now();
    arena.execute(run);
    m = since_ns(t0) / 1e6;
  }
  std::sort(ms, ms + 5);
  return ms[2];
}

double for_axpy_ms(int workers) {
  auto& a = big();
  return median_ms(workers, [&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, a.size()), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) a[i] = 2 * a[i] + 1;
    }, tbb::auto_partitioner());
  });
}

double reduce_sum_ms(int workers) {
  auto& a = big();
  std::fill(a.begin(), a.end(), 1.0);  // after for_axpy: every sum must be 10^8
  return median_ms(workers, [&] {
    double s = tbb::parallel_reduce(tbb::blocked_range<std::size_t>(0, a.size()), 0.0,
      [&](const tbb::blocked_range<std::size_t>& r, double acc) {
        for (std::size_t i = r.begin(); i != r.end(); ++i) acc += a[i];
        return acc;
      }, std::plus<double>(), tbb::auto_partitioner());
    check(s == 1e8, "reduce_sum");
  });
}

using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;
using Start = tbb::flow::broadcast_node<tbb::flow::continue_msg>;

// Builds a graph of layers x width nodes (each node an edge to every node of
// the next layer) in g, fed by start, with `body` in every node; runs it once:
// ns for the run.
template <class Body>
double layered_run_ns(int layers, int width, Body body) {
  tbb::flow::graph g;
  Start start(g);
  std::deque<Node> nodes;  // continue_nodes do not move
  std::vector<Node*> prev, cur;
  for (int l = 0; l < layers; ++l) {
    cur.clear();
    for (int i = 0; i < width; ++i) {
      Node& n = nodes.emplace_back(g, body);
      if (l == 0) tbb::flow::make_edge(start, n);
      for (Node* p : prev) tbb::flow::make_edge(*p, n);
      cur.push_back(&n);
    }
    prev.swap(cur);
  }
  auto t0 = Clock::now();
  start.try_put(tbb::flow::continue_msg());
  g.wait_for_all();
  return since_ns(t0);
}

// A check run (every node counts itself), then three rounds of a fresh graph
// with empty bodies, the last reported: ns per node.
double graph_ns_per_node(int layers, int width) {
  std::atomic<long> ran{0};
  layered_run_ns(layers, width, [&](tbb::flow::continue_msg) { ran.fetch_add(1, std::memory_order_relaxed); });
  check(ran.load() == static_cast<long>(layers) * width, "graph");
  double ns = 0;
  for (int i = 0; i < 3; ++i) ns = layered_run_ns(layers, width, [](tbb::flow::continue_msg) {});
  return ns / (static_cast<double>(layers) * width);
}

void tasks_group() {
  for (int workers : {1, 2})
    std::printf("peer=tbb bench=group_fib workers=%d value=%.4f unit=s\n", workers, fib32_s(workers));
  double ns = 0;
  for (int i = 0; i < 3; ++i) ns = spawn_join(100'000);  // as BM_GroupRunWait/100000
  std::printf("peer=tbb bench=group_run_wait n=100000 value=%.2f unit=ns\n", ns);
  std::printf("peer=tbb bench=async_get value=%.2f unit=ns\n", async_get_ns(1'000'000));
  for (int workers : {1, 2})
    std::printf("peer=tbb bench=skynet workers=%d value=%.2f unit=ms\n", workers, skynet_ms(workers));
  for (int workers : {1, 2})
    std::printf("peer=tbb bench=for_axpy workers=%d value=%.2f unit=ms\n", workers, for_axpy_ms(workers));
  for (int workers : {1, 2})
    std::printf("peer=tbb bench=reduce_sum workers=%d value=%.2f unit=ms\n", workers, reduce_sum_ms(workers));
  std::printf("peer=tbb bench=graph_layers value=%.2f unit=ns\n", graph_ns_per_node(100, 100));
  std::printf("peer=tbb bench=graph_chain value=%.2f unit=ns\n", graph_ns_per_node(100'000, 1));
}

// Whether the command line asks for a group (no argument: every group).
bool wants(int argc, char** argv, const char* group) {
  if (argc < 2) return true;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], group) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (wants(argc, argv, "runtime")) runtime_group();
  if (wants(argc, argv, "tasks")) tasks_group();
}
