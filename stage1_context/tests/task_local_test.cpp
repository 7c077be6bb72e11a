// TaskLocal<T>: one value per task, made on first use, destroyed at task end.
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using green::LocalScheduler;
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

}  // namespace
