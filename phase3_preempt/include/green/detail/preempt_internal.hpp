// Timer-signal preemption: what its three source files share, and nothing
// the rest of the runtime needs (that is preempt_signal.hpp). The design
// overview, and which file holds what, is at the top of src/preempt.cpp.
#pragma once
#include <green/detail/preempt_signal.hpp>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace green::detail {

constexpr int kSignal = SIGURG;          // why SIGURG: src/preempt.cpp, "The signal"
constexpr int kRegular = 0, kRetry = 1;  // sigev_value of a worker's two timers (src/preempt_timer.cpp)

struct RangeTable;  // the code a worker may preempt (src/safe_points.cpp)

// Per worker thread. Touched only by its own thread: the worker's loop
// (preempt_start, _pause, _resume, _stop) and its signal handler. worker is
// set last and cleared first, with a signal fence, so the handler sees
// either no worker or a complete state.
struct PreemptState {
  Worker* worker = nullptr;
  timer_t timer{};                      // periodic, every slice
  timer_t retry_timer{};                // one-shot, armed by a deferral (owe)
  itimerspec slice{};
  itimerspec retry{};                   // how soon to try again after a deferral
  std::uint64_t seen_switches = ~0ull;  // the worker's switch count at the previous tick
  char* alt_lo = nullptr;               // this thread's signal stack
  char* alt_hi = nullptr;
  RangeTable* ranges = nullptr;         // code this worker may preempt (make_ranges)
  // The worker sleeps for lack of work (preempt_pause to preempt_resume);
  // its first tick then disarms the timer (disarmed) and resume re-arms it.
  // Written by the thread and its handler only (signal fences order them).
  bool sleeping = false;
  bool disarmed = false;
};
// constinit: no dynamic initialization, so the handler reads it directly,
// with no call to a TLS init wrapper.
extern constinit thread_local PreemptState tl_state;

// Process-wide counters behind preempt_stats(). Relaxed: statistics, they
// order nothing.
struct PreemptCounters {
  std::atomic<std::uint64_t> ticks{0}, retries{0}, preemptions{0}, deferred{0};
};
extern PreemptCounters g_counters;

// src/preempt_timer.cpp. A preemption this tick could not take: the pending
// flag is set and the retry timer armed.
void owe(PreemptState& ps) noexcept;
// A tick that found the worker asleep (ps.sleeping): disarms the timers.
void idle_tick(PreemptState& ps) noexcept;

// src/safe_points.cpp. The table of code a worker starting now may preempt,
// or nullptr if the process must stay cooperative (libc or libstdc++ linked
// statically; the first worker to find out prints a warning). Freed with
// free_ranges.
RangeTable* make_ranges(const std::vector<std::string>& libs);
void free_ranges(RangeTable* t) noexcept;

// src/preempt.cpp. Installs the handler (once per process) and records the
// calling thread's signal stack in ps.
void handler_start(PreemptState& ps);

}  // namespace green::detail
