// The signal stack and the overflow report (signal_stack.cpp): an extension
// point, shadowed by stage 4.
//
// Stage 1's stacks are all guarded: an overflow faults on the guard page at
// once, and with no handler the kernel kills the process with SIGSEGV. What
// the guard page cannot see (a stack pointer that left the stack without
// touching it) the dispatcher's check at the next switch reports as
//   green: stack overflow in task <id> "<name>"
// and aborts.
//
// Stage 4's slab stacks have no guard page, so stage 4 adds a SIGSEGV handler
// that reports a fault near the running task's stack the same way. It cannot
// run on the stack that overflowed: it runs on the thread's alternate signal
// stack, at least kMinSignalStack bytes, the thread's own if large enough (a
// crash reporter's), else ours until leave puts back what was there. Phase
// 3's timer signal uses it too.
#pragma once
#include <cstddef>
#include <cstdint>

namespace green::detail {

inline constexpr std::size_t kMinSignalStack = 32 * 1024;
// Installs the SIGSEGV handler (once per process) and the calling thread's
// signal stack; the Dispatcher calls the pair around running tasks. (Stage 1:
// nothing to do.)
void install_signal_stack();
void restore_signal_stack() noexcept;

// Reports an overflow of the running task's stack and aborts. (Stage 4's is
// async-signal-safe: its handler calls it.)
[[noreturn]] void report_stack_overflow(std::uint64_t id, const char* name) noexcept;

}  // namespace green::detail
