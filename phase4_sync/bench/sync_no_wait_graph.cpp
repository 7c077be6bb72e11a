// bench/sync's contended Mutex benchmarks with the wait-for graph compiled
// out: the baseline of the graph's cost (HANDOUT 7.4, 7.7). The graph's functions
// are defined here as no-ops, so the linker takes these instead of
// libgreen.a's wait_graph.o, and Mutex::lock and join call them. Nothing
// else differs: the benchmarks are sync.cpp's own. Run it alternately with
// `sync --benchmark_filter=BM_MutexContended` and compare medians: one run
// of either varies by +-20% on 2 cores. (A lock of a Mutex one holds would
// hang here.)
#include <green/detail/wait_graph.hpp>

namespace green::detail {
void wait_for_mutex(const void*, const Mutex&) {}
void wait_for_task(const void*, const Task*) {}
void wait_over(const void*) noexcept {}
std::size_t wait_edges() noexcept { return 0; }
std::vector<WaitEdge> wait_edges_now() { return {}; }
std::string node_name(const void*, int) { return {}; }
}  // namespace green::detail

#define SYNC_BENCH_FILTER "BM_MutexContended"
#include "sync.cpp"
