// What belongs to a task and not to its thread (TaskOwned: errno, the C++
// exception state; phase 3 adds the preempt-disable nesting) is swapped as a whole at
// every switch, in both directions: the thread that runs a scheduler gets its
// own back afterwards, and every task starts with none. Also: what else a
// thread has that the runtime borrows (its signal stack) comes back exactly,
// and an exception nobody joined is reported, never lost.
#include <green/detail/signal_stack.hpp>
#include <green/local_scheduler.hpp>
#include <green/this_task.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

TEST(TaskOwned, SchedulerRunInsideACatchBlockKeepsTheCatchBlocksException) {
  try {
    throw std::runtime_error("outer");
  } catch (...) {
    green::LocalScheduler s;
    bool first_saw_none = false, second_saw_none = false;
    s.spawn([&] {
      first_saw_none = std::current_exception() == nullptr;
      green::this_task::yield();
    });
    s.spawn([&] { second_saw_none = std::current_exception() == nullptr; });
    s.run();
    EXPECT_TRUE(first_saw_none) << "a new task saw the exception its thread was handling";
    EXPECT_TRUE(second_saw_none);
    ASSERT_NE(std::current_exception(), nullptr) << "run() lost the catch block's exception";
    try {
      throw;  // with it lost, this would terminate
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "outer");
    }
  }
}

TEST(TaskOwned, TheThreadsErrnoComesBack) {
  green::LocalScheduler s;
  s.spawn([] {
    errno = 7;
    green::this_task::yield();
    EXPECT_EQ(errno, 7);
  });
  s.spawn([] { errno = 9; });
  errno = 42;
  s.run();
  EXPECT_EQ(errno, 42) << "the scheduler's caller got a task's errno";
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

TEST(TaskOwned, TheThreadsOwnSignalStackIsKeptOrRestored) {
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
    EXPECT_NE(seen.ss_sp, small.data());
    EXPECT_GE(seen.ss_size, green::detail::kMinSignalStack);
    after = current_signal_stack();
    EXPECT_EQ(after.ss_sp, small.data()) << "the thread's own signal stack was not restored";
    EXPECT_EQ(after.ss_size, small.size());

    // None: none again afterwards.
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ASSERT_EQ(sigaltstack(&off, nullptr), 0);
    EXPECT_FALSE(signal_stack_seen_by_a_task().ss_flags & SS_DISABLE);
    EXPECT_TRUE(current_signal_stack().ss_flags & SS_DISABLE);
  }).join();
}

// The handle lives on past the task's end (so the task itself could not
// tell it would be dropped unjoined); dropping it must report the exception.
TEST(TaskOwned, AnExceptionNobodyJoinedIsReportedWhenTheHandleGoes) {
  {  // One task first, outside the capture: a runtime that aborts says why.
    green::LocalScheduler s;
    s.spawn([] {});
    s.run();
  }
  testing::internal::CaptureStderr();
  {
    green::LocalScheduler s;
    green::TaskHandle h = s.spawn([] { throw std::runtime_error("nobody joined me"); }, {.name = "lost"});
    s.run();
    h = green::TaskHandle{};
    auto joined = s.spawn([] { throw std::runtime_error("joined"); });
    s.run();
    EXPECT_THROW(joined.join(), std::runtime_error);
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("\"lost\" ended with an exception that nobody joined: nobody joined me"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("joined\n"), std::string::npos) << "a joined task's exception was reported too:\n" << err;
}

}  // namespace
