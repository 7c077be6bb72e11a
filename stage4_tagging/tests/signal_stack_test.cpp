// The SIGSEGV handler and the signal stack (signal_stack.cpp): an overflow of
// a guarded stack is reported with the task's id and name; a fault that is not
// an overflow goes to the handler that was there before; the thread's own
// signal stack is used when large enough and always comes back. (Overflows of
// slab stacks, which have no guard page: stack_source_test.cpp.)
#include <green/detail/signal_stack.hpp>
#include <green/local_scheduler.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using green::test::recurse;

TEST(SignalStackDeathTest, GuardPageOverflowIsReportedWithTaskIdAndName) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn([] { recurse(1 << 20); }, {.name = "deep"});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"deep\"");
}

TEST(SignalStackDeathTest, SmallStackOverflowIsReportedToo) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn([] { recurse(1 << 20); }, {.name = "small", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"small\"");
}

// A program's own SIGSEGV handler (a crash reporter), installed before the
// runtime's, still gets the faults that are not overflows. The child is
// exec'd afresh ("threadsafe" style): the runtime installs its handler once
// per process, and it must come second, as in a program that sets up its
// crash reporter first.
void crash_reporter(int) {
  static const char msg[] = "the crash reporter ran\n";
  [[maybe_unused]] ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(3);
}

TEST(SignalStackDeathTest, AFaultThatIsNotAnOverflowGoesToThePreviousHandler) {
  std::string saved = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        struct sigaction sa{};
        sa.sa_handler = &crash_reporter;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, nullptr);
        green::LocalScheduler s;
        s.spawn([] { *reinterpret_cast<volatile int*>(std::uintptr_t{64}) = 1; }, {.name = "null"});
        s.run();
      },
      testing::ExitedWithCode(3), "the crash reporter ran");
  GTEST_FLAG_SET(death_test_style, saved);
}

stack_t current_signal_stack() {
  stack_t ss{};
  sigaltstack(nullptr, &ss);
  return ss;
}

// What a task sees as its thread's signal stack while a scheduler runs there.
stack_t signal_stack_seen_by_a_task() {
  green::LocalScheduler s;
  stack_t seen{};
  s.spawn([&] { seen = current_signal_stack(); });
  s.run();
  return seen;
}

TEST(SignalStack, TheThreadsOwnIsUsedOrReplacedAndAlwaysRestored) {
  std::thread([] {
    // Large enough: the runtime uses it as it is.
    std::vector<char> big(128 * 1024);
    stack_t mine{};
    mine.ss_sp = big.data();
    mine.ss_size = big.size();
    ASSERT_EQ(sigaltstack(&mine, nullptr), 0);
    EXPECT_EQ(signal_stack_seen_by_a_task().ss_sp, big.data()) << "a large enough signal stack was replaced";
    stack_t after = current_signal_stack();
    EXPECT_EQ(after.ss_sp, big.data());
    EXPECT_EQ(after.ss_size, big.size());

    // Too small for a preemption frame: replaced while tasks run, then put back.
    std::vector<char> small(8 * 1024);
    mine.ss_sp = small.data();
    mine.ss_size = small.size();
    ASSERT_EQ(sigaltstack(&mine, nullptr), 0);
    stack_t seen = signal_stack_seen_by_a_task();
    EXPECT_NE(seen.ss_sp, small.data()) << "a signal stack too small for the handler was kept";
    EXPECT_GE(seen.ss_size, green::detail::kMinSignalStack);
    after = current_signal_stack();
    EXPECT_EQ(after.ss_sp, small.data()) << "the thread's own signal stack was not restored";
    EXPECT_EQ(after.ss_size, small.size());

    // None: none again afterwards.
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ASSERT_EQ(sigaltstack(&off, nullptr), 0);
    EXPECT_FALSE(signal_stack_seen_by_a_task().ss_flags & SS_DISABLE)
        << "a task ran without a signal stack: install_signal_stack (signal_stack.cpp) must give the thread one";
    EXPECT_TRUE(current_signal_stack().ss_flags & SS_DISABLE);
  }).join();
}

}  // namespace
