// The workloads of phase4_sync/bench/sync.cpp (PEER-WORKLOADS.md sections 6, 7
// and 10) with OS threads and the standard library: what a program without a
// green-thread runtime pays. Threads are unpinned on the machine's CPUs.
// BENCH_SCALE=0.01 scales the sizes down for a quick try.
//   mutex_uncontended        one thread, no other: 50M lock/unlock pairs of a
//                            std::mutex after 5M untimed ones (ns per pair)
//   mutex_contended          T threads share a std::mutex and a counter: 6,400,000
//                            sections in all of `lock; ++counter; unlock; y =
//                            lcg_work(y, work)`, T = 2 (3,200,000 each) and 64
//                            (100,000 each), work 0 or 90 (ns per section, thread
//                            creation included); mutex_work_alone: the 90 steps alone
//   pingpong_cv              two threads pass a turn through a std::mutex and a
//                            std::condition_variable, 20,000 times each: every
//                            hand-off is a futex wake across CPUs (ns per hand-off)
//   sleep_overshoot_p50/p99  std::this_thread::sleep_for(1 ms) 1,000 times in a row
//                            (glibc clock_nanosleep): how late, nearest rank (us)
// Prints one `peer=std bench=... value=... unit=...` line each.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
double since_ns(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

// A workload's size n times BENCH_SCALE (default 1).
long scaled(long n) {
  static const double scale = [] {
    const char* s = std::getenv("BENCH_SCALE");
    return s && *s ? std::atof(s) : 1.0;
  }();
  return std::max(1L, std::lround(static_cast<double>(n) * scale));
}

// PEER-WORKLOADS.md's lcg_work: steps of a 64-bit LCG, one dependent chain; the
// empty asm keeps the compiler from folding the loop.
inline std::uint64_t lcg_work(std::uint64_t x, long steps) {
  for (long i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
  return x;
}
std::atomic<std::uint64_t> sink{0};  // keeps the work's results alive

double mutex_uncontended(long n) {
  std::mutex m;
  for (long i = 0; i < n / 10; ++i) {  // warm-up
    m.lock();
    m.unlock();
  }
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    m.lock();
    m.unlock();
  }
  return since_ns(t0) / static_cast<double>(n);
}

double mutex_contended(int threads, long total, long work) {
  std::mutex m;
  long counter = 0;
  const long per = total / threads;
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      auto y = static_cast<std::uint64_t>(t);
      for (long i = 0; i < per; ++i) {
        m.lock();
        ++counter;
        m.unlock();
        y = lcg_work(y, work);
      }
      sink.fetch_add(y, std::memory_order_relaxed);
    });
  for (auto& t : ts) t.join();
  double ns = since_ns(t0) / static_cast<double>(threads * per);
  if (counter != threads * per) {
    std::fprintf(stderr, "std: mutex_contended: wrong counter\n");
    std::abort();
  }
  return ns;
}

double work_alone(long work) {
  const long n = 1'000'000;
  std::uint64_t y = 1;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) y = lcg_work(y, work);
  sink.fetch_add(y);
  return since_ns(t0) / static_cast<double>(n);
}

double pingpong_cv(long n) {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;
  auto player = [&](int me) {
    for (long i = 0; i < n; ++i) {
      std::unique_lock lk(m);
      while (turn != me) cv.wait(lk);
      turn = 1 - me;
      cv.notify_one();
    }
  };
  auto t0 = Clock::now();
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  return since_ns(t0) / (2.0 * static_cast<double>(n));
}

void sleep_overshoot(long n) {
  std::vector<double> late;
  for (long i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    std::this_thread::sleep_for(1ms);
    late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0 - 1ms).count());
  }
  std::sort(late.begin(), late.end());
  auto rank = [&](double p) {  // nearest rank
    auto r = static_cast<std::size_t>(std::ceil(p * static_cast<double>(late.size())));
    return late[std::clamp<std::size_t>(r, 1, late.size()) - 1];
  };
  std::printf("peer=std bench=sleep_overshoot_p50 threads=1 value=%.1f unit=us\n", rank(0.5));
  std::printf("peer=std bench=sleep_overshoot_p99 threads=1 value=%.1f unit=us\n", rank(0.99));
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("peer=std bench=mutex_uncontended value=%.2f unit=ns\n", mutex_uncontended(scaled(50'000'000)));
  for (long work : {0L, 90L})
    for (int threads : {2, 64})
      std::printf("peer=std bench=mutex_contended threads=%d work=%ld value=%.2f unit=ns\n", threads, work,
                  mutex_contended(threads, scaled(6'400'000), work));
  std::printf("peer=std bench=mutex_work_alone work=90 value=%.2f unit=ns\n", work_alone(90));
  std::printf("peer=std bench=pingpong_cv threads=2 value=%.2f unit=ns\n", pingpong_cv(scaled(20'000)));
  sleep_overshoot(scaled(1000));
}
