// The workloads of stage3_stealing/bench/runtime.cpp (group "runtime") and of
// phase4_sync/bench/sync.cpp (group "sync", PEER-WORKLOADS.md sections 6-8 and
// 10) with Boost.Fiber, and stage1_context/bench/context_switch.cpp's switch
// with Boost.Context (group "switch": jump_fcontext between the main context
// and one other, 20M round trips, median of 5 after 1M untimed, ns per
// switch); `boost_fiber runtime` runs one group, no argument all. BENCH_SCALE=0.01 scales the sync group's sizes down
// for a quick try.
//   1 thread:  the default scheduler (algo::round_robin), on a fresh thread.
//   2 threads: algo::work_stealing on the main thread and a helper thread.
// Stacks: fixedsize_stack (malloc) of 16 KiB, as green's small stacks. The
// pooled_fixedsize_stack is not thread-safe (a stolen fiber frees its stack on
// the other thread) and was no faster on one thread; the sleepers use it (one
// thread) as PEER-WORKLOADS.md does.
// Fine-grained fib runs fib(25) (242,784 fibers), not fib(32): both schedulers are
// FIFO, so almost every fiber of the tree is alive at once (fib(25) already takes
// ~2 GB; fib(32), 7 million fibers, would need ~70 GB).
// The sync group:
//   mutex_uncontended        the main fiber, no other: 20M lock/unlock pairs of a
//                            fibers::mutex after 2M untimed ones (ns per pair)
//   mutex_contended          64 fibers share a fibers::mutex and a counter: 6,400,000
//                            sections in all of `lock; ++counter; unlock; y =
//                            lcg_work(y, work)`, work 0 or 90, 1 thread and ws2 (ns per
//                            section, creation included); mutex_work_alone: the 90 steps
//   pingpong_cv              two fibers pass a turn through a fibers::mutex and a
//                            fibers::condition_variable, 1,000,000 times each, after
//                            an untimed 50,000 (ns per hand-off)
//   pingpong_chan            the main fiber pushes on unbuffered_channel ping, a fiber
//                            pushes back on pong, 1,000,000 round trips (ns per hand-off)
//   threadring               one thread: 503 fibers, one channel each (unbuffered_channel,
//                            or buffered_channel(2): chan=buffered2), pass a token
//                            10,000,000 times; the fiber that sees 0 closes every channel;
//                            the answer must be 361 (s; ns per pass)
//   sleepers_*               one thread: 100,000 fibers start, wait on a gate (mutex +
//                            condition_variable + flag, notify_all; main yields until all
//                            started), sleep 10 ms; pooled_fixedsize_stack(16 KiB), and
//                            the default fixedsize_stack (stack=default128k): s from the
//                            gate's opening, total s, peak RSS per fiber (bytes)
//   sleep_overshoot_p50/p99  one thread: the main fiber sleeps 1 ms 1,000 times: how
//                            late, nearest rank (us)
// Prints one `peer=boost_fiber bench=... value=... unit=...` line each.
#include <boost/context/detail/fcontext.hpp>
#include <boost/fiber/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sync_workloads.hpp"  // phase4_sync/bench: what the phase 4 workloads share

