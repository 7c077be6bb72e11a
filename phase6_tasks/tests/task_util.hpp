// Helpers for phase 6's tests.
#pragma once
#include <green/green.hpp>
#include <sync_util.hpp>

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

inline std::uint64_t serial_fib(int n) { return n < 2 ? static_cast<std::uint64_t>(n) : serial_fib(n - 1) + serial_fib(n - 2); }

}  // namespace green::test
