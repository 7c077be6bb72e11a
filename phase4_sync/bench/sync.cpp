// What phase 4's timers and primitives cost. Each benchmark reports its
// figures as counters (medians where it repeats); the peers' figures are in
// PEER-WORKLOADS.md.
//   BM_TimerArmCancel     arm and cancel one timer on a worker's heap that
//                         already holds 1,000 (a task's view: under
//                         PreemptOff, as a timed wait does): ns per pair.
//   BM_SleepOvershoot     a task sleeps 1 ms, 200 times, on an otherwise
//                         idle runtime: p50 and p99 of how late it woke, us.
//   BM_Sleepers           100,000 tasks sleep until the same instant 50 ms
//                         ahead on 2 workers: ms from it until the last woke.
//   BM_MutexUncontended   green::Mutex lock/unlock in a task, against
//                         std::mutex in the same task, 15 alternating rounds:
//                         ns per pair of each, and the median ratio; and
//                         std::mutex on a plain thread (std_thread_ns).
//   BM_MutexContended/W   64 tasks on 2 workers take one Mutex 2^14 times
//                         each, with W units of work outside the lock:
//                         ns per critical section.
//   BM_ChannelPingPong/C  two tasks on 2 workers bounce a value over two
//                         channels of capacity C: ns per hand-off.
//   BM_ThreadRing         503 tasks in a ring of unbuffered channels pass a
//                         token 10^6 times (the Benchmarks Game's thread-ring,
//                         shortened): ns per pass.
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/green.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}
double ns_since(Clock::time_point t0, double n) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

void BM_TimerArmCancel(benchmark::State& state) {
  green::Runtime rt({.workers = 1});
  for (auto _ : state) {
    rt.run([&] {
      green::detail::PreemptOff off;  // stay on this worker's heap
      green::detail::Worker& w = *green::detail::current_worker();
      std::vector<green::detail::Timer> standing(1000), t(1);
      std::int64_t far = green::detail::now_ns() + 3'600'000'000'000;
      for (std::size_t i = 0; i < standing.size(); ++i) {
        standing[i].deadline = far + static_cast<std::int64_t>(i) * 1000;
        standing[i].fire = [](green::detail::Timer*) {};
        green::detail::arm_timer(w, &standing[i]);
      }
      const long n = 1 << 20;
      t[0].fire = [](green::detail::Timer*) {};
      auto t0 = Clock::now();
      for (long i = 0; i < n; ++i) {
        t[0].deadline = far + (i & 1023) * 1000 + 500;  // lands among the standing ones
        green::detail::arm_timer(w, &t[0]);
        t[0].heap->cancel(&t[0]);
      }
      state.counters["ns_per_arm_cancel"] = ns_since(t0, static_cast<double>(n));
      for (auto& s : standing) s.heap->cancel(&s);
    });
  }
}
BENCHMARK(BM_TimerArmCancel)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_SleepOvershoot(benchmark::State& state) {
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    std::vector<double> late;
    rt.run([&] {
      for (int i = 0; i < 200; ++i) {
        auto t0 = Clock::now();
        green::this_task::sleep_for(1ms);
        late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0 - 1ms).count());
      }
    });
    state.counters["p50_us"] = percentile(late, 0.5);
    state.counters["p99_us"] = percentile(late, 0.99);
  }
}
BENCHMARK(BM_SleepOvershoot)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Sleepers(benchmark::State& state) {
  for (auto _ : state) {
    green::Runtime rt({.workers = 2});
    const long n = 100'000;
    std::atomic<long> done{0};
    std::atomic<std::int64_t> last{0};
    auto at = Clock::now() + 50ms;
    rt.run([&] {
      for (long i = 0; i < n; ++i)
        green::spawn([&] {
          green::this_task::sleep_until(at);
          std::int64_t now = Clock::now().time_since_epoch().count();
          for (std::int64_t l = last.load(); now > l && !last.compare_exchange_weak(l, now);) {}
          done.fetch_add(1);
        }, {.small_stack = true}).detach();
    });
    while (done.load() < n) std::this_thread::sleep_for(1ms);
    state.counters["spread_ms"] =
        std::chrono::duration<double, std::milli>(Clock::time_point(Clock::duration(last.load())) - at).count();
  }
}
BENCHMARK(BM_Sleepers)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_MutexUncontended(benchmark::State& state) {
  green::Runtime rt({.workers = 1});
  for (auto _ : state) {
    std::vector<double> ours, std_ns, ratio;
    rt.run([&] {
      green::Mutex gm;
      std::mutex sm;
      const long n = 1 << 20;
      for (int round = 0; round < 15; ++round) {
        auto t0 = Clock::now();
        for (long i = 0; i < n; ++i) {
          gm.lock();
          gm.unlock();
        }
        double a = ns_since(t0, static_cast<double>(n));
        t0 = Clock::now();
        for (long i = 0; i < n; ++i) {
          sm.lock();
          sm.unlock();
        }
        double b = ns_since(t0, static_cast<double>(n));
        ours.push_back(a);
        std_ns.push_back(b);
        ratio.push_back(a / b);
      }
    });
    // And std::mutex on this plain thread, where a program without green
    // calls it (no preempt count to hold: the 5.7 ns).
    std::vector<double> plain;
    std::mutex sm;
    for (int round = 0; round < 15; ++round) {
      const long n = 1 << 20;
      auto t0 = Clock::now();
      for (long i = 0; i < n; ++i) {
        sm.lock();
        sm.unlock();
      }
      plain.push_back(ns_since(t0, static_cast<double>(n)));
    }
    state.counters["green_ns"] = median(ours);
    state.counters["std_ns"] = median(std_ns);
    state.counters["ratio"] = median(ratio);
    state.counters["std_thread_ns"] = median(plain);
  }
}
BENCHMARK(BM_MutexUncontended)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

