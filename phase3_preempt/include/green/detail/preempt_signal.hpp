// Timer-signal preemption: the parts the rest of the runtime and the tests
// see. The design is at the top of src/preempt.cpp.
#pragma once
#include <cstdint>

namespace green::detail {

struct Worker;

// The signal each worker's timer sends (see src/preempt.cpp for the choice).
int preempt_signal() noexcept;

// Per worker thread, from the worker hooks (src/worker_hooks.cpp); the
// timers are in src/preempt_timer.cpp.
void preempt_start(Worker& w);       // create the timer and arm it (if time_slice > 0)
void preempt_pause() noexcept;       // the worker sleeps: its next tick disarms the timer
void preempt_resume() noexcept;      // it woke: re-arm the timer if a tick disarmed it
void preempt_stop() noexcept;        // delete the timer

// Safe points (src/safe_points.cpp). May a task interrupted at pc be
// switched out there? True only in the main program's code (but the
// preemption stub) and in libraries opted in
// (RuntimeOptions::preemptible_libraries, GREEN_PREEMPT_LIBS) that were
// loaded when the latest worker started.
bool preemptible_pc(const void* pc) noexcept;

// The running task yields now if a preemption is owed, the count is 0 and
// caller (the code it would return to; nullptr: the task's own) may be
// preempted; otherwise the retry tick takes it. From NoPreempt and OS-lock unlocks.
void pay_owed_preemption(const void* caller) noexcept;

// True if this process runs cooperatively because libc or libstdc++ is
// linked into the executable, where their code cannot be told from the
// program's (the first worker to find out prints a one-line warning).
bool preemption_refused_static() noexcept;

// Process-wide counters (relaxed: statistics; src/preempt_timer.cpp).
struct PreemptStats {
  std::uint64_t ticks = 0;        // regular timer ticks handled on workers: time in slices
  std::uint64_t retries = 0;      // early ticks after a deferral
  std::uint64_t preemptions = 0;  // tasks switched out by a tick
  std::uint64_t deferred = 0;     // ticks that wanted to but could not (not a safe point)
};
PreemptStats preempt_stats() noexcept;

}  // namespace green::detail
