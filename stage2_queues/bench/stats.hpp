// Order statistics over a benchmark's repeated runs, for every stage's
// bench programs from here on (and the peers that share phase 4's
// workloads: grader/bench.py puts this directory on their include path).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace benchstats {

// The upper median: the middle value of the sorted runs (of an even count,
// the higher of the two middle ones).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Nearest rank: the smallest value with at least p of them at or below it.
inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

}  // namespace benchstats
