// The workloads of stage3_stealing/bench/runtime.cpp with Boost.Fiber.
//   1 thread:  the default scheduler (algo::round_robin), on a fresh thread.
//   2 threads: algo::work_stealing on the main thread and a helper thread.
// Stacks: fixedsize_stack (malloc) of 16 KiB, as green's small stacks. The
// pooled_fixedsize_stack is not thread-safe (a stolen fiber frees its stack on
// the other thread) and was no faster on one thread.
// Fine-grained fib runs fib(25) (242,784 fibers), not fib(32): both schedulers are
// FIFO, so almost every fiber of the tree is alive at once (fib(25) already takes
// ~2 GB; fib(32), 7 million fibers, would need ~70 GB).
// Prints one `peer=boost_fiber bench=... value=... unit=...` line each.
#include <boost/fiber/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace bf = boost::fibers;
using Clock = std::chrono::steady_clock;
double since_ns(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

bf::fiber start(auto fn) { return bf::fiber(std::allocator_arg, bf::fixedsize_stack(16 * 1024), std::move(fn)); }

// Start n empty fibers, then join them all: ns per fiber.
double spawn_join(long n) {
  std::vector<bf::fiber> fs;
  fs.reserve(static_cast<std::size_t>(n));
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) fs.push_back(start([] {}));
  for (auto& f : fs) f.join();
  return since_ns(t0) / static_cast<double>(n);
}

// Every call with n >= 2 starts both children as fibers (as BM_FibFine).
long fib(int n) {
  if (n < 2) return n;
  long x = 0, y = 0;
  bf::fiber fx = start([&] { x = fib(n - 1); });
  bf::fiber fy = start([&] { y = fib(n - 2); });
  fx.join();
  fy.join();
  return x + y;
}

void bench_fib(int workers) {
  auto t0 = Clock::now();
  if (fib(25) != 75025) std::abort();
  std::printf("peer=boost_fiber bench=fib_fine fib=25 workers=%d value=%.4f unit=s\n", workers, since_ns(t0) / 1e9);
}

// Two fibers calling this_fiber::yield `yields` times each: ns per yield.
double yield_ns(long yields) {
  auto body = [yields] {
    for (long i = 0; i < yields; ++i) boost::this_fiber::yield();
  };
  auto t0 = Clock::now();
  bf::fiber a = start(body), b = start(body);
  a.join();
  b.join();
  return since_ns(t0) / static_cast<double>(2 * yields);
}

void one_thread() {
  bench_fib(1);
  std::printf("peer=boost_fiber bench=yield workers=1 value=%.2f unit=ns\n", yield_ns(1'000'000));
}

// work_stealing can be set up only once per process: all the two-thread runs are here.
void two_threads() {
  bf::mutex m;
  bf::condition_variable cv;
  bool done = false;
  std::thread helper([&] {  // runs (steals) fibers until `done`
    bf::use_scheduling_algorithm<bf::algo::work_stealing>(2, true);
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return done; });
  });
  bf::use_scheduling_algorithm<bf::algo::work_stealing>(2, true);

  for (long n : {1'000L, 10'000L, 100'000L, 1'000'000L}) {
    double ns = 0;
    for (int i = 0; i < 3; ++i) ns = spawn_join(n);  // three rounds, the last reported (as BM_SpawnJoin)
    std::printf("peer=boost_fiber bench=spawn_join n=%ld value=%.2f unit=ns\n", n, ns);
  }
  bench_fib(2);

  {
    std::lock_guard lk(m);
    done = true;
  }
  cv.notify_all();
  helper.join();
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::thread(one_thread).join();
  two_threads();
}
