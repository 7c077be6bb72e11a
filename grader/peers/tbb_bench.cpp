// The workloads of stage3_stealing/bench/runtime.cpp (group "runtime") and of
// phase6_tasks/bench/tasks.cpp (group "tasks") with oneTBB; `tbb runtime` or
// `tbb tasks` runs one group, no argument both. oneTBB has no yield: that
// workload is left out. Workers = a task_arena of that many threads; where
// green uses its default Runtime (one worker per CPU), the default arena (one
// thread per CPU).
//   runtime group
//     spawn_join n=N         one task_group: N empty run()s, wait (ns per task)
//     spawn n=100000         the same, the run()s alone timed, median of 7 (ns per run)
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
//     when_all n=10000       one task_group, 10,000 run()s writing r[i] = i, one
//                            wait, the sum checked (49,995,000): oneTBB has no
//                            futures nor when_all; one warm-up, then the median of
//                            21 (us for all 10,000)
//   the loops (PEER-WORKLOADS.md 11), over arrays first touched by a serial loop
//   before any of them runs; blocked_range<long>(0, n) (grain 1), the default
//   auto_partitioner; each: one untimed run, then the median of 5 (ms)
//     for_axpy workers=W     scale100m: a[i] = a[i]*2.0 + 1.0 over 10^8 doubles,
//                            starting as double(i % 1000), parallel_for
//     for_compute workers=W  compute1m: for each of 10^6 elements x = c[i], 200
//                            times x = x*x*0.5 + 0.25, c[i] = x, starting as
//                            (i % 1000) / 1000.0, parallel_for
//     reduce_sum workers=W   reduce100m: the sum of b[i] = double(i % 1000) over
//                            10^8, exactly 49,950,000,000 (checked every run),
//                            parallel_reduce with std::plus<double>
//   the graphs (PEER-WORKLOADS.md 13): continue_node<continue_msg>s with empty
//   bodies, make_edge per dependency, a broadcast_node feeding the first nodes; a
//   run is try_put + wait_for_all. Built once (untimed), run once untimed, then
//   21 times: the median per node (ns). Before that, an identical graph whose
//   nodes count themselves is run once, to check that every node runs.
//     graph_layers           100 layers x 100 nodes; node (l, j), l >= 1, after 3
//                            distinct nodes of layer l-1: std::mt19937_64 rng(42),
//                            for l = 1..99, j = 0..99 in order, draw rng() % 100
//                            until 3 distinct values (repeats skipped); 29,700 edges
//     graph_chain            a chain of 10^5 nodes
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
#include <memory>
#include <random>
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

