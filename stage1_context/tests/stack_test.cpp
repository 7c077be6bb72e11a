// Stacks: sizes, the guard page below each, the cache, overflows.
#include <green/detail/stack.hpp>
#include <green/detail/task.hpp>
#include <green/local_scheduler.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <utility>
#include <vector>
#include <fstream>
#include <string>

namespace {

using namespace green::detail;
using green::test::is_guard_page;
using green::test::recurse;

TEST(Stack, SizeIsRoundedUpToPages) {
  Stack s = stack_allocate(10000);
  EXPECT_EQ(s.size % page_size(), 0u) << "a request of a page or more gets whole pages";
  EXPECT_GE(s.size, 10000u);
  s.lo[0] = std::byte{1};  // usable at both ends
  s.hi()[-1] = std::byte{1};
  stack_release(s);
}

// (72 KiB: a size no other test uses, so no stack of another kind is cached.)
TEST(Stack, AStackHasAProtNonePageBelow) {
  Stack s = stack_allocate(72 * 1024);
  EXPECT_TRUE(is_guard_page(s.lo - 1)) << "the page below lo must be PROT_NONE";
  EXPECT_FALSE(is_guard_page(s.lo)) << "the stack itself must be writable";
  EXPECT_FALSE(is_guard_page(s.hi() - 1));
  stack_release(s);
}

TEST(Stack, CacheReusesReleasedStacks) {
  Stack a = stack_allocate(64 * 1024);
  std::byte* lo = a.lo;
  stack_release(a);
  Stack b = stack_allocate(64 * 1024);
  EXPECT_EQ(b.lo, lo) << "a released stack should be reused by the next allocation of its size";
  stack_release(b);
}

// ---- Overflow: death tests ------------------------------------------------

// The guard page stops an overflow at the instruction that overflows, and the
// process dies there: stage 1 has no handler, so the kernel kills it with
// SIGSEGV and it says nothing; from stage 4 on, the handler reports the task
// and aborts (signal_stack_test.cpp); under ASan, ASan reports a
// stack-overflow. Any other death (a stub's message, say) fails the test.
constexpr const char* kOverflowDeath = "^$|stack.overflow";

TEST(StackDeathTest, GuardPageOverflowDiesAtOnce) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn(
            [] {
              recurse(1 << 20);
              std::fputs("a task survived its overflow\n", stderr);
            },
            {.name = "deep"});
        s.run();
      },
      kOverflowDeath);
}

TEST(StackDeathTest, SmallStackOverflowDiesAtOnce) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn([] { recurse(1 << 20); }, {.name = "small", .small_stack = true});
        s.run();
      },
      kOverflowDeath);
}

}  // namespace
