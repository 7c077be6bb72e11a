// fib(n) with both children spawned, serial below a cutoff (0: every call a
// task): the runtime bench's fib and stage 4's trace bench share it.
#pragma once
#include <green/green.hpp>

namespace fibbench {

inline long serial_fib(int n) { return n < 2 ? n : serial_fib(n - 1) + serial_fib(n - 2); }

inline long fib(int n, int cutoff) {
  if (n < cutoff) return serial_fib(n);
  if (n < 2) return n;
  long x = 0, y = 0;
  green::TaskHandle hx = green::spawn([&] { x = fib(n - 1, cutoff); }, {.small_stack = true});
  green::TaskHandle hy = green::spawn([&] { y = fib(n - 2, cutoff); }, {.small_stack = true});
  hx.join();
  hy.join();
  return x + y;
}

}  // namespace fibbench
