// Timer-signal preemption: the parts the rest of the runtime and the tests
// see. The design is at the top of src/preempt.cpp.
#pragma once
#include <cstdint>

namespace green::detail {

struct Worker;

// The signal each worker's timer sends (see src/preempt.cpp for the choice).
int preempt_signal() noexcept;

// Per worker thread, from the worker hooks (src/worker_hooks.cpp).
void preempt_start(Worker& w);       // create the timer and arm it (if time_slice > 0)
void preempt_pause() noexcept;       // disarm while the worker sleeps
void preempt_resume() noexcept;      // re-arm when it wakes
void preempt_stop() noexcept;        // delete the timer

// May a task interrupted at pc be switched out there? False inside libc,
// libstdc++, libgcc, the dynamic loader, the vDSO, a sanitizer runtime,
// code loaded after the first runtime started, and the preemption stub.
bool preemptible_pc(const void* pc) noexcept;

// Process-wide counters (relaxed: statistics).
struct PreemptStats {
  std::uint64_t ticks = 0;        // regular timer ticks handled on workers: time in slices
  std::uint64_t retries = 0;      // early ticks after a deferral
  std::uint64_t preemptions = 0;  // tasks switched out by a tick
  std::uint64_t deferred = 0;     // ticks that wanted to but could not (not a safe point)
};
PreemptStats preempt_stats() noexcept;

}  // namespace green::detail
