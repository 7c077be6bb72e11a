// The loops of phase6_tasks/bench/tasks.cpp (group "tasks": BM_ForAxpy,
// BM_ForCompute and BM_ReduceSum; PEER-WORKLOADS.md section 11) with OpenMP
// (GCC's libgomp, g++ -fopenmp), on W = 1 and 2 threads (num_threads(W),
// whatever OMP_NUM_THREADS says), `parallel for schedule(static)`:
//   for_axpy workers=W     scale100m: a[i] = a[i]*2.0 + 1.0 over 10^8 doubles,
//                          starting as double(i % 1000) (ms)
//   for_compute workers=W  compute1m: for each of 10^6 elements x = c[i], 200
//                          times x = x*x*0.5 + 0.25, c[i] = x, starting as
//                          (i % 1000) / 1000.0 (ms)
//   reduce_sum workers=W   reduce100m: the sum of b[i] = double(i % 1000) over
//                          10^8 with reduction(+:s), exactly 49,950,000,000
//                          (checked every run) (ms)
// and the same three with schedule(dynamic, 4096) on 2 threads, rows of their
// own (`for_axpy schedule=dynamic4096 workers=2`, ...). The arrays are first
// touched by a serial loop at start-up; scale100m and compute1m update theirs
// in place, run after run (as green's). Each: one untimed run, then the median
// of 5. Prints one `peer=openmp bench=... value=... unit=...` line each; it has
// one group and ignores its arguments.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

using Clock = std::chrono::steady_clock;
double since_ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

template <class F>
double median_ms(F run) {
  run();
  double ms[5];
  for (double& m : ms) {
    auto t0 = Clock::now();
    run();
    m = since_ms(t0);
  }
  std::sort(ms, ms + 5);
  return ms[2];
}

constexpr long kBig = 100'000'000, kCompute = 1'000'000;

void check_sum(double s) {
  if (s != 49'950'000'000.0) {
    std::fprintf(stderr, "openmp: reduce_sum: wrong sum %.1f\n", s);
    std::abort();
  }
}

// The three loops on w threads, schedule(static) or schedule(dynamic, 4096).
void loops(double* a, const double* b, double* c, int w, bool dynamic) {
  const char* sched = dynamic ? " schedule=dynamic4096" : "";
  double ms = median_ms([&] {
    if (dynamic) {
#pragma omp parallel for schedule(dynamic, 4096) num_threads(w)
      for (long i = 0; i < kBig; ++i) a[i] = a[i] * 2.0 + 1.0;
    } else {
#pragma omp parallel for schedule(static) num_threads(w)
      for (long i = 0; i < kBig; ++i) a[i] = a[i] * 2.0 + 1.0;
    }
  });
  std::printf("peer=openmp bench=for_axpy%s workers=%d value=%.2f unit=ms\n", sched, w, ms);
  ms = median_ms([&] {
    if (dynamic) {
#pragma omp parallel for schedule(dynamic, 4096) num_threads(w)
      for (long i = 0; i < kCompute; ++i) {
        double x = c[i];
        for (int k = 0; k < 200; ++k) x = x * x * 0.5 + 0.25;
        c[i] = x;
      }
    } else {
#pragma omp parallel for schedule(static) num_threads(w)
      for (long i = 0; i < kCompute; ++i) {
        double x = c[i];
        for (int k = 0; k < 200; ++k) x = x * x * 0.5 + 0.25;
        c[i] = x;
      }
    }
  });
  std::printf("peer=openmp bench=for_compute%s workers=%d value=%.2f unit=ms\n", sched, w, ms);
  ms = median_ms([&] {
    double s = 0;
    if (dynamic) {
#pragma omp parallel for schedule(dynamic, 4096) reduction(+ : s) num_threads(w)
      for (long i = 0; i < kBig; ++i) s += b[i];
    } else {
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(w)
      for (long i = 0; i < kBig; ++i) s += b[i];
    }
    check_sum(s);
  });
  std::printf("peer=openmp bench=reduce_sum%s workers=%d value=%.2f unit=ms\n", sched, w, ms);
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::unique_ptr<double[]> a(new double[kBig]), b(new double[kBig]), c(new double[kCompute]);
  for (long i = 0; i < kBig; ++i) a[i] = static_cast<double>(i % 1000);  // the first touch, serial
  for (long i = 0; i < kBig; ++i) b[i] = static_cast<double>(i % 1000);
  for (long i = 0; i < kCompute; ++i) c[i] = static_cast<double>(i % 1000) / 1000.0;
  for (int w : {1, 2}) loops(a.get(), b.get(), c.get(), w, false);
  loops(a.get(), b.get(), c.get(), 2, true);
}
