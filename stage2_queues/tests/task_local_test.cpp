// TaskLocal<T>: one value per task, made on first use, destroyed at task end;
// this_task::at_exit handlers, LIFO, before the values go.
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using green::LocalScheduler;
using green::TaskHandle;
namespace this_task = green::this_task;

struct Tracked {
  static inline int alive = 0, made = 0;
  int value = 0;
  Tracked() { ++alive; ++made; }
  ~Tracked() { --alive; }
};

TEST(TaskLocal, EachTaskHasItsOwnValue) {
  green::TaskLocal<int> local;
  LocalScheduler s;
  std::vector<int> seen;
  for (int i = 0; i < 3; ++i)
    s.spawn([&, i] {
      EXPECT_EQ(local.get(), 0) << "made value-initialized on first use";
      *local = i;
      this_task::yield();  // the others write theirs meanwhile
      seen.push_back(*local);
    });
  s.run();
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
}

TEST(TaskLocal, MadeOnFirstUseDestroyedAtTaskEnd) {
  Tracked::alive = Tracked::made = 0;
  green::TaskLocal<Tracked> local;
  LocalScheduler s;
  s.spawn([&] { this_task::yield(); });  // never touches it
  s.spawn([&] {
    local->value = 7;
    EXPECT_EQ(Tracked::alive, 1);
    EXPECT_EQ((*local).value, 7);
  });
  s.run();
  EXPECT_EQ(Tracked::made, 1) << "only the task that used it made one";
  EXPECT_EQ(Tracked::alive, 0) << "destroyed when the task ended";
}

TEST(TaskLocal, DestroyedOnExceptionAndAfterAtExit) {
  Tracked::alive = 0;
  green::TaskLocal<Tracked> local;
  LocalScheduler s;
  int value_in_handler = -1;
  auto h = s.spawn([&] {
    local->value = 5;
    this_task::at_exit([&] { value_in_handler = local->value; });
    throw std::runtime_error("x");
  });
  s.run();
  EXPECT_EQ(value_in_handler, 5) << "at_exit handlers still see the task's locals";
  EXPECT_EQ(Tracked::alive, 0);
  EXPECT_THROW(h.join(), std::runtime_error);
}

TEST(TaskLocal, SeveralLocalsInOneTask) {
  green::TaskLocal<std::string> a, b;
  LocalScheduler s;
  s.spawn([&] {
    *a = "a";
    *b = "b";
    EXPECT_EQ(*a, "a");
    EXPECT_EQ(*b, "b");
  });
  s.run();
}

TEST(TaskLocal, OutsideATaskIsALogicError) {
  green::TaskLocal<int> local;
  EXPECT_THROW(local.get(), std::logic_error);
}

TEST(AtExit, RunsLifoOnReturn) {
  LocalScheduler s;
  std::string order;
  s.spawn([&] {
    this_task::at_exit([&] { order += '1'; });
    this_task::at_exit([&] { order += '2'; });
    this_task::at_exit([&] { order += '3'; });
    order += 'b';
  });
  s.run();
  EXPECT_EQ(order, "b321");
}

TEST(AtExit, RunsOnException) {
  LocalScheduler s;
  std::string order;
  TaskHandle h = s.spawn([&] {
    this_task::at_exit([&] { order += '1'; });
    this_task::at_exit([&] { order += '2'; });
    throw std::runtime_error("x");
  });
  s.run();
  EXPECT_EQ(order, "21");
  EXPECT_THROW(h.join(), std::runtime_error);
}

TEST(AtExit, AThrowingHandlerIsReportedByJoin) {
  LocalScheduler s;
  bool later_ran = false;
  TaskHandle h = s.spawn([&] {
    this_task::at_exit([&] { later_ran = true; });
    this_task::at_exit([] { throw std::logic_error("handler"); });
  });
  s.run();
  EXPECT_TRUE(later_ran) << "one throwing handler must not skip the others";
  EXPECT_THROW(h.join(), std::logic_error);
}

TEST(AtExit, OutsideATaskIsAnError) {
  EXPECT_THROW(this_task::at_exit([] {}), std::logic_error);
}

struct Counted {  // made and destroyed on either worker
  static inline std::atomic<long> alive{0};
  int value = 0;
  Counted() { alive.fetch_add(1, std::memory_order_relaxed); }
  ~Counted() { alive.fetch_sub(1, std::memory_order_relaxed); }
};

// Valgrind's smoke test runs it: thousands of tasks on 2 workers, each
// with a handler, two locals (one a heap string) and a long name, yielding
// so that they move between workers; one in a hundred throws. Every local
// is destroyed, every handler runs, and nothing leaks.
TEST(TaskLocal, ThousandsOfTasksAcrossWorkersLeakNothing) {
  const long n = green::test::scaled(50'000, 2'000);
  green::TaskLocal<std::string> text;
  green::TaskLocal<Counted> tracked;
  green::Runtime rt({.workers = 2});
  std::atomic<long> handlers{0}, caught{0};
  auto join_all = [&](std::vector<TaskHandle>& hs) {
    for (auto& h : hs) {
      try {
        h.join();
      } catch (const std::runtime_error&) {
        caught.fetch_add(1, std::memory_order_relaxed);
      }
    }
    hs.clear();
  };
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (long i = 0; i < n; ++i) {
      hs.push_back(green::spawn(
          [&, i] {
            this_task::at_exit([&] { handlers.fetch_add(1, std::memory_order_relaxed); });
            *text = "a string too long for the small-string buffer";
            tracked->value = static_cast<int>(i);
            this_task::yield();
            EXPECT_EQ(tracked->value, static_cast<int>(i)) << "a task's local must travel with it";
            if (i % 100 == 0) throw std::runtime_error("x");
          },
          {.name = "a task name longer than fifteen characters"}));
      if (hs.size() == 1000) join_all(hs);  // a thousand live at a time
    }
    join_all(hs);
  });
  EXPECT_EQ(handlers.load(), n);
  EXPECT_EQ(caught.load(), (n + 99) / 100);
  EXPECT_EQ(Counted::alive.load(), 0) << "every task's local must be destroyed at its end";
}

}  // namespace
