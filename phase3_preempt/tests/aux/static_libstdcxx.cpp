// link: -static-libstdc++
// A program whose libstdc++ is linked into the executable (preempt_test.cpp,
// SafePoints.StaticLibstdcxxRunsCooperatively). The runtime cannot tell that
// libstdc++'s code from the program's, so it must not preempt at all: it says
// so in one line on stderr and runs cooperatively. Prints the preemptions it
// saw; exits 0 if there were none. Its function-local statics use the
// runtime's own guards (os_locks.cpp): there is no other.
#include <green/detail/preempt_signal.hpp>
#include <green/green.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>

// A function-local static with a run-time initializer: __cxa_guard_acquire.
long started_at() {
  static const long t = std::chrono::steady_clock::now().time_since_epoch().count();
  return t;
}

int main() {
  using namespace std::chrono;
  std::atomic<bool> other_ran{false};
  bool overtaken = false;
  {
    green::Runtime rt({.workers = 1, .time_slice = microseconds(1000)});
    rt.run([&] {
      long first = started_at();
      auto other = green::spawn([&] {
        if (started_at() != first) std::abort();  // initialized once
        other_ran = true;
      });
      auto until = steady_clock::now() + milliseconds(50);  // 50 slices without a yield
      for (unsigned i = 1;; ++i) {
        overtaken |= other_ran.load(std::memory_order_relaxed);
        if (i % 1024 == 0 && steady_clock::now() > until) break;
      }
      other.join();
    });
  }
  green::Runtime({.workers = 2}).run([] {});  // more workers starting: still one warning
  auto s = green::detail::preempt_stats();
  std::printf("preemptions=%llu ticks=%llu overtaken=%d refused=%d\n", static_cast<unsigned long long>(s.preemptions),
              static_cast<unsigned long long>(s.ticks), overtaken ? 1 : 0,
              green::detail::preemption_refused_static() ? 1 : 0);
  return s.preemptions == 0 && s.ticks == 0 && !overtaken && green::detail::preemption_refused_static() ? 0 : 1;
}
