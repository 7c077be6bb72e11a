// Park/unpark round trips on a 2-worker runtime, two ways:
//   run<P>(state, Mode::SameWorker): two tasks wake each other in turn, each
//     parking until the other wakes it (two parks, two unparks per round
//     trip). A woken task is queued on its waker's worker, so they mostly
//     share one worker: this is the cost of the protocol itself.
//   run<P>(state, Mode::AcrossWorkers): task A parks; task B, which never
//     parks or yields and so holds the other worker, takes A and unparks it;
//     A is queued on B's busy worker and A's idle worker steals it back. One
//     round trip = one park, one unpark from the other worker, one steal.
// A Protocol says how a task makes itself findable by its
// waker (Protocol::park) and how the waker takes it (Protocol::take):
//   CallbackProtocol (stages 2-3): park's callback publishes the task once it
//     has switched out.
//   (stage 4 adds AnnounceProtocol in tagging.cpp: announce first, then park.)
// Reports ns per round trip and the share of round trips in which the two
// tasks ran on different workers; across workers also the p50 and p99 of
// the round trips (A's clock from one wake-up to the next).
#pragma once
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <benchmark/benchmark.h>

#include <stats.hpp>

#include <atomic>
#include <chrono>
#include <vector>

namespace pingpong {

using green::detail::Task;

struct CallbackProtocol {
  using Slot = std::atomic<Task*>;
  static void park(Slot& mine) {
    green::detail::park_current(
        [](Task* self, void* slot) {
          // release: pairs with take's acquire; the waker sees the saved context.
          static_cast<Slot*>(slot)->store(self, std::memory_order_release);
        },
        &mine);
  }
  static Task* try_take(Slot& theirs) { return theirs.exchange(nullptr, std::memory_order_acquire); }
  static void announce(Slot&) {}  // the callback does it
};

// Takes the other player from its slot, spinning until it is there (and now
// and then yielding, in case both share a worker, unless told not to).
template <class P>
Task* take(typename P::Slot& theirs, bool may_yield = true) {
  for (unsigned k = 1;; ++k) {
    if (Task* t = P::try_take(theirs)) return t;
    if (may_yield && k % 256 == 0) green::this_task::yield();
    else asm volatile("pause");
  }
}

enum class Mode { SameWorker, AcrossWorkers };

template <class P>
void run(benchmark::State& state, Mode mode) {
  // Across workers a round trip takes microseconds (the workers sleep and
  // wake on futexes), on one worker about a hundred nanoseconds.
  const long rounds = mode == Mode::AcrossWorkers ? 50'000 : 200'000;
  green::Runtime rt({.workers = 2});
  for (auto _ : state) {
    typename P::Slot slot_a{}, slot_b{};
    std::atomic<const void*> where_b{nullptr};
    std::atomic<long> apart{0};
    std::vector<std::chrono::steady_clock::time_point> woke(mode == Mode::AcrossWorkers ? rounds : 0);
    auto t0 = std::chrono::steady_clock::now();
    rt.run([&] {
      green::TaskHandle a = green::spawn([&] {
        for (long r = 0; r < rounds; ++r) {
          {
            green::detail::PreemptOff no_preempt;  // between announcing and parking (detail/preempt.hpp)
            P::announce(slot_a);
            P::park(slot_a);
          }
          if (mode == Mode::AcrossWorkers) woke[r] = std::chrono::steady_clock::now();
          // relaxed: a statistic; the slot handoff orders the real data.
          if (where_b.load(std::memory_order_relaxed) != green::detail::this_dispatcher())
            apart.fetch_add(1, std::memory_order_relaxed);
          if (mode == Mode::SameWorker) green::detail::unpark(take<P>(slot_b));
        }
      });
      green::TaskHandle b = green::spawn([&] {
        where_b.store(green::detail::this_dispatcher(), std::memory_order_relaxed);
        if (mode == Mode::AcrossWorkers) {
          for (long r = 0; r < rounds; ++r) green::detail::unpark(take<P>(slot_a, false));
          return;
        }
        for (long r = 0; r < rounds; ++r) {
          Task* other = take<P>(slot_a);
          where_b.store(green::detail::this_dispatcher(), std::memory_order_relaxed);
          green::detail::PreemptOff no_preempt;
          P::announce(slot_b);
          green::detail::unpark(other);
          P::park(slot_b);
        }
      });
      a.join();
      b.join();
    });
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    state.counters["ns_per_round_trip"] = ns / rounds;
    state.counters["apart"] = static_cast<double>(apart.load()) / rounds;
    if (mode == Mode::AcrossWorkers) {
      std::vector<double> trips;
      for (long r = 1; r < rounds; ++r) trips.push_back(std::chrono::duration<double, std::nano>(woke[r] - woke[r - 1]).count());
      state.counters["p50_ns"] = benchstats::percentile(trips, 0.5);
      state.counters["p99_ns"] = benchstats::percentile(trips, 0.99);
    }
  }
}

}  // namespace pingpong
