// The loops of phase6_tasks/bench/tasks.cpp (group "tasks": BM_ForAxpy and
// BM_ReduceSum) with OpenMP (GCC's libgomp, g++ -fopenmp), on W = 1 and 2
// threads (num_threads(W), whatever OMP_NUM_THREADS says):
//   for_axpy workers=W    a[i] = 2 a[i] + 1 over 10^8 doubles (starting at 1.0),
//                         `parallel for schedule(static)` (ms)
//   reduce_sum workers=W  the sum of 10^8 doubles (all 1.0, checked),
//                         `parallel for schedule(static) reduction(+:s)` (ms)
// Each: one untimed run, then the median of 5. The array is touched serially
// first, as green's. Prints one `peer=openmp bench=... value=... unit=...` line
// each; it has one group and ignores its arguments.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

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

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<double> v(100'000'000, 1.0);
  double* a = v.data();
  const long n = static_cast<long>(v.size());
  for (int w : {1, 2}) {
    double ms = median_ms([&] {
#pragma omp parallel for schedule(static) num_threads(w)
      for (long i = 0; i < n; ++i) a[i] = 2 * a[i] + 1;
    });
    std::printf("peer=openmp bench=for_axpy workers=%d value=%.2f unit=ms\n", w, ms);
  }
  std::fill(v.begin(), v.end(), 1.0);  // every sum must be 10^8
  for (int w : {1, 2}) {
    double ms = median_ms([&] {
      double s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(w)
      for (long i = 0; i < n; ++i) s += a[i];
      if (s != 1e8) {
        std::fprintf(stderr, "openmp: reduce_sum: wrong sum %f\n", s);
        std::abort();
      }
    });
    std::printf("peer=openmp bench=reduce_sum workers=%d value=%.2f unit=ms\n", w, ms);
  }
}
