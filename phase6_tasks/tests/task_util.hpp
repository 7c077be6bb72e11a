// Helpers for phase 6's tests.
#pragma once
#include <green/green.hpp>
#include <sync_util.hpp>

#include <atomic>
#include <cstdint>

namespace green::test {

// fib(n) with both children run in a TaskGroup, down to the leaves.
inline std::uint64_t group_fib(int n) {
  if (n < 2) return static_cast<std::uint64_t>(n);
  std::uint64_t a = 0, b = 0;
  TaskGroup g;
  g.run([&] { a = group_fib(n - 1); });
  g.run([&] { b = group_fib(n - 2); });
  g.wait();
  return a + b;
}

// The same through plain spawn/join, every child on a small stack (stage 3's
// bench); with yield_every, every yield_every-th leaf yields first.
inline std::uint64_t spawn_fib(int n, unsigned yield_every = 0) {
  if (n < 2) {
    static std::atomic<unsigned> leaves{0};
    if (yield_every && leaves.fetch_add(1, std::memory_order_relaxed) % yield_every == 0) this_task::yield();
    return static_cast<std::uint64_t>(n);
  }
  std::uint64_t a = 0, b = 0;
  TaskHandle ha = spawn([&] { a = spawn_fib(n - 1, yield_every); }, {.small_stack = true});
  TaskHandle hb = spawn([&] { b = spawn_fib(n - 2, yield_every); }, {.small_stack = true});
  ha.join();
  hb.join();
  return a + b;
}

inline std::uint64_t serial_fib(int n) { return n < 2 ? static_cast<std::uint64_t>(n) : serial_fib(n - 1) + serial_fib(n - 2); }

}  // namespace green::test
