// bench/sync with the wait-for graph compiled out, the baseline of its cost
// (the perf check "wait graph"): the graph's functions are defined here as
// no-ops, so the linker takes them instead of libgreen.a's wait_graph.o,
// and Mutex::lock and join call these. Nothing else differs: the benchmarks
// are sync.cpp's own. (A lock of a Mutex one holds would hang here.)
#include <green/detail/wait_graph.hpp>

namespace green::detail {
void wait_for_mutex(const void*, const Mutex&) {}
void wait_for_task(const void*, const Task*) {}
void wait_over(const void*) noexcept {}
std::size_t wait_edges() noexcept { return 0; }
}  // namespace green::detail

#include "sync.cpp"
