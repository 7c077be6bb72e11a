// TaskWord packing, exhaustively; the TCB's size.
#include <green/detail/task.hpp>

#include <green/local_scheduler.hpp>

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace green::detail;

constexpr TaskState kStates[] = {TaskState::Ready, TaskState::Running, TaskState::Waiting, TaskState::Done};

TEST(TaskWord, EveryCombinationRoundTrips) {
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true}) {
        TaskWord w(s, p, small);
        EXPECT_EQ(w.state(), s);
        EXPECT_EQ(w.priority(), p);
        EXPECT_EQ(w.small_stack(), small);
        EXPECT_EQ(w.bits() & ~TaskWord::kUsedMask, 0u) << "reserved bits must stay clear";
      }
}

TEST(TaskWord, EachSetterChangesOnlyItsField) {
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true}) {
        TaskWord w(s, p, small);
        for (TaskState s2 : kStates) {
          TaskWord v = w.with_state(s2);
          EXPECT_EQ(v, TaskWord(s2, p, small));
        }
        for (int p2 = green::kMinPriority; p2 <= green::kMaxPriority; ++p2) {
          TaskWord v = w.with_priority(p2);
          EXPECT_EQ(v, TaskWord(s, p2, small));
        }
      }
}

TEST(TaskWord, DistinctFieldsGiveDistinctWords) {
  std::set<std::uint32_t> seen;
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true}) {
        EXPECT_TRUE(seen.insert(TaskWord(s, p, small).bits()).second);
      }
  EXPECT_EQ(seen.size(), 4u * 16u * 2u);
}

TEST(TaskWord, TcbIsSmall) {
  static_assert(sizeof(TaskWord) == 4);
  if (!kUcontextBackend) {
    EXPECT_LE(sizeof(Task), 32u) << "the hot TCB grew past 32 bytes";
  }
  EXPECT_EQ(alignof(Task) % 8, 0u) << "later stages keep state bits in the low 3 bits of a Task*";
  // And the blocks tasks live in keep that alignment.
  green::LocalScheduler s;
  std::uintptr_t seen = 1;
  s.spawn([&] { seen = reinterpret_cast<std::uintptr_t>(green::detail::current_task()); });
  s.run();
  EXPECT_EQ(seen % alignof(Task), 0u) << "a task's block must keep the TCB's alignment";
}

}  // namespace
