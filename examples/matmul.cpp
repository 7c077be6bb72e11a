// matmul: a blocked matrix multiply, C = A * B, with one job per block row.
//
// What it shows: green::parallel_for over independent pieces of work. The
// n x n matrices are cut into b x b blocks; a "block row" is b rows of C,
// and computing one reads A's same rows and all of B but writes only its own
// rows of C, so block rows can run in parallel with no locks. Blocking keeps
// the blocks being combined in the cache while they are used.
//
// The serial run and the parallel run call the same function for each block
// row, so every element of C is summed in the same order either way, and the
// two results must be exactly equal (not just close: floating-point addition
// is not associative, and a different order would round differently).
//
//   matmul [n [block [workers]]]
//
// n defaults to 640 (a multiple of block is fastest but not required),
// block to 64, workers to 0 (one per CPU). Each way is timed 3 times, and
// the best time is kept.
#include <green/green.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct Matrix {
  std::size_t n;
  std::vector<double> v;  // row-major: element (i, j) is v[i * n + j]
  explicit Matrix(std::size_t size) : n(size), v(size * size, 0.0) {}
  double* row(std::size_t i) { return &v[i * n]; }
  const double* row(std::size_t i) const { return &v[i * n]; }
};

// C's rows [i0, i0 + bs) += A's same rows times B, block by block. Not
// inlined: both runs call one copy of its code, so the compiler cannot
// optimise the two differently (with FMA, say) and round differently.
[[gnu::noinline]] void block_row(const Matrix& a, const Matrix& b, Matrix& c, std::size_t i0, std::size_t bs) {
  std::size_t n = a.n, i1 = std::min(i0 + bs, n);
  for (std::size_t k0 = 0; k0 < n; k0 += bs) {
    std::size_t k1 = std::min(k0 + bs, n);
    for (std::size_t j0 = 0; j0 < n; j0 += bs) {
      std::size_t j1 = std::min(j0 + bs, n);
      // The block C[i0.., j0..] += A[i0.., k0..] * B[k0.., j0..].
      for (std::size_t i = i0; i < i1; ++i) {
        double* ci = c.row(i);
        for (std::size_t k = k0; k < k1; ++k) {
          double aik = a.row(i)[k];
          const double* bk = b.row(k);
          for (std::size_t j = j0; j < j1; ++j) ci[j] += aik * bk[j];
        }
      }
    }
  }
}

// The best time of 3 runs of multiply() into a zeroed c. A single run would
// also time warming up the caches and the CPU's clock, and other programs on
// the machine only ever add time.
template <class F>
double best_of_3(Matrix& c, F&& multiply) {
  double best = 1e300;
  for (int run = 0; run < 3; ++run) {
    std::fill(c.v.begin(), c.v.end(), 0.0);
    auto start = std::chrono::steady_clock::now();
    multiply();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 640;
  long bs = argc > 2 ? std::atol(argv[2]) : 64;
  unsigned workers = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 0;
  if (n < 1 || bs < 1) {
    std::fprintf(stderr, "usage: matmul [n [block [workers]]]\n");
    return 2;
  }
  std::size_t size = static_cast<std::size_t>(n), block = static_cast<std::size_t>(bs);
  std::size_t block_rows = (size + block - 1) / block;

  Matrix a(size), b(size);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (double& x : a.v) x = dist(rng);
  for (double& x : b.v) x = dist(rng);
  std::printf("multiplying two %zu x %zu matrices of doubles in %zu x %zu blocks\n", size, size,
              block, block);

  Matrix serial(size);
  double t_serial = best_of_3(serial, [&] {
    for (std::size_t r = 0; r < block_rows; ++r) block_row(a, b, serial, r * block, block);
  });
  std::printf("%-20s %7.3f s\n", "serial", t_serial);

  Matrix parallel(size);
  green::Runtime rt({.workers = workers});
  double t_parallel = rt.run([&] {
    return best_of_3(parallel, [&] {
      // Grain 1: a block row is already plenty of work for one job.
      green::parallel_for(std::size_t{0}, block_rows,
                          [&](std::size_t r) { block_row(a, b, parallel, r * block, block); }, 1);
    });
  });
  char label[32];
  std::snprintf(label, sizeof label, "green, %u worker%s", rt.workers(), rt.workers() == 1 ? "" : "s");
  std::printf("%-20s %7.3f s   speedup %.2fx\n", label, t_parallel, t_serial / t_parallel);

  if (parallel.v != serial.v) {
    std::fprintf(stderr, "matmul: the parallel result differs from the serial one\n");
    return 1;
  }
  std::printf("the results are exactly equal\n");
  return 0;
}