// Run n empty tasks: ns per run(), the loop alone (the wait comes after,
// untimed); median of 7 rounds.
double spawn_only(long n) {
  std::vector<double> rounds;
  for (int r = 0; r < 7; ++r) {
    tbb::task_group g;
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) g.run([] {});
    rounds.push_back(since_ns(t0) / static_cast<double>(n));
    g.wait();
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[3];
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
  std::printf("peer=tbb bench=spawn n=100000 value=%.2f unit=ns\n", spawn_only(100'000));
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

// The loops' arrays (PEER-WORKLOADS.md 11), first touched by a serial loop;
// scale100m and compute1m update theirs in place, run after run (as green's).
struct Arrays {
  static constexpr long kBig = 100'000'000, kCompute = 1'000'000;
  std::unique_ptr<double[]> a{new double[kBig]}, b{new double[kBig]}, c{new double[kCompute]};
  Arrays() {
    for (long i = 0; i < kBig; ++i) a[i] = static_cast<double>(i % 1000);
    for (long i = 0; i < kBig; ++i) b[i] = static_cast<double>(i % 1000);
    for (long i = 0; i < kCompute; ++i) c[i] = static_cast<double>(i % 1000) / 1000.0;
  }
};

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

using Range = tbb::blocked_range<long>;

double for_axpy_ms(Arrays& arr, int workers) {
  double* a = arr.a.get();
  return median_ms(workers, [a] {
    tbb::parallel_for(Range(0, Arrays::kBig, 1), [a](const Range& r) {
      for (long i = r.begin(); i != r.end(); ++i) a[i] = a[i] * 2.0 + 1.0;
    }, tbb::auto_partitioner());
  });
}

double for_compute_ms(Arrays& arr, int workers) {
  double* c = arr.c.get();
  return median_ms(workers, [c] {
    tbb::parallel_for(Range(0, Arrays::kCompute, 1), [c](const Range& r) {
      for (long i = r.begin(); i != r.end(); ++i) {
        double x = c[i];
        for (int k = 0; k < 200; ++k) x = x * x * 0.5 + 0.25;
        c[i] = x;
      }
    }, tbb::auto_partitioner());
  });
}

double reduce_sum_ms(const Arrays& arr, int workers) {
  const double* b = arr.b.get();
  return median_ms(workers, [b] {
    double s = tbb::parallel_reduce(Range(0, Arrays::kBig, 1), 0.0, [b](const Range& r, double acc) {
      for (long i = r.begin(); i != r.end(); ++i) acc += b[i];
      return acc;
    }, std::plus<double>(), tbb::auto_partitioner());
    check(s == 49'950'000'000.0, "reduce_sum");
  });
}

// when_all's stand-in: one task_group, n run()s writing r[i] = i, one wait,
// the sum; one warm-up, then the median of 21 (us for all n).
double when_all_us(long n) {
  std::vector<long> r(static_cast<std::size_t>(n));
  std::vector<double> us;
  for (int round = 0; round < 22; ++round) {
    std::fill(r.begin(), r.end(), 0L);
    auto t0 = Clock::now();
    tbb::task_group g;
    for (long i = 0; i < n; ++i) g.run([&r, i] { r[static_cast<std::size_t>(i)] = i; });
    g.wait();
    long s = 0;
    for (long v : r) s += v;
    double t = since_ns(t0) / 1e3;
    check(s == n * (n - 1) / 2, "when_all");
    if (round > 0) us.push_back(t);
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

using Msg = tbb::flow::continue_msg;
using Node = tbb::flow::continue_node<Msg>;
using Start = tbb::flow::broadcast_node<Msg>;

// PEER-WORKLOADS.md 13's DAG in g: 100 layers x 100 nodes, node (l, j) for
// l >= 1 after 3 distinct nodes of layer l-1 drawn from mt19937_64(42), layer 0
// fed by start; `body` in every node. Returns the number of nodes.
template <class Body>
long build_layers(tbb::flow::graph& g, Start& start, std::deque<Node>& nodes, Body body) {
  std::mt19937_64 rng(42);
  long edges = 0;
  for (int l = 0; l < 100; ++l)
    for (int j = 0; j < 100; ++j) {
      Node& n = nodes.emplace_back(g, body);  // a deque: continue_nodes do not move
      if (l == 0) {
        tbb::flow::make_edge(start, n);
        continue;
      }
      int preds[3], found = 0;
      while (found < 3) {
        int p = static_cast<int>(rng() % 100);
        if (std::find(preds, preds + found, p) == preds + found) preds[found++] = p;
      }
      for (int p : preds) tbb::flow::make_edge(nodes[static_cast<std::size_t>((l - 1) * 100 + p)], n);
      edges += 3;
    }
  check(edges == 29'700, "graph_layers' edges");
  return 10'000;
}

// A chain of 10^5 nodes, the first fed by start.
template <class Body>
long build_chain(tbb::flow::graph& g, Start& start, std::deque<Node>& nodes, Body body) {
  for (long i = 0; i < 100'000; ++i) {
    Node& n = nodes.emplace_back(g, body);
    if (i == 0) tbb::flow::make_edge(start, n);
    else tbb::flow::make_edge(nodes[static_cast<std::size_t>(i - 1)], n);
  }
  return 100'000;
}

void run_graph(tbb::flow::graph& g, Start& start) {
  start.try_put(Msg());
  g.wait_for_all();
}

// A check run of a graph whose nodes count themselves; then the graph with
// empty bodies, built once, run once untimed, then 21 times: the median, in ns
// per node.
template <class Build>
double graph_ns_per_node(Build build, const char* what) {
  {
    std::atomic<long> ran{0};
    tbb::flow::graph g;
    Start start(g);
    std::deque<Node> nodes;  // destroyed before the graph
    long n = build(g, start, nodes, [&ran](Msg) { ran.fetch_add(1, std::memory_order_relaxed); });
    run_graph(g, start);
    check(ran.load() == n, what);
  }
  tbb::flow::graph g;
  Start start(g);
  std::deque<Node> nodes;
  double n = static_cast<double>(build(g, start, nodes, [](Msg) {}));
  run_graph(g, start);
  std::vector<double> ns;
  for (int round = 0; round < 21; ++round) {
    auto t0 = Clock::now();
    run_graph(g, start);
    ns.push_back(since_ns(t0));
  }
  std::sort(ns.begin(), ns.end());
  return ns[10] / n;
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
  std::printf("peer=tbb bench=when_all n=10000 value=%.2f unit=us\n", when_all_us(10'000));
  {
    Arrays arr;
    for (int workers : {1, 2})
      std::printf("peer=tbb bench=for_axpy workers=%d value=%.2f unit=ms\n", workers, for_axpy_ms(arr, workers));
    for (int workers : {1, 2})
      std::printf("peer=tbb bench=for_compute workers=%d value=%.2f unit=ms\n", workers,
                  for_compute_ms(arr, workers));
    for (int workers : {1, 2})
      std::printf("peer=tbb bench=reduce_sum workers=%d value=%.2f unit=ms\n", workers,
                  reduce_sum_ms(arr, workers));
  }
  auto layers = [](auto& g, Start& start, std::deque<Node>& nodes, auto body) {
    return build_layers(g, start, nodes, body);
  };
  auto chain = [](auto& g, Start& start, std::deque<Node>& nodes, auto body) {
    return build_chain(g, start, nodes, body);
  };
  std::printf("peer=tbb bench=graph_layers value=%.2f unit=ns\n", graph_ns_per_node(layers, "graph_layers"));
  std::printf("peer=tbb bench=graph_chain value=%.2f unit=ns\n", graph_ns_per_node(chain, "graph_chain"));
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
