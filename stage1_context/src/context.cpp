// Both context backends' C++ halves (the assembly half is context_x86_64.S).
#include <green/detail/context.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" void green_ctx_trampoline();

namespace green::detail {

void context_entry_returned() noexcept {
  std::fputs("green: a context's entry function returned; it must switch away instead\n", stderr);
  std::abort();
}

namespace asm_backend {

// Lays out the frame green_ctx_switch pops (see context_x86_64.S) so that its
// final jump lands in green_ctx_trampoline with r12 = entry, r13 = arg.
void context_make(Context& ctx, void* lo, void* hi, EntryFn entry, void* arg) noexcept {
  // BEGIN SOLUTION
  (void)lo;
  auto top = reinterpret_cast<std::uintptr_t>(hi) & ~std::uintptr_t{15};
  // The trampoline runs with rsp == top - 16 (16-aligned); one spare slot above
  // it holds a zero "return address" for anyone walking the stack by hand.
  auto* frame = reinterpret_cast<std::uint64_t*>(top - 16 - kSavedFrameBytes);
  frame[0] = 0x1F80 | (std::uint64_t{0x037F} << 32);  // ABI defaults: MXCSR, x87 cw
  frame[1] = 0;                                      // r15
  frame[2] = 0;                                      // r14
  frame[3] = reinterpret_cast<std::uint64_t>(arg);   // r13
  frame[4] = reinterpret_cast<std::uint64_t>(entry); // r12
  frame[5] = 0;                                      // rbx
  frame[6] = 0;                                      // rbp: end of the frame-pointer chain
  frame[7] = reinterpret_cast<std::uint64_t>(&green_ctx_trampoline);
  frame[8] = 0;
  ctx.sp = frame;
  // STUB: (void)lo, (void)hi, (void)entry, (void)arg;
  // STUB: (void)ctx;
  // STUB: unimplemented("stage 1: asm_backend::context_make (context.cpp) is yours to write");
  // END SOLUTION
  static_assert(sizeof(Context) == sizeof(void*), "the asm context is one stack pointer");
}

}  // namespace asm_backend

namespace ucontext_backend {

// makecontext passes only int arguments: the Context's address travels in two.
[[maybe_unused]] static void trampoline(unsigned hi, unsigned lo) {  // (unused in a starter tree)
  auto* ctx = reinterpret_cast<Context*>((std::uintptr_t{hi} << 32) | lo);
  ctx->entry(ctx->arg);
  context_entry_returned();
}

void context_make(Context& ctx, void* lo, void* hi, EntryFn entry, void* arg) noexcept {
  // BEGIN SOLUTION
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = lo;
  ctx.uc.uc_stack.ss_size = static_cast<std::size_t>(static_cast<char*>(hi) - static_cast<char*>(lo));
  ctx.uc.uc_link = nullptr;
  ctx.entry = entry;
  ctx.arg = arg;
  auto p = reinterpret_cast<std::uintptr_t>(&ctx);
  makecontext(&ctx.uc, reinterpret_cast<void (*)()>(&trampoline), 2,
              static_cast<unsigned>(p >> 32), static_cast<unsigned>(p));
  // STUB: (void)ctx, (void)lo, (void)hi, (void)entry, (void)arg;
  // STUB: unimplemented("stage 1: ucontext_backend::context_make (context.cpp) is yours to write");
  // END SOLUTION
}

void context_switch(Context& from, Context& to) noexcept { swapcontext(&from.uc, &to.uc); }

}  // namespace ucontext_backend
}  // namespace green::detail
