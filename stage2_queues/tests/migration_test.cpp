// The runtime's thread-local data stays right when a task moves to another
// worker: the compiler may keep a thread_local's address in a callee-saved
// register across a call, and a switch is a call that can return on another
// thread. this_dispatcher() is opaque to the optimizer, so each call reads
// the current thread's value.
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>
#include <valgrind/valgrind.h>

#include <atomic>
#include <sys/syscall.h>
#include <unistd.h>
#include <thread>
#include <vector>

namespace {

using green::detail::Dispatcher;
using green::detail::this_dispatcher;

// The thread we are on, really: a system call cannot be cached. (Note that
// std::this_thread::get_id() can: pthread_self() is declared const, so the
// compiler may reuse its value across a yield. That is the very hazard this
// file is about; the test itself must not fall into it.)
long real_tid() { return syscall(SYS_gettid); }

TEST(Migration, RuntimeTlsIsReReadAfterEachSwitch) {
  green::Runtime rt({.workers = 2});
  std::atomic<long> migrations{0};
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 8; ++i)
      hs.push_back(green::spawn([&] {
        Dispatcher* before = this_dispatcher();
        long tid_before = real_tid();
        for (long k = 0; k < green::test::scaled(20000, 200); ++k) {
          green::this_task::yield();
          Dispatcher* after = this_dispatcher();
          long tid_after = real_tid();
          // The dispatcher must be the one of the thread we are on now.
          ASSERT_EQ(after->current, green::detail::current_task());
          if (tid_after != tid_before) {
            migrations.fetch_add(1, std::memory_order_relaxed);
            ASSERT_NE(after, before) << "a task moved threads but still sees the old worker";
          } else {
            ASSERT_EQ(after, before);
          }
          before = after;
          tid_before = tid_after;
        }
      }, {.priority = 9}));  // non-default priority: every yield goes through the
                            // global queue, so either worker may resume it
    for (auto& h : hs) h.join();
  });
  if (migrations.load() == 0 && RUNNING_ON_VALGRIND)
    GTEST_SKIP() << "Valgrind runs one thread at a time; no task happened to migrate";
  EXPECT_GT(migrations.load(), 0) << "no task migrated: the test checked nothing";
}

}  // namespace

namespace {

// The C++ runtime keeps the exceptions being handled per thread. A task that
// switches out inside a catch block, while other tasks throw and catch on
// that thread, and resumes (maybe elsewhere) must still be handling its own.
TEST(Migration, ExceptionBeingHandledStaysWithItsTask) {
  green::Runtime rt({.workers = 2});
  std::atomic<long> wrong{0};
  const long tasks = green::test::scaled(2000, 20);
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (long i = 0; i < tasks; ++i)
      hs.push_back(green::spawn([&, i] {
        try {
          throw i;
        } catch (long caught) {
          green::this_task::yield();  // others throw and catch meanwhile
          try {
            throw;  // rethrows the exception being handled: ours
          } catch (long again) {
            if (again != i || caught != i) wrong.fetch_add(1);
          }
          if (std::uncaught_exceptions() != 0) wrong.fetch_add(1);
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(wrong.load(), 0) << "tasks that rethrew or saw another task's exception";
}

}  // namespace
