// Context: both backends, through the same typed tests.
#include <green/detail/context.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>

#include <gtest/gtest.h>
#include <valgrind/valgrind.h>
#include <xmmintrin.h>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace green::detail;

// Tail: the asm switch's tail to force on every switch (green_ctx_reload_always,
// context.hpp), or -1 for the one chosen at load time.
template <class Ctx, auto Make, auto Switch, int Tail = -1>
struct Backend {
  using Context = Ctx;
  static void make(Context& c, void* lo, void* hi, EntryFn f, void* a) { Make(c, lo, hi, f, a); }
  static void swap(Context& from, Context& to) {
    if constexpr (Tail >= 0) green_ctx_reload_always = Tail;
    Switch(from, to);
  }
};
using Asm = Backend<asm_backend::Context, &asm_backend::context_make, &asm_backend::context_switch>;
using AsmCompare = Backend<asm_backend::Context, &asm_backend::context_make, &asm_backend::context_switch, 0>;
using AsmReload = Backend<asm_backend::Context, &asm_backend::context_make, &asm_backend::context_switch, 1>;
using Ucontext = Backend<ucontext_backend::Context, &ucontext_backend::context_make, &ucontext_backend::context_switch>;

// One coroutine-like fiber on its own stack, for the tests below. It tells
// ASan about each stack switch, as the dispatcher does (task.cpp).
template <class B>
struct Fiber {
  typename B::Context main{}, self{};
  Stack stack = stack_allocate(64 * 1024);
  void (*body)(Fiber*) = nullptr;
  bool finished = false;
  const void* main_bottom = nullptr;  // the caller's stack, learned at the first switch
  std::size_t main_size = 0;
  void* main_fake = nullptr;
  void* self_fake = nullptr;

  explicit Fiber(void (*f)(Fiber*)) : body(f) { B::make(self, stack.lo, stack.hi(), &entry, this); }
  ~Fiber() { stack_release(stack); }
  static void entry(void* p) {
    auto* f = static_cast<Fiber*>(p);
    f->arrived(nullptr);
    f->body(f);
    f->finished = true;
    f->suspend();  // never resumed again
  }
  void arrived([[maybe_unused]] void* fake) {
#if GREEN_ASAN
    __sanitizer_finish_switch_fiber(fake, &main_bottom, &main_size);
#endif
  }
  void resume() {
#if GREEN_ASAN
    __sanitizer_start_switch_fiber(&main_fake, stack.lo, stack.size);
#endif
    B::swap(main, self);
#if GREEN_ASAN
    __sanitizer_finish_switch_fiber(main_fake, nullptr, nullptr);
#endif
  }
  void suspend() {
#if GREEN_ASAN
    __sanitizer_start_switch_fiber(&self_fake, main_bottom, main_size);
#endif
    B::swap(self, main);
    arrived(self_fake);
  }
};

template <class B>
class ContextTest : public ::testing::Test {
  const unsigned char chosen_ = green_ctx_reload_always;  // as chosen at load time

 protected:
  ~ContextTest() override { green_ctx_reload_always = chosen_; }
};
using Backends = ::testing::Types<Asm, AsmCompare, AsmReload, Ucontext>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    if (std::is_same_v<T, Asm>) return "asm";
    if (std::is_same_v<T, AsmCompare>) return "asm_compare_tail";
    return std::is_same_v<T, AsmReload> ? "asm_reload_tail" : "ucontext";
  }
};
TYPED_TEST_SUITE(ContextTest, Backends, BackendNames);

TYPED_TEST(ContextTest, SwitchesBackAndForth) {
  static int steps;
  steps = 0;
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    for (int i = 0; i < 100; ++i) {
      ++steps;
      self->suspend();
    }
  });
  for (int i = 0; i < 100; ++i) {
    f.resume();
    EXPECT_EQ(steps, i + 1) << "each resume must run the fiber exactly up to its next suspend";
  }
  f.resume();
  EXPECT_TRUE(f.finished);
}

// Values the compiler keeps in callee-saved registers across the switch must survive.
TYPED_TEST(ContextTest, PreservesLiveValuesAcrossSwitches) {
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    for (;;) {
      // Clobber every register we can from inside the fiber.
      volatile std::uint64_t junk[16];
      for (int i = 0; i < 16; ++i) junk[i] = 0xdeadbeefULL * static_cast<unsigned>(i);
      (void)junk;
      self->suspend();
    }
  });
  std::uint64_t a = 1, b = 2, c = 3, d = 5, e = 8, g = 13;
  double x = 0.5, y = 1.25;
  for (int i = 0; i < 1000; ++i) {
    f.resume();
    a += b; b += c; c += d; d += e; e += g; g += a;
    x = x * 1.0001 + y; y = std::sqrt(y + x);
  }
  // Recompute without switching: the same values.
  std::uint64_t a2 = 1, b2 = 2, c2 = 3, d2 = 5, e2 = 8, g2 = 13;
  double x2 = 0.5, y2 = 1.25;
  for (int i = 0; i < 1000; ++i) {
    a2 += b2; b2 += c2; c2 += d2; d2 += e2; e2 += g2; g2 += a2;
    x2 = x2 * 1.0001 + y2; y2 = std::sqrt(y2 + x2);
  }
  EXPECT_EQ(a, a2); EXPECT_EQ(b, b2); EXPECT_EQ(c, c2); EXPECT_EQ(d, d2); EXPECT_EQ(e, e2); EXPECT_EQ(g, g2);
  EXPECT_EQ(x, x2); EXPECT_EQ(y, y2);
}

