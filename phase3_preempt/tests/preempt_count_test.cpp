// The preempt-disable count and the pending flag are the task's, not the
// thread's (TaskOwned, detail/preempt.hpp): handed over at every switch, the
// thread's own kept by the dispatcher while it runs tasks, and every task
// starts with a count of 0 and nothing owed.
#include <green/detail/preempt_off.hpp>
#include <green/local_scheduler.hpp>
#include <green/this_task.hpp>

#include <gtest/gtest.h>

namespace {

using green::detail::preempt_count;

// A plain thread that joins a pending LocalScheduler task runs the scheduler
// inside join's PreemptOff: the count must come back to what it was.
TEST(TaskOwned, PreemptCountComesBackAfterAThreadJoinsAPendingTask) {
  green::LocalScheduler s;
  auto h = s.spawn([] { green::this_task::yield(); });
  ASSERT_EQ(preempt_count(), 0);
  h.join();
  EXPECT_EQ(preempt_count(), 0);
  {
    green::detail::PreemptOff off;
    green::LocalScheduler s2;
    s2.spawn([] { EXPECT_EQ(preempt_count(), 0) << "a new task starts at 0"; });
    s2.run();
    EXPECT_EQ(preempt_count(), 1);
  }
  EXPECT_EQ(preempt_count(), 0);
}

// A preemption owed while the loop ran (a tick that landed between the loop
// choosing a task and switching to it) is not the task's: it must not start
// or resume with the pending flag set, or its next NoPreempt would yield for
// nothing.
TEST(TaskOwned, TasksStartAndResumeWithNothingOwed) {
  green::LocalScheduler s;
  bool owed_at_start = true, owed_after_yield = true;
  s.spawn([&] {
    owed_at_start = green::detail::preempt_pending();
    green::detail::set_preempt_pending(1);  // a tick wanted to, and could not
    green::this_task::yield();
    owed_after_yield = green::detail::preempt_pending();
  });
  s.spawn([] { green::detail::set_preempt_pending(1); });  // as if a tick hit the loop
  green::detail::set_preempt_pending(1);  // as if a tick hit the loop before the first switch
  s.run();
  green::detail::set_preempt_pending(0);
  EXPECT_FALSE(owed_at_start);
  EXPECT_FALSE(owed_after_yield);
}

}  // namespace
