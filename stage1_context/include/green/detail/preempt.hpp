// Preemption support: an extension point (DESIGN.md 3.3), empty until phase 3.
//
// Nothing preempts a task before phase3_preempt, whose timer signal switches
// a task out only while the running thread's preempt-disable count is 0.
// Phase 3 shadows this header with the real count; here every call is a
// no-op that compiles away. The call sites are already where phase 3 needs
// them, so the runtime is safe to preempt the day the timer arrives:
//
//   - PreemptOff (preempt_off.hpp) around every piece of runtime code a task runs that uses
//     per-thread state (the dispatcher, the block cache, the id block, a run
//     queue) or a protocol window (announced to a waker, not yet parked);
//   - the switch hands the count over: switch_to_loop saves the task's own
//     (preempt_count), raises it for the loop (preempt_disable), and puts the
//     task's back when it resumes (set_preempt_count); a task that resumes
//     owes nothing (set_preempt_pending(0)); Dispatcher::enter/leave keep the
//     thread's own count.
#pragma once

namespace green::detail {

inline void preempt_disable() noexcept {}
inline void preempt_enable_no_yield() noexcept {}
inline int preempt_count() noexcept { return 0; }
inline void set_preempt_count(int) noexcept {}
inline bool preempt_pending() noexcept { return false; }
inline void set_preempt_pending(int) noexcept {}

}  // namespace green::detail
