// Guarded stacks, rationed. See "Guarded stacks, rationed" in
// include/green/detail/stack_source.hpp.
#include <green/detail/stack.hpp>
#include <green/detail/unimplemented.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <sys/mman.h>

namespace green::detail {

namespace {

std::size_t default_guard_budget() noexcept {
  std::size_t max_maps = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long v;
    if (std::fscanf(f, "%lu", &v) == 1) max_maps = v;
    std::fclose(f);
  }
  return max_maps / 4;  // each guarded stack costs 2 mappings: half the budget
}

// Written by set_guard_budget (tests, tuning), read by every allocation: relaxed,
// it orders nothing else.
std::atomic<std::size_t> g_guard_budget{default_guard_budget()};
// Live guarded stacks. fetch_add/fetch_sub relaxed: a counter, it publishes nothing.
std::atomic<std::size_t> g_guarded_live{0};

}  // namespace

Stack map_guarded_in_budget(std::size_t size) {
  // BEGIN SOLUTION
  // Reserve the slot first so concurrent allocators never exceed the budget.
  if (g_guarded_live.fetch_add(1, std::memory_order_relaxed) >= g_guard_budget.load(std::memory_order_relaxed)) {
    g_guarded_live.fetch_sub(1, std::memory_order_relaxed);
    return {};
  }
  Stack s;
  try {
    s = map_guarded(size);
  } catch (...) {
    g_guarded_live.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  if (!s) g_guarded_live.fetch_sub(1, std::memory_order_relaxed);  // out of mappings after all
  return s;
  // STUB: (void)size;
  // STUB: unimplemented("stage 4: map_guarded_in_budget (guard_budget.cpp) is yours to write");
  // END SOLUTION
}

void unmap_guarded_batch(Stack* s, std::size_t n) noexcept {
  // BEGIN SOLUTION
  std::sort(s, s + n, [](const Stack& a, const Stack& b) { return a.lo < b.lo; });
  for (std::size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && s[j].lo - kPageSize == s[j - 1].hi(); ++j) {}  // [i, j): neighbours
    munmap(s[i].lo - kPageSize, static_cast<std::size_t>(s[j - 1].hi() - (s[i].lo - kPageSize)));
  }
  g_guarded_live.fetch_sub(n, std::memory_order_relaxed);
  // STUB: (void)s, (void)n;
  // STUB: unimplemented("stage 4: unmap_guarded_batch (guard_budget.cpp) is yours to write");
  // END SOLUTION
}

std::size_t guard_budget() noexcept { return g_guard_budget.load(std::memory_order_relaxed); }
void set_guard_budget(std::size_t n) noexcept { g_guard_budget.store(n, std::memory_order_relaxed); }
std::size_t guarded_stacks_live() noexcept { return g_guarded_live.load(std::memory_order_relaxed); }

}  // namespace green::detail