namespace {

namespace bf = boost::fibers;
using namespace workloads;

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

// ---- the sync group (PEER-WORKLOADS.md sections 6-8, 10)

using namespace std::chrono_literals;

void fail(const char* what) {
  std::fprintf(stderr, "boost_fiber: %s\n", what);
  std::abort();
}

double mutex_uncontended(long n) { return lock_unlock_ns<bf::mutex>(n); }

double mutex_contended(int tasks, long total, long work) {
  bf::mutex m;
  long counter = 0;
  const long per = total / tasks;
  auto t0 = Clock::now();
  std::vector<bf::fiber> fs;
  for (int t = 0; t < tasks; ++t)
    fs.push_back(start([&, t] { contend(m, counter, per, work, t); }));
  for (auto& f : fs) f.join();
  double ns = since_ns(t0) / static_cast<double>(tasks * per);
  if (counter != tasks * per) fail("mutex_contended: wrong counter");
  return ns;
}

void bench_mutex_contended(int workers) {
  for (long work : {0L, 90L})
    std::printf("peer=boost_fiber bench=mutex_contended tasks=64 work=%ld workers=%d value=%.2f unit=ns\n", work,
                workers, mutex_contended(64, scaled(6'400'000), work));
}

double pingpong_cv_once(long n) {
  return pingpong_cv_ns<bf::mutex, bf::condition_variable>(n, [](auto f, auto g) {
    bf::fiber a = start(f), b = start(g);
    a.join();
    b.join();
  });
}

double pingpong_chan(long n) {
  bf::unbuffered_channel<long> ping, pong;
  auto t0 = Clock::now();
  bf::fiber echo = start([&] {
    long v;
    while (ping.pop(v) == bf::channel_op_status::success) pong.push(v);
  });
  for (long i = 0; i < n; ++i) {
    long v;
    ping.push(i);
    pong.pop(v);
  }
  ping.close();
  echo.join();
  return since_ns(t0) / (2.0 * static_cast<double>(n));
}

void bench_pingpong(int workers) {
  const long n = scaled(1'000'000);
  pingpong_cv_once(std::max(1L, n / 20));  // warm-up
  std::printf("peer=boost_fiber bench=pingpong_cv workers=%d value=%.2f unit=ns\n", workers, pingpong_cv_once(n));
  std::printf("peer=boost_fiber bench=pingpong_chan cap=0 workers=%d value=%.2f unit=ns\n", workers,
              pingpong_chan(n));
}

// 503 fibers in a ring of channels made by make(); seconds from the first push
// to the answer.
template <class Chan>
double thread_ring(long passes, auto make) {
  const int ring = 503;
  std::vector<std::unique_ptr<Chan>> chans;  // chans[k-1] is fiber k's
  for (int k = 0; k < ring; ++k) chans.push_back(make());
  int who = 0;
  Clock::time_point end;
  std::vector<bf::fiber> fs;
  for (int k = 1; k <= ring; ++k)
    fs.push_back(start([&, k] {
      Chan& in = *chans[k - 1];
      Chan& out = *chans[k % ring];
      long t;
      while (in.pop(t) == bf::channel_op_status::success) {
        if (t == 0) {  // the token is spent: answer, and close the ring
          end = Clock::now();
          who = k;
          for (auto& c : chans) c->close();
          return;
        }
        out.push(t - 1);
      }
    }));
  auto t0 = Clock::now();
  chans[0]->push(passes);
  for (auto& f : fs) f.join();
  if (who != passes % ring + 1) fail("threadring: wrong answer");
  return std::chrono::duration<double>(end - t0).count();
}

void bench_thread_ring() {
  const long passes = scaled(10'000'000);
  auto report = [passes](const char* param, double s) {
    std::printf("peer=boost_fiber bench=threadring_s %sworkers=1 value=%.4f unit=s\n", param, s);
    std::printf("peer=boost_fiber bench=threadring %sworkers=1 value=%.2f unit=ns\n", param,
                s * 1e9 / static_cast<double>(passes));
  };
  report("", thread_ring<bf::unbuffered_channel<long>>(passes, [] {
    return std::make_unique<bf::unbuffered_channel<long>>();
  }));
  report("chan=buffered2 ", thread_ring<bf::buffered_channel<long>>(passes, [] {
    return std::make_unique<bf::buffered_channel<long>>(2);  // a power of 2 >= 2: holds 1
  }));
}

template <class StackAlloc>
void sleepers(long n, StackAlloc alloc, const char* param) {
  reset_peak_rss();
  double before = status_bytes("VmRSS");
  bf::mutex m;
  bf::condition_variable cv;
  bool open = false;
  long started = 0;
  auto t0 = Clock::now();
  std::vector<bf::fiber> fs;
  fs.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i)
    fs.emplace_back(std::allocator_arg, alloc, [&] {
      ++started;
      {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return open; });
      }
      boost::this_fiber::sleep_for(10ms);
    });
  while (started < n) boost::this_fiber::yield();
  auto t_open = Clock::now();
  {
    std::lock_guard lk(m);
    open = true;
  }
  cv.notify_all();
  for (auto& f : fs) f.join();
  double s = since_ns(t_open) / 1e9, total = since_ns(t0) / 1e9;
  double rss = (status_bytes("VmHWM") - before) / static_cast<double>(n);
  std::printf("peer=boost_fiber bench=sleepers_s n=%ld %sworkers=1 value=%.4f unit=s\n", n, param, s);
  std::printf("peer=boost_fiber bench=sleepers_total_s n=%ld %sworkers=1 value=%.4f unit=s\n", n, param, total);
  std::printf("peer=boost_fiber bench=sleepers_peak_rss_per_task n=%ld %sworkers=1 value=%.0f unit=bytes\n", n,
              param, rss);
}

