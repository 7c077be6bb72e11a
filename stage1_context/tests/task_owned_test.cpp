// What belongs to a task and not to its thread (TaskOwned: errno, the C++
// exception state; phase 3 adds the preempt-disable nesting) is swapped as a whole at
// every switch, in both directions: the thread that runs a scheduler gets its
// own back afterwards, and every task starts with none. Also: an exception
// nobody joined is reported, never lost. (The thread's signal stack, which the
// runtime borrows from stage 4 on, is signal_stack_test.cpp's.)
#include <green/local_scheduler.hpp>
#include <green/this_task.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cfenv>
#include <exception>
#include <stdexcept>
#include <string>

namespace {

// The loop keeps no control words of its own (context_x86_64.S): it runs
// with those of the last task that switched to it. Its thread gets its own
// back when run() returns, and each task keeps its own across switches.
TEST(TaskOwned, RoundingModesStayWithTheirTasksAndTheThread) {
  std::fesetround(FE_DOWNWARD);
  green::LocalScheduler s;
  int seen_up = -1, seen_new = -1, seen_after = -1;
  s.spawn([&] {
    std::fesetround(FE_UPWARD);
    green::this_task::yield();
    seen_up = std::fegetround();  // after the other task ran in between
  });
  s.spawn([&] {
    seen_new = std::fegetround();
    green::this_task::yield();
    seen_after = std::fegetround();
    std::fesetround(FE_TOWARDZERO);  // and ends with it set
  });
  s.run();
  const int thread_mode = std::fegetround();
  std::fesetround(FE_TONEAREST);
  EXPECT_EQ(thread_mode, FE_DOWNWARD) << "run() returned with a task's rounding mode, not the thread's";
  EXPECT_EQ(seen_up, FE_UPWARD) << "a task lost its rounding mode across a yield";
  EXPECT_EQ(seen_new, FE_TONEAREST) << "a new task must start with the ABI's default (to nearest)";
  EXPECT_EQ(seen_after, FE_TONEAREST) << "another task's rounding mode leaked into this one";
}

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
