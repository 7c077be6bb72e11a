// Stage 4's TaskWord: its packing, exhaustively, and TaskWordCell's transitions,
// one thread at a time; park_race_test.cpp races them.
#include <green/detail/task.hpp>

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace green::detail;

constexpr TaskState kStates[] = {TaskState::Ready, TaskState::Running, TaskState::Waiting, TaskState::Done};

TEST(TaskWord4, EveryCombinationRoundTrips) {
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

TEST(TaskWord4, EachSetterChangesOnlyItsField) {
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

TEST(TaskWord4, DistinctFieldsGiveDistinctWords) {
  std::set<std::uint32_t> seen;
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true}) {
        EXPECT_TRUE(seen.insert(TaskWord(s, p, small).bits()).second);
      }
  EXPECT_EQ(seen.size(), 4u * 16u * 2u);
}

TEST(TaskWord4, WokenRoundTripsWithEveryOtherField) {
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true})
        for (bool woken : {false, true}) {
          TaskWord w = TaskWord(s, p, small).with_woken(woken);
          EXPECT_EQ(w.state(), s);
          EXPECT_EQ(w.priority(), p);
          EXPECT_EQ(w.small_stack(), small);
          EXPECT_EQ(w.woken(), woken);
          EXPECT_EQ(TaskWord::from_bits(w.bits()), w);
          EXPECT_EQ(w.with_state(TaskState::Done).woken(), woken) << "changing the state must keep woken";
          EXPECT_EQ(w.with_priority(3).woken(), woken) << "changing the priority must keep woken";
        }
}

// A cell as spawn leaves it: Ready, priority 5, small stack.
struct ReadyCell : TaskWordCell {
  ReadyCell() { store(TaskWord(TaskState::Ready, 5, true)); }
};

TEST(TaskWordCell, ParkThenUnpark) {
  ReadyCell c;
  c.start_running();
  EXPECT_TRUE(c.park()) << "no wake-up pending: the task sleeps";
  EXPECT_EQ(c.state(), TaskState::Waiting);
  EXPECT_TRUE(c.unpark()) << "a Waiting task: the waker must queue it";
  EXPECT_EQ(c.state(), TaskState::Ready);
  EXPECT_FALSE(c.load().woken());
  EXPECT_EQ(c.priority(), 5);
  EXPECT_TRUE(c.small_stack());
}

TEST(TaskWordCell, UnparkBeforeParkIsKeptNotLost) {
  ReadyCell c;
  c.start_running();
  EXPECT_FALSE(c.unpark()) << "the task is still running: the waker must not queue it";
  EXPECT_EQ(c.state(), TaskState::Running);
  EXPECT_TRUE(c.load().woken());
  EXPECT_FALSE(c.park()) << "the wake-up came first: park must not sleep";
  EXPECT_EQ(c.state(), TaskState::Ready) << "it goes straight back to a run queue";
  EXPECT_FALSE(c.load().woken()) << "park consumes the wake-up";
  c.start_running();
  EXPECT_TRUE(c.park()) << "the next park sleeps again";
}

TEST(TaskWordCell, OwnerTransitionsKeepPriorityAndStack) {
  ReadyCell c;
  c.start_running();
  c.set_priority(11);
  c.stop_running();
  EXPECT_EQ(c.state(), TaskState::Ready);
  c.start_running();
  c.finish();
  EXPECT_EQ(c.load(), TaskWord(TaskState::Done, 11, true));
}

#if GREEN_DEBUG
TEST(TaskWordCellDeathTest, ProtocolErrorsAbortInDebugBuilds) {
  EXPECT_DEATH(
      {
        ReadyCell c;
        c.start_running();
        c.start_running();
      },
      "resumed twice");
  EXPECT_DEATH(
      {
        ReadyCell c;
        c.start_running();
        c.unpark();
        c.unpark();
      },
      "two wake-ups for one park");
  EXPECT_DEATH(
      {
        ReadyCell c;
        c.start_running();
        c.unpark();
        c.stop_running();
      },
      "yield of a task not running");
}
#endif

}  // namespace
