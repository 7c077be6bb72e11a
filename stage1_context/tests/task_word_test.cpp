// TaskWordCell: its fields and transitions; the TCB's size.
#include <green/detail/task.hpp>

#include <green/local_scheduler.hpp>

#include <gtest/gtest.h>

namespace {

using namespace green::detail;

constexpr TaskState kStates[] = {TaskState::Ready, TaskState::Running, TaskState::Waiting, TaskState::Done};

TEST(TaskWordCell, KeepsEachField) {
  for (TaskState s : kStates)
    for (int p = green::kMinPriority; p <= green::kMaxPriority; ++p)
      for (bool small : {false, true}) {
        TaskWordCell c;
        c.init(s, p, small);
        EXPECT_EQ(c.state(), s);
        EXPECT_EQ(c.priority(), p);
        EXPECT_EQ(c.small_stack(), small);
      }
}

TEST(TaskWordCell, Transitions) {
  TaskWordCell c;
  c.init(TaskState::Ready, 7, true);
  c.start_running();
  EXPECT_EQ(c.state(), TaskState::Running);
  c.set_priority(3);
  c.stop_running();
  EXPECT_EQ(c.state(), TaskState::Ready);
  c.start_running();
  EXPECT_TRUE(c.park()) << "nothing races a park before stage 4: it always sleeps";
  EXPECT_EQ(c.state(), TaskState::Waiting);
  EXPECT_TRUE(c.unpark()) << "the waker of a Waiting task must queue it";
  EXPECT_EQ(c.state(), TaskState::Ready);
  c.start_running();
  c.finish();
  EXPECT_EQ(c.state(), TaskState::Done);
  EXPECT_EQ(c.priority(), 3) << "a transition changed the priority";
  EXPECT_TRUE(c.small_stack()) << "a transition changed the stack class";
}

TEST(TaskWordCell, TcbIsSmall) {
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