void sleep_overshoot(long n) {
  auto [p50, p99] = workloads::sleep_overshoot_us(n, [] { boost::this_fiber::sleep_for(1ms); });
  std::printf("peer=boost_fiber bench=sleep_overshoot_p50 workers=1 value=%.1f unit=us\n", p50);
  std::printf("peer=boost_fiber bench=sleep_overshoot_p99 workers=1 value=%.1f unit=us\n", p99);
}

void sync_one_thread() {
  std::printf("peer=boost_fiber bench=mutex_uncontended value=%.2f unit=ns\n", mutex_uncontended(scaled(20'000'000)));
  bench_mutex_contended(1);
  std::printf("peer=boost_fiber bench=mutex_work_alone work=90 value=%.2f unit=ns\n", work_alone(90));
  bench_pingpong(1);
  bench_thread_ring();
  sleepers(scaled(100'000), bf::pooled_fixedsize_stack(16 * 1024), "");
  sleepers(scaled(100'000), bf::fixedsize_stack(), "stack=default128k ");
  sleep_overshoot(scaled(1000));
}

bool want_runtime = true, want_sync = true, want_switch = true;  // the groups asked for

// PEER-WORKLOADS.md section 1's switch_boost_fcontext: Boost.Context's own
// assembly routine, as green's BM_AsmSwitch runs its own.
namespace bcd = boost::context::detail;
void fcontext_peer(bcd::transfer_t t) {
  for (;;) t = bcd::jump_fcontext(t.fctx, nullptr);
}
double fcontext_switch_ns(long round_trips) {
  static char stack[64 * 1024] alignas(16);
  bcd::fcontext_t peer = bcd::make_fcontext(stack + sizeof stack, sizeof stack, &fcontext_peer);
  for (long i = 0; i < 1'000'000; ++i) peer = bcd::jump_fcontext(peer, nullptr).fctx;
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < round_trips; ++i) peer = bcd::jump_fcontext(peer, nullptr).fctx;
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
         (2.0 * static_cast<double>(round_trips));
}
void bench_switch() {
  std::vector<double> ns;
  for (int i = 0; i < 5; ++i) ns.push_back(fcontext_switch_ns(20'000'000));
  std::sort(ns.begin(), ns.end());
  std::printf("peer=boost_fiber bench=switch value=%.3f unit=ns\n", ns[2]);
}

void one_thread() {
  if (want_runtime) {
    bench_fib(1);
    std::printf("peer=boost_fiber bench=yield workers=1 value=%.2f unit=ns\n", yield_ns(1'000'000));
  }
  if (want_sync) sync_one_thread();
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

  if (want_runtime) {
    for (long n : {1'000L, 10'000L, 100'000L, 1'000'000L}) {
      double ns = 0;
      for (int i = 0; i < 3; ++i) ns = spawn_join(n);  // three rounds, the last reported (as BM_SpawnJoin)
      std::printf("peer=boost_fiber bench=spawn_join n=%ld value=%.2f unit=ns\n", n, ns);
    }
    bench_fib(2);
  }
  if (want_sync) {
    bench_mutex_contended(2);
    bench_pingpong(2);
  }

  {
    std::lock_guard lk(m);
    done = true;
  }
  cv.notify_all();
  helper.join();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 1) {  // the groups named, else all
    want_runtime = want_sync = want_switch = false;
    for (int i = 1; i < argc; ++i) {
      want_runtime = want_runtime || std::strcmp(argv[i], "runtime") == 0;
      want_sync = want_sync || std::strcmp(argv[i], "sync") == 0;
      want_switch = want_switch || std::strcmp(argv[i], "switch") == 0;
    }
  }
  if (want_switch) bench_switch();
  if (!want_runtime && !want_sync) return 0;
  std::thread(one_thread).join();
  two_threads();
}
