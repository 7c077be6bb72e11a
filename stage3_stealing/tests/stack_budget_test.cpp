// The runtime's stack budget: runtime code that runs on a task's stack
// (spawn, join, unpark, yield, TaskLocal, at_exit) uses well under 1 KiB of
// it, whatever the state of the queues, so a task with a 2 KiB stack can use
// all of the API (DEVELOPERS.md, "Stack budget"). The hard cases are the
// slow paths: a spawn that finds the local deque full moves half of it to
// the global queue, and a yield that finds the yield ring full does too.
#include <green/detail/local_queue.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <gtest/gtest.h>
#include <valgrind/valgrind.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <vector>

namespace {

constexpr std::size_t kBudget = 1024;   // bytes of a task's stack the runtime may use
constexpr auto kPaint = std::byte{0xA5};

// Paints the calling task's stack below the caller's frame (above its canary
// word), so that stack_used() can find the deepest byte written since.
[[gnu::noinline]] void paint_stack() {
  std::byte* sp;
  asm volatile("movq %%rsp, %0" : "=r"(sp));
  auto* lo = green::detail::current_task()->run->stack.lo + 64;
  for (auto* p = lo; p < sp - 256; ++p) *static_cast<volatile std::byte*>(p) = kPaint;
}

// Bytes below `top` written since paint_stack().
std::size_t stack_used(const std::byte* top) {
  const std::byte* p = green::detail::current_task()->run->stack.lo + 64;
  while (p < top && *static_cast<const volatile std::byte*>(p) == kPaint) ++p;
  return static_cast<std::size_t>(top - p);
}

struct Local {
  long v = 0;
};
green::TaskLocal<Local> tl_local;

TEST(StackBudget, ASmallStackTaskUsesTheWholeAPIPastEveryQueueCapacity) {
  const std::size_t stack = GREEN_ASAN || GREEN_TSAN ? 16 * 1024 : 2048;  // sanitizers' frames are larger
  // Memcheck calls reading below the stack pointer an error: there, only run.
  const bool measure = !RUNNING_ON_VALGRIND;
  const int n = 3 * static_cast<int>(green::detail::LocalQueue::capacity()) + 100;
  std::atomic<int> ran{0};
  std::size_t used = 0;
  green::Runtime rt({.workers = 1, .time_slice = std::chrono::microseconds(0)});
  rt.run([&] {
    auto h = green::spawn(
        [&] {
          std::vector<green::TaskHandle> hs;
          hs.reserve(static_cast<std::size_t>(n));
          std::byte* top;
          asm volatile("movq %%rsp, %0" : "=r"(top));
          if (measure) paint_stack();
          // One worker and no preemption: nothing runs the children until
          // this task switches out, so every queue fills and spills.
          for (int i = 0; i < n; ++i)
            hs.push_back(green::spawn([&] {
              green::this_task::yield();
              ran.fetch_add(1, std::memory_order_relaxed);
            }));
          green::this_task::yield();  // n children yield into a 256-slot ring
          tl_local->v = 1;
          green::this_task::at_exit([] {});
          for (auto& c : hs) c.join();
          if (measure) used = stack_used(top);
        },
        {.name = "small", .stack_size = stack});
    h.join();
  });
  EXPECT_EQ(ran.load(), n);
  if (!GREEN_ASAN && !GREEN_TSAN && measure) {
    EXPECT_LT(used, kBudget) << "the runtime used " << used << " bytes of a 2 KiB task's stack";
  }
  std::printf("stack used by the runtime on a %zu-byte stack: %zu bytes\n", stack, used);
}

}  // namespace
