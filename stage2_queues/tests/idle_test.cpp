// An idle runtime burns no CPU: parked workers sleep on a futex.
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <thread>

namespace {

double process_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

TEST(IdleNoValgrind, IdleRuntimeUsesNoCpu) {
  green::Runtime rt({.workers = 2});
  rt.run([] {});  // the workers have started and gone idle
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Going idle may do a bounded amount of work once (from stage 4 a worker
  // about to sleep gives the process's stack depot back, which earlier tests
  // in this binary filled): up to three windows of 300 ms, and one of them
  // must be quiet. A worker that spins or wakes on a timer fails all three.
  double used = 0;
  int windows = 0;
  while (windows < 3) {
    double before = process_cpu_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    used = process_cpu_ms() - before;
    ++windows;
    if (used < 30.0) break;
  }
  EXPECT_LT(used, 30.0) << "an idle runtime with 2 workers used " << used << " ms of CPU in the last of "
                        << windows << " windows of 300 ms";
  // And it still works after sleeping.
  EXPECT_EQ(rt.run([] { return 7; }), 7);
}

}  // namespace
