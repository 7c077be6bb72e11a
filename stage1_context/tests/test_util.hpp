// Helpers shared by the test files of every stage.
#pragma once
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>

#include <cstdlib>
#include <string>

namespace green::test {

// GREEN_TEST_SCALE (default 1) shrinks stress loops: the Valgrind smoke test
// runs with 0.02. Under ThreadSanitizer, which runs 5-15x slower and keeps a
// thread state per live task, loops shrink by another 10x. Never below
// `floor`, so a scaled test still tests something.
// full_under_tsan: a race test whose count is its point keeps it under TSan.
inline long scaled(long n, long floor = 10, bool full_under_tsan = false) {
  static const double env = [] {
    const char* s = std::getenv("GREEN_TEST_SCALE");
    return s ? std::atof(s) : 1.0;
  }();
  double scale = env * (GREEN_TSAN && !full_under_tsan ? 0.1 : 1.0);
  long v = static_cast<long>(static_cast<double>(n) * scale);
  return v < floor ? (n < floor ? n : floor) : v;
}

// Sets the guard budget (detail/stack.hpp) for one test, and puts it back.
struct BudgetScope {
  std::size_t saved = detail::guard_budget();
  explicit BudgetScope(std::size_t n) { detail::set_guard_budget(n); }
  ~BudgetScope() { detail::set_guard_budget(saved); }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
};

}  // namespace green::test
