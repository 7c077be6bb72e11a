// parallel_sort: a merge sort whose two halves sort in parallel.
//
// What it shows: fork-join with green::TaskGroup. Each call hands its left
// half to the group (g.run), sorts the right half itself, waits (g.wait), and
// merges. Below a cutoff a piece is sorted serially with std::sort: splitting
// further would cost more than it gains. g.wait() helps: if no other worker
// has taken the left half yet, the waiting task runs it itself, so on one
// worker this is an ordinary recursive merge sort plus a little bookkeeping.
//
// The merges are serial: the last one alone touches every element once,
// which bounds the speedup (Amdahl's law) well below the number of workers.
//
//   parallel_sort [count [workers]]
//
// sorts count random ints (default 5000000) with std::sort, then with the
// green sort on 1 worker and on `workers` (default 0: one per CPU), checks
// that all three give the same result, and prints the times and speedups.
#include <green/green.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

constexpr std::size_t kCutoff = 16 * 1024;  // pieces this small sort serially

// Sorts a[0, n), using buf[0, n) as scratch space for the merge.
void merge_sort(int* a, int* buf, std::size_t n) {
  if (n <= kCutoff) {
    std::sort(a, a + n);
    return;
  }
  std::size_t half = n / 2;
  green::TaskGroup g;
  g.run([=] { merge_sort(a, buf, half); });  // the left half, maybe on another worker
  merge_sort(a + half, buf + half, n - half);  // the right half, here
  g.wait();                                    // both halves are sorted now
  std::merge(a, a + half, a + half, a + n, buf);
  std::copy(buf, buf + n, a);
}

template <class F>
double seconds(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sorts a copy of `input` with merge_sort on a runtime of `workers` workers
// (0: one per CPU); returns the time the sort took, and the result in `out`.
double green_sort(const std::vector<int>& input, unsigned workers, std::vector<int>& out,
                  unsigned& used) {
  out = input;
  std::vector<int> buf(out.size());
  green::Runtime rt({.workers = workers});
  used = rt.workers();
  return rt.run([&] { return seconds([&] { merge_sort(out.data(), buf.data(), out.size()); }); });
}

}  // namespace

int main(int argc, char** argv) {
  long count = argc > 1 ? std::atol(argv[1]) : 5'000'000;
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  if (count < 0) {
    std::fprintf(stderr, "usage: parallel_sort [count [workers]]\n");
    return 2;
  }

  std::vector<int> input(static_cast<std::size_t>(count));
  std::mt19937 rng(42);
  for (int& x : input) x = static_cast<int>(rng());
  std::printf("sorting %ld random ints\n", count);

  std::vector<int> expected = input;
  double t_std = seconds([&] { std::sort(expected.begin(), expected.end()); });
  std::printf("%-24s %7.3f s\n", "std::sort", t_std);

  std::vector<int> got;
  unsigned used = 0;
  double t_one = green_sort(input, 1, got, used);
  if (got != expected) {
    std::fprintf(stderr, "parallel_sort: the green sort on 1 worker differs from std::sort\n");
    return 1;
  }
  std::printf("%-24s %7.3f s   speedup %.2fx over std::sort\n", "green sort, 1 worker", t_one,
              t_std / t_one);

  double t_all = green_sort(input, workers, got, used);
  if (got != expected) {
    std::fprintf(stderr, "parallel_sort: the green sort on %u workers differs from std::sort\n", used);
    return 1;
  }
  char label[32];
  std::snprintf(label, sizeof label, "green sort, %u worker%s", used, used == 1 ? "" : "s");
  std::printf("%-24s %7.3f s   speedup %.2fx over std::sort, %.2fx over 1 worker\n", label, t_all,
              t_std / t_all, t_one / t_all);
  std::printf("all three results are equal\n");
  return 0;
}
