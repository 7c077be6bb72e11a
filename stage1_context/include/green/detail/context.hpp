// Context: the saved execution state of a task or of a scheduler loop. Two
// backends implement the same three calls; the build exposes one (CONTEXT=asm,
// the default, or ucontext) as green::detail::Context. Both are compiled so
// the benchmark can compare them.
//
//   context_make(ctx, lo, hi, entry, arg): the first switch to ctx calls
//       entry(arg) on the stack [lo, hi), aligned as the ABI requires at a
//       call. entry must switch away for good, never return: if it returns,
//       the process aborts with a message.
//   context_switch(from, to): saves the caller's state in from, resumes to;
//       returns when someone switches back to from.
//   context_sp(ctx): the stack pointer saved in ctx (the overflow check).
#pragma once
#include <cstddef>
#include <cstdint>
#include <ucontext.h>

#include <green/detail/unimplemented.hpp>

namespace green::detail {

using EntryFn = void (*)(void*);

namespace asm_backend {
// The whole context is one saved stack pointer. Everything else that must
// survive the switch (rbx, rbp, r12-r15, the MXCSR and x87 control words) is
// pushed on the stack it points into by green_ctx_switch (context_x86_64.S):
//
//   sp -> [ mxcsr:4 | x87 cw:2 | pad:2 ]  [r15] [r14] [r13] [r12] [rbx] [rbp] [return address]
struct Context {
  void* sp = nullptr;  // valid only while this context is not running
};
inline constexpr std::size_t kSavedFrameBytes = 8 * 8;  // control words + 6 registers + return address
// The same frame as a struct, for whoever reads a switched-out context from
// outside: the task dump (stage 4's dump.cpp) and the gdb extension
// (gdb/green.py), which must agree with context_x86_64.S's PUSH_FRAME.
struct SavedFrame {
  std::uint32_t mxcsr;
  std::uint16_t x87_cw;
  std::uint16_t pad;
  std::uint64_t r15, r14, r13, r12, rbx, rbp;
  void* ret;  // where the switched-out code resumes
};
static_assert(sizeof(SavedFrame) == kSavedFrameBytes, "SavedFrame must match PUSH_FRAME");
void context_make(Context& ctx, void* lo, void* hi, EntryFn entry, void* arg) noexcept;
}  // namespace asm_backend

extern "C" void green_ctx_switch(void** save_sp, void* load_sp) noexcept;
// 1: green_ctx_switch reloads the control words on every switch; 0: only
// when they differ (context_x86_64.S says why both). Set once at load time
// (context.cpp), from a measurement; tests flip it to run both tails.
extern "C" [[gnu::visibility("hidden")]] unsigned char green_ctx_reload_always;

namespace asm_backend {
inline void context_switch(Context& from, Context& to) noexcept {
  // BEGIN SOLUTION
  green_ctx_switch(&from.sp, to.sp);
  // STUB: (void)from, (void)to;
  // STUB: unimplemented("stage 1: green_ctx_switch (context_x86_64.S) and context_switch are yours to write");
  // END SOLUTION
}
inline void* context_sp(const Context& ctx) noexcept { return ctx.sp; }
}  // namespace asm_backend
extern "C" void green_ctx_switch_to_loop(void** save_sp, void* load_sp) noexcept;
extern "C" void green_ctx_switch_from_loop(void** save_sp, void* load_sp) noexcept;
namespace asm_backend {
// The scheduler's own two switches (a task to its loop, the loop to a task),
// which move the control words one way only (context_x86_64.S says why).
inline void context_switch_to_loop(Context& from, Context& loop) noexcept {
  // BEGIN SOLUTION
  green_ctx_switch_to_loop(&from.sp, loop.sp);
  // STUB: (void)from, (void)loop;
  // STUB: unimplemented("stage 1: green_ctx_switch_to_loop (context_x86_64.S) and context_switch_to_loop are yours to write");
  // END SOLUTION
}
inline void context_switch_from_loop(Context& loop, Context& to) noexcept {
  // BEGIN SOLUTION
  green_ctx_switch_from_loop(&loop.sp, to.sp);
  // STUB: (void)loop, (void)to;
  // STUB: unimplemented("stage 1: green_ctx_switch_from_loop (context_x86_64.S) and context_switch_from_loop are yours to write");
  // END SOLUTION
}
}  // namespace asm_backend

namespace ucontext_backend {
// glibc's getcontext/makecontext/swapcontext. swapcontext saves and restores the
// signal mask with a system call on every switch; that is why it is slow.
struct Context {
  ucontext_t uc;
  EntryFn entry;
  void* arg;
};
void context_make(Context& ctx, void* lo, void* hi, EntryFn entry, void* arg) noexcept;
void context_switch(Context& from, Context& to) noexcept;
inline void context_switch_to_loop(Context& from, Context& loop) noexcept { context_switch(from, loop); }
inline void context_switch_from_loop(Context& loop, Context& to) noexcept { context_switch(loop, to); }
inline void* context_sp(const Context& ctx) noexcept { return reinterpret_cast<void*>(ctx.uc.uc_mcontext.gregs[REG_RSP]); }
}  // namespace ucontext_backend

#if GREEN_CONTEXT_UCONTEXT
using namespace ucontext_backend;
inline constexpr bool kUcontextBackend = true;
#else
using namespace asm_backend;
inline constexpr bool kUcontextBackend = false;
#endif

// Called if a context's entry function returns: prints and aborts.
[[noreturn]] void context_entry_returned() noexcept;

}  // namespace green::detail
