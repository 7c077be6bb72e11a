// The scheduler trace before stage 4: nothing records it, so it never turns
// on and the hooks are never called (detail/trace.hpp).
#include <green/detail/trace.hpp>

namespace green::detail {

std::atomic<bool> g_tracing{false};
void trace_ready(Task*, Ready, std::uint64_t) noexcept {}
void trace_run(const Dispatcher&, Task*, std::uint64_t, std::uint64_t) noexcept {}
void trace_span(TraceKind, std::int64_t, std::uint64_t, std::uint64_t) noexcept {}

}  // namespace green::detail
