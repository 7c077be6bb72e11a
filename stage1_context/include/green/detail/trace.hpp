// The scheduler trace's hooks: an extension point (DESIGN 3.3). The
// dispatcher reports here each time a task becomes Ready and each time it
// ran; later stages add their workers' idle spans, steals, timers and polls.
// Stage 4's src/trace.cpp records them (GREEN_TRACE, green/trace.hpp); this
// stage's src/trace.cpp never turns tracing on, so nothing is recorded.
//
// Cost when off: none on the hot paths beyond what the latency sampling
// already pays (dispatcher.hpp): while tracing, every Ready task is stamped,
// so every run goes through the sampled, out-of-line path, which reports it;
// the end of a run costs one test of Dispatcher::run_since.
#pragma once
#include <atomic>
#include <cstdint>

namespace green::detail {

struct Task;
struct Dispatcher;

// Why a task became Ready (mark_runnable's caller says).
enum class Ready : std::uint8_t { Spawn, Wake, Yield, Preempt };
// What else a worker reports: spans (idle, poll) and instants (steal, timers).
enum class TraceKind : std::uint8_t { Idle, Poll, Steal, Timers };

// On while a trace is recorded. relaxed: a flag; each thread's records
// publish themselves (stage 4's trace.cpp).
extern std::atomic<bool> g_tracing;
inline bool tracing() noexcept { return g_tracing.load(std::memory_order_relaxed); }

std::uint64_t monotonic_ns() noexcept;  // CLOCK_MONOTONIC in ns: the trace's clock (dispatcher.cpp)
// Called only while tracing() (a trace that stops meanwhile drops them).
void trace_ready(Task* t, Ready why, std::uint64_t now) noexcept;  // t is Ready, not yet queued
// t ran on d from begin to end and switched back; d.after says why (t is
// still the loop's: it is not queued, parked or freed yet).
void trace_run(const Dispatcher& d, Task* t, std::uint64_t begin, std::uint64_t end) noexcept;
// A worker's span (begin < end) or instant (begin == end); arg: Idle: 0,
// Poll: events, Steal: the victim's index, Timers: how many fired.
void trace_span(TraceKind k, std::int64_t arg, std::uint64_t begin, std::uint64_t end) noexcept;

}  // namespace green::detail