// At the entry of any function the ABI wants (rsp + 8) % 16 == 0, i.e. the
// frame pointer (pushed rbp) 16-aligned. A misaligned stack crashes SSE code
// such as printf's float formatting.
TYPED_TEST(ContextTest, EntryStackIsAbiAligned) {
  static std::uintptr_t frame;
  static char text[32];
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    std::snprintf(text, sizeof text, "%.2f", 2.5);
    self->suspend();
  });
  f.resume();
  EXPECT_EQ(frame % 16, 0u) << "the entry function's frame is misaligned: check the initial frame in context_make";
  EXPECT_STREQ(text, "2.50");
}

// MXCSR and x87 control bits (rounding mode) are callee-saved: each context keeps its own.
TYPED_TEST(ContextTest, KeepsRoundingModePerContext) {
  static int fiber_mode_after;
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    std::fesetround(FE_UPWARD);
    self->suspend();
    fiber_mode_after = std::fegetround();
    self->suspend();
  });
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  f.resume();
  EXPECT_EQ(std::fegetround(), FE_TONEAREST) << "the fiber's rounding mode leaked into the caller";
  f.resume();
  EXPECT_EQ(fiber_mode_after, FE_UPWARD) << "the fiber lost its rounding mode across a switch";
  std::fesetround(FE_TONEAREST);
}

// Status flags are not callee-saved and the asm switch does not reload MXCSR
// for them; the control bits must still be right in both directions.
TYPED_TEST(ContextTest, StatusFlagsDifferingDoNotDisturbControlBits) {
  static unsigned fiber_csr;
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    for (int i = 0; i < 3; ++i) {
      _mm_setcsr(_mm_getcsr() | 0x3F);  // raise every status flag here
      self->suspend();
      fiber_csr = _mm_getcsr();
    }
  });
  unsigned mine = (_mm_getcsr() & ~0x3Fu) | 0x6000;  // round toward zero, clear flags
  _mm_setcsr(mine);
  for (int i = 0; i < 3; ++i) {
    f.resume();
    EXPECT_EQ(_mm_getcsr() & 0xFFC0, mine & 0xFFC0) << "control bits after the fiber set only status flags";
  }
  f.resume();
  EXPECT_EQ(fiber_csr & 0xFFC0, 0x1F80u & 0xFFC0) << "the fiber's control bits must stay the ABI default";
  _mm_setcsr(0x1F80);
}

TYPED_TEST(ContextTest, X87ControlWordIsPerContext) {
  if (RUNNING_ON_VALGRIND) GTEST_SKIP() << "Valgrind does not emulate x87 precision control";
  static std::uint16_t fiber_cw;
  Fiber<TypeParam> f([](Fiber<TypeParam>* self) {
    std::uint16_t cw = 0x027F;  // 53-bit precision
    asm volatile("fldcw %0" ::"m"(cw));
    self->suspend();
    asm volatile("fnstcw %0" : "=m"(fiber_cw));
    self->suspend();
  });
  std::uint16_t before, after;
  asm volatile("fnstcw %0" : "=m"(before));
  f.resume();
  asm volatile("fnstcw %0" : "=m"(after));
  EXPECT_EQ(after, before);
  f.resume();
  EXPECT_EQ(fiber_cw, 0x027F);
}

template <class B>
void run_entry_that_returns() {
  typename B::Context main, self;
  Stack s = stack_allocate(64 * 1024);
  B::make(self, s.lo, s.hi(), [](void*) {}, nullptr);
  B::swap(main, self);
}

TEST(ContextDeathTest, EntryReturningAbortsWithAMessage) {
  EXPECT_DEATH(run_entry_that_returns<Asm>(), "entry function returned");
  EXPECT_DEATH(run_entry_that_returns<Ucontext>(), "entry function returned");
}

// gdb's backtrace from inside a fiber ends at the trampoline, cleanly.
extern "C" [[gnu::noinline]] void green_test_gdb_marker() { asm volatile(""); }

TEST(ContextGdbNoValgrind, BacktraceEndsAtTrampoline) {
  if (std::getenv("GREEN_GDB_TARGET")) {  // the child, run under gdb
    Fiber<Asm> f([](Fiber<Asm>* self) {
      green_test_gdb_marker();
      self->suspend();
    });
    f.resume();
    return;
  }
  if (system("command -v gdb >/dev/null 2>&1") != 0) GTEST_SKIP() << "gdb is not installed";
  std::string cmd =
      "GREEN_GDB_TARGET=1 gdb -nx -batch -ex 'break green_test_gdb_marker' -ex run -ex bt "
      "--args /proc/" + std::to_string(getpid()) + "/exe --gtest_filter=ContextGdbNoValgrind.* 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  EXPECT_NE(out.find("green_test_gdb_marker"), std::string::npos) << out;
  EXPECT_NE(out.find("green_ctx_trampoline"), std::string::npos) << "bt should end at the trampoline:\n" << out;
  EXPECT_EQ(out.find("Backtrace stopped"), std::string::npos) << "gdb could not unwind cleanly:\n" << out;
  EXPECT_EQ(out.find("corrupt stack"), std::string::npos) << out;
}

}  // namespace
