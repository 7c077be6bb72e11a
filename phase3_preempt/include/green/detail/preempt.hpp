// Preemption support: the per-thread preempt-disable count.
//
// An extension point (DESIGN.md 3.3). Nothing preempts before phase3_preempt,
// whose timer signal switches a task out only while this count is 0. Every
// earlier stage keeps the rules below so that the runtime is already safe to
// preempt when that stage arrives:
//
//   - The count is per OS thread, but it means "the task running here may
//     not be switched out now". The runtime raises it around every piece of
//     its own code that a task runs and that uses per-thread state (the
//     thread's dispatcher, block cache, id block, run queue) or a protocol
//     window (announced to a waker, not yet parked).
//   - A scheduler loop always runs with it at 1 or more (nothing to preempt
//     there). A switch hands it over: switch_to_loop raises it, saves the
//     task's own nesting on the task's stack, leaves the raised value to the
//     loop, and puts the task's nesting back when the task resumes (maybe on
//     another thread); a new task starts at 0.
//   - It is read and written only by its own thread and that thread's signal
//     handler, so it needs no atomic RMW; but each change must be ONE
//     instruction addressed through %fs, so that a signal lands either before
//     or after it, and a task that migrates between two instructions can
//     never write another thread's count. Plain C++ would let the compiler
//     compute the variable's address once and reuse it after a switch (the
//     thread_local hazard): hence the inline assembly. It uses the
//     local-exec TLS model (%fs:sym@tpoff, no GOT load): the runtime is
//     always linked into the executable (libgreen.a; a shared object
//     refuses this relocation at link time).
//   - pending: the handler wanted to preempt but could not (the count was
//     not 0, or the task was not at a safe point). A task's switch clears it
//     when the task resumes (a tick that found the loop running owes the
//     task nothing); phase 3 pays it when the count comes down to 0 in
//     this_task::NoPreempt and in an OS lock's unlock.
#pragma once
#include <green/detail/unimplemented.hpp>

extern "C" {
extern __thread int green_preempt_off;      // the count; see above
extern __thread int green_preempt_pending;  // 1: a preemption is owed to the running task
}

namespace green::detail {

// The "memory" clobbers make each a compiler barrier: nothing the guard
// protects moves out of it.
inline void preempt_disable() noexcept {
  asm volatile("incl %%fs:green_preempt_off@tpoff" ::: "cc", "memory");
}
inline void preempt_enable_no_yield() noexcept {
  asm volatile("decl %%fs:green_preempt_off@tpoff" ::: "cc", "memory");
}
inline int preempt_count() noexcept {
  int n;
  asm volatile("movl %%fs:green_preempt_off@tpoff, %0" : "=r"(n) : : "memory");
  return n;
}
inline void set_preempt_count(int n) noexcept {
  // BEGIN SOLUTION
  asm volatile("movl %0, %%fs:green_preempt_off@tpoff" : : "r"(n) : "memory");
  // STUB: (void)n;
  // STUB: unimplemented("phase 3: set_preempt_count (detail/preempt.hpp) is yours to write");
  // END SOLUTION
}
inline bool preempt_pending() noexcept {
  int n;
  asm volatile("movl %%fs:green_preempt_pending@tpoff, %0" : "=r"(n) : : "memory");
  return n != 0;
}

// 1: a preemption is owed (the handler); 0: forgotten (a switch pays it).
inline void set_preempt_pending(int v) noexcept {
  // BEGIN SOLUTION
  asm volatile("movl %0, %%fs:green_preempt_pending@tpoff" : : "r"(v) : "memory");
  // STUB: (void)v;
  // STUB: unimplemented("phase 3: set_preempt_pending (detail/preempt.hpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
