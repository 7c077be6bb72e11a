// The signal stack, and the report of a stack overflow (signal_stack.cpp).
//
// The SIGSEGV handler of an overflow cannot run on the stack that overflowed:
// it runs on the thread's alternate signal stack, at least kMinSignalStack
// bytes, the thread's own if large enough (a crash reporter's), else ours
// until leave puts back what was there. Phase 3's timer signal uses it too.
//
// The handler reports a fault near the running task's stack as
//   green: stack overflow in task <id> "<name>"
// and aborts; any other fault goes to the handler that was there before.
#pragma once
#include <cstddef>
#include <cstdint>

namespace green::detail {

inline constexpr std::size_t kMinSignalStack = 32 * 1024;
// Installs the SIGSEGV handler (once per process) and the calling thread's
// signal stack; the Dispatcher calls the pair around running tasks.
void install_signal_stack();
void restore_signal_stack() noexcept;

// Reports an overflow of the running task's stack and aborts. Async-signal-safe.
[[noreturn]] void report_stack_overflow(std::uint64_t id, const char* name) noexcept;

}  // namespace green::detail
