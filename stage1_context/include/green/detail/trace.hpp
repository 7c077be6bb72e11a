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

#include <x86intrin.h>

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

std::uint64_t monotonic_ns() noexcept;  // CLOCK_MONOTONIC in ns (dispatcher.cpp)

// The trace's clock, in ticks: the CPU's time-stamp counter where it is
// invariant (constant rate, never stops; every x86-64 CPU of the last decade
// says so), else monotonic_ns(). A trace reads it about six times per task,
// and a TSC read costs under half of clock_gettime on a VM's kvm-clock (11
// against 27 ns here). Stage 4's trace_stop turns ticks into ns by the two
// pairs of readings it takes at trace_start and trace_stop. Its order across
// threads relies on the CPUs' counters agreeing, as the kernel's own clock
// does on such CPUs.
// g_trace_clock: 0 until the first read, then 1 (TSC) or 2 (monotonic_ns);
// relaxed: every thread that decides writes the same value.
extern std::atomic<int> g_trace_clock;
int pick_trace_clock() noexcept;
inline std::uint64_t trace_now() noexcept {
  int c = g_trace_clock.load(std::memory_order_relaxed);
  if (__builtin_expect(c == 0, 0)) c = pick_trace_clock();
  return c == 1 ? __rdtsc() : monotonic_ns();
}

// Called only while tracing() (a trace that stops meanwhile drops them);
// every time is a trace_now().
void trace_ready(Task* t, Ready why, std::uint64_t now) noexcept;  // t is Ready, not yet queued
// t ran on d from begin to end and switched back; d.after says why (t is
// still the loop's: it is not queued, parked or freed yet).
void trace_run(const Dispatcher& d, Task* t, std::uint64_t begin, std::uint64_t end) noexcept;
// A worker's span (begin < end) or instant (begin == end); arg: Idle: 0,
// Poll: events, Steal: the victim's index, Timers: how many fired.
void trace_span(TraceKind k, std::int64_t arg, std::uint64_t begin, std::uint64_t end) noexcept;

}  // namespace green::detail