[[gnu::noinline]] void work(int units) {
  for (int i = 0; i < units; ++i) asm volatile("" ::: "memory");
}

void BM_MutexContended(benchmark::State& state) {
  const int outside = static_cast<int>(state.range(0));
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    green::Mutex m;
    long counter = 0;
    const int tasks = 64;
    const long per = 1 << 14;
    auto t0 = Clock::now();
    rt.run([&] {
      std::vector<green::TaskHandle> hs;
      for (int t = 0; t < tasks; ++t)
        hs.push_back(green::spawn([&] {
          for (long i = 0; i < per; ++i) {
            {
              std::lock_guard lk(m);
              ++counter;
            }
            work(outside);
          }
        }));
      for (auto& h : hs) h.join();
    });
    state.counters["ns_per_section"] = ns_since(t0, static_cast<double>(tasks * per));
    benchmark::DoNotOptimize(counter);
  }
}
BENCHMARK(BM_MutexContended)->Arg(0)->Arg(100)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ChannelPingPong(benchmark::State& state) {
  const auto cap = static_cast<std::size_t>(state.range(0));
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    green::Channel<long> ping(cap), pong(cap);
    const long n = 200'000;
    auto t0 = Clock::now();
    rt.run([&] {
      auto echo = green::spawn([&] {
        while (auto v = ping.recv()) pong.send(*v);
      });
      for (long i = 0; i < n; ++i) {
        ping.send(i);
        pong.recv();
      }
      ping.close();
      echo.join();
    });
    state.counters["ns_per_handoff"] = ns_since(t0, 2.0 * static_cast<double>(n));
  }
}
BENCHMARK(BM_ChannelPingPong)->Arg(0)->Arg(1)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ThreadRing(benchmark::State& state) {
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    const int ring = 503;
    const long passes = 1'000'000;
    std::vector<green::Channel<long>> chans(ring);
    auto t0 = Clock::now();
    rt.run([&] {
      std::vector<green::TaskHandle> hs;
      for (int i = 0; i < ring; ++i)
        hs.push_back(green::spawn([&, i] {
          auto& in = chans[i];
          auto& out = chans[(i + 1) % ring];
          while (auto v = in.recv()) {
            if (*v == 0) {  // the token is spent: close the ring
              for (auto& c : chans) c.close();
              break;
            }
            out.send(*v - 1);
          }
        }, {.small_stack = true}));
      chans[0].send(passes);
      for (auto& h : hs) h.join();
    });
    state.counters["ns_per_pass"] = ns_since(t0, static_cast<double>(passes));
  }
}
BENCHMARK(BM_ThreadRing)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
