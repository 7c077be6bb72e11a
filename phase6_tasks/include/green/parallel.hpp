// parallel_for and parallel_reduce: loops split into jobs (detail/job.hpp).
//
// The range [first, last) is halved recursively: the calling task keeps the
// left half and queues the right one in a TaskGroup, until a piece is no
// larger than the grain; then it runs its piece and waits for the rest
// (helping, so on one worker this is a plain loop plus a few queued jobs).
//
//   grain G > 0: every piece of a range longer than G has between G/2 and G
//     indices (oneTBB's simple_partitioner). The split depends only on the
//     range and G, so parallel_reduce combines the same pieces in the same
//     tree every time: floating-point results are the same across runs and
//     worker counts.
//   grain 0: pieces of about n / (4 * workers) to start with; a piece that
//     was stolen (runs on another task than the one that split it) is split
//     further, down to n / (64 * workers), since its thief had nothing else
//     to do (oneTBB's auto_partitioner does the like).
//
// Both block until done, from a task or a plain thread (a runtime must be
// alive: else std::logic_error). The first exception a body throws is
// rethrown once every piece has ended; pieces not started by then are
// skipped. Inside a TaskGroup's function they are its children: cancelling
// that group skips the pieces not started.
#pragma once
#include <green/future.hpp>
#include <green/task_group.hpp>
#include <green/detail/unimplemented.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace green {
namespace detail {

// The workers of the scheduler here (1 for a LocalScheduler); 1 if none.
unsigned parallelism() noexcept;

template <class Index>
std::uint64_t distance(Index first, Index last) noexcept {
  using U = std::make_unsigned_t<Index>;
  return static_cast<std::uint64_t>(static_cast<U>(static_cast<U>(last) - static_cast<U>(first)));
}
template <class Index>
Index advance(Index i, std::uint64_t k) noexcept {
  using U = std::make_unsigned_t<Index>;
  return static_cast<Index>(static_cast<U>(static_cast<U>(i) + static_cast<U>(k)));
}

// How far to split (see the top).
struct Split {
  std::uint64_t piece;     // split while longer than this
  std::uint64_t finest;    // a stolen piece's piece is halved, down to this
  bool adaptive;           // grain 0
  Split stolen() const noexcept { return {adaptive ? std::max(finest, piece / 2) : piece, finest, adaptive}; }
};
inline Split split_for(std::uint64_t n, std::size_t grain) noexcept {
  if (grain > 0) return {grain, grain, false};
  std::uint64_t p = parallelism();
  return {std::max<std::uint64_t>(1, n / (4 * p)), std::max<std::uint64_t>(1, n / (64 * p)), true};
}

// Runs g here in a task, or as a job waited for by a plain thread.
template <class G>
void on_workers(const char* who, G& g) {
  if (current_task()) return g();
  scheduler_for(who);  // the error, if there is no runtime to run on
  async([&g] { g(); }).get();
}

// The leaves, compiled apart from the splitting around them. Inlined into
// it, GCC kept a reduction's accumulator in a general register across the
// splitting's calls and moved it to and from an SSE register on every
// element: a sum of doubles ran 3x slower than the plain loop.
template <class Index, class F>
[[gnu::noinline]] void for_leaf(Index lo, std::uint64_t n, F& body) {
  for (std::uint64_t i = 0; i < n; ++i) body(advance(lo, i));
}
template <class Index, class T, class F>
[[gnu::noinline]] T reduce_leaf(Index lo, std::uint64_t n, const T& identity, F& body) {
  return body(lo, advance(lo, n), identity);
}

template <class Index, class F>
void for_range(Index lo, std::uint64_t n, F& body, Split sp) {
  Task* self = current_task();
  TaskGroup g;
  // BEGIN SOLUTION
  while (n > sp.piece) {
    std::uint64_t half = n / 2;  // the right half goes to the group
    n -= half;
    Index mid = advance(lo, n);
    g.run([mid, half, &body, sp, self, &g] {
      try {
        for_range(mid, half, body, current_task() == self ? sp : sp.stolen());
      } catch (...) {
        g.cancel();  // the rest of the loop need not run
        throw;       // (g keeps the first exception)
      }
    });
  }
  try {
    if (!g.is_canceling()) for_leaf(lo, n, body);
  } catch (...) {
    g.cancel();  // the rest need not run; wait for what runs, then report ours
    try {
      g.wait();
    } catch (...) {
    }
    throw;
  }
  // STUB: (void)lo, (void)n, (void)body, (void)sp, (void)self;
  // STUB: unimplemented("phase 6: for_range (parallel.hpp) is yours to write");
  // END SOLUTION
  g.wait();
}

template <class Index, class T, class F, class R>
T reduce_range(Index lo, std::uint64_t n, const T& identity, F& body, R& reduce, Split sp) {
  // BEGIN SOLUTION
  if (n <= sp.piece) return reduce_leaf(lo, n, identity, body);
  Task* self = current_task();
  std::uint64_t half = n / 2;
  Index mid = advance(lo, n - half);
  std::optional<T> right;
  TaskGroup g;
  g.run([&] {
    try {
      right.emplace(reduce_range(mid, half, identity, body, reduce, current_task() == self ? sp : sp.stolen()));
    } catch (...) {
      g.cancel();
      throw;
    }
  });
  std::optional<T> left;
  try {
    left.emplace(reduce_range(lo, n - half, identity, body, reduce, sp));
  } catch (...) {
    g.cancel();
    try {
      g.wait();
    } catch (...) {
    }
    throw;
  }
  g.wait();
  if (!right) return std::move(*left);  // canceled from outside: the right half did not run
  return reduce(std::move(*left), std::move(*right));  // index order: left, then right
  // STUB: (void)lo, (void)n, (void)identity, (void)body, (void)reduce, (void)sp;
  // STUB: unimplemented("phase 6: reduce_range (parallel.hpp) is yours to write");
  // END SOLUTION
}

}  // namespace detail

// body(i) for every i in [first, last).
template <class Index, class F>
void parallel_for(Index first, Index last, F&& body, std::size_t grain = 0) {
  static_assert(std::is_integral_v<Index>, "parallel_for: the index must be an integer type");
  static_assert(std::is_invocable_v<F&, Index>, "parallel_for: body(i) must be callable with an index");
  if (!(first < last)) return;
  std::uint64_t n = detail::distance(first, last);
  auto all = [&] { detail::for_range(first, n, body, detail::split_for(n, grain)); };
  detail::on_workers("green::parallel_for", all);
}

// body(lo, hi, identity) -> T reduces each piece [lo, hi); reduce(a, b) -> T
// combines neighbouring results, left before right, so an associative
// reduce gives the serial result. An empty range gives identity.
template <class Index, class T, class F, class R>
T parallel_reduce(Index first, Index last, T identity, F&& body, R&& reduce, std::size_t grain = 0) {
  static_assert(std::is_integral_v<Index>, "parallel_reduce: the index must be an integer type");
  if (!(first < last)) return identity;
  std::uint64_t n = detail::distance(first, last);
  std::optional<T> result;
  auto all = [&] { result.emplace(detail::reduce_range(first, n, identity, body, reduce, detail::split_for(n, grain))); };
  detail::on_workers("green::parallel_reduce", all);
  return std::move(*result);
}

}  // namespace green
