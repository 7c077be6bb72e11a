// Help-first join of tasks (src/help_join.cpp): a join of a task that has
// not started runs it on the joiner's stack, as that task (its id, locals,
// at_exit, errors), only where its stack size is kept; a park, yield or
// preemption inside it resumes both; what belongs to the joiner (errno, its
// exception state, control words) is the joiner's again after the join.
#include <task_util.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace green;
using namespace std::chrono_literals;
using green::test::scaled;

// Whether two addresses lie within one stack's reach of each other, the
// child's below the parent's: the child's frame was on the parent's stack.
bool below_within(const void* child, const void* parent, std::uintptr_t reach) {
  auto c = reinterpret_cast<std::uintptr_t>(child), p = reinterpret_cast<std::uintptr_t>(parent);
  return c < p && p - c < reach;
}

constexpr SpawnOptions kSmall{.small_stack = true};

// Spawns a task with opts and joins it: where its frame was.
const void* joined_childs_frame(const SpawnOptions& opts) {
  const void* at = nullptr;
  spawn([&] { at = __builtin_frame_address(0); }, opts).join();
  return at;
}

TEST(HelpJoin, AnUnstartedChildRunsOnTheJoinersStackAsItself) {
  Runtime rt({.workers = 1, .time_slice = 0us});
  rt.run([] {
    int parent_frame = 0;
    const void* child_frame = nullptr;
    TaskId child_id = 0;
    TaskHandle h = spawn([&] {
      int here = 0;
      child_frame = &here;
      child_id = this_task::id();
    }, kSmall);
    const TaskId handle_id = h.id();
    h.join();
    EXPECT_TRUE(below_within(child_frame, &parent_frame, 4096))
        << "the joined task did not run inline: its frame is at " << child_frame << ", the joiner's at "
        << static_cast<const void*>(&parent_frame);
    EXPECT_EQ(child_id, handle_id) << "inside, this_task::id() must be the joined task's own id";
    EXPECT_NE(this_task::id(), handle_id) << "after the join the joiner must be itself again";
  });
}

TEST(HelpJoin, TheChildKeepsItsLocalsExitHandlersNameAndErrors) {
  Runtime rt({.workers = 1, .time_slice = 0us});
  TaskLocal<int> local;
  rt.run([&] {
    *local = 7;
    std::vector<std::string> order;
    std::string name_inside;
    int local_inside = -1;
    TaskHandle h = spawn([&] {
      local_inside = *local;  // a fresh value: the task's own, not the joiner's
      *local = 99;
      name_inside = std::string(this_task::name());
      this_task::at_exit([&] { order.push_back("at_exit"); });
      throw std::runtime_error("from the child");
    }, {.name = "inline child", .small_stack = true});
    try {
      h.join();
      ADD_FAILURE() << "join must rethrow what the task threw";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "from the child");
    }
    order.push_back("joined");
    EXPECT_EQ(local_inside, 0) << "the child saw the joiner's TaskLocal value";
    EXPECT_EQ(*local, 7) << "the child's TaskLocal write reached the joiner";
    EXPECT_EQ(name_inside, "inline child");
    EXPECT_EQ(order, (std::vector<std::string>{"at_exit", "joined"})) << "at_exit must run before join returns";
  });
}

// The stack-size promise: a task runs inline only if the joiner has at
// least the room it asked for below its frame.
TEST(HelpJoin, AChildIsNeverGivenLessStackThanItAskedFor) {
  Runtime rt({.workers = 1, .time_slice = 0us});
  rt.run([] {
    // Asks for as much as the joiner's whole stack: it cannot fit below us.
    EXPECT_FALSE(below_within(joined_childs_frame({}), __builtin_frame_address(0), 256 * 1024))
        << "a task asking for 256 KiB ran on the joiner's 256 KiB stack, below a frame already in use";
    EXPECT_TRUE(below_within(joined_childs_frame(kSmall), __builtin_frame_address(0), 4096))
        << "a 16 KiB task did not run inline under a 256 KiB joiner";
  });
  // 16 KiB under a 16 KiB task: the same.
  Runtime small({.workers = 1, .time_slice = 0us, .stack_size = 16 * 1024, .small_stack_size = 16 * 1024});
  small.run([] {
    EXPECT_FALSE(below_within(joined_childs_frame(kSmall), __builtin_frame_address(0), 16 * 1024))
        << "a 16 KiB task ran inline on a 16 KiB joiner";
  });
}

// A thief's stolen fork-join task roots a subtree: it gets the default stack
// class, so its own joins can help; a detached one keeps its small stack.
// (Not under Valgrind: it runs one thread at a time, so the spinning joiner
// keeps the other worker from ever stealing.)
TEST(HelpJoinNoValgrind, AStolenTaskWithAHandleGetsRoomForItsJoinsToHelp) {
  Runtime rt({.workers = 2, .time_slice = 0us});
  for (bool detach : {false, true}) {
    std::atomic<bool> started{false}, done{false};
    std::atomic<int> child_worker_thread_differs{-1};
    bool inlined = false;
    rt.run([&] {
      const auto parent_thread = std::this_thread::get_id();
      TaskHandle h = spawn([&] {
        child_worker_thread_differs = std::this_thread::get_id() != parent_thread;
        started = true;
        int frame = 0;
        const void* grandchild = nullptr;
        spawn([&] {
          int here = 0;
          grandchild = &here;
        }, kSmall).join();
        inlined = below_within(grandchild, &frame, 4096);
        done = true;
      }, kSmall);
      if (detach) h.detach();
      // Keep this worker busy, without a switch, until the other one took it.
      const auto t0 = std::chrono::steady_clock::now();
      while (!started && std::chrono::steady_clock::now() - t0 < 5s) {
      }
      if (!detach) h.join();
      while (!done) this_task::yield();
    });
    ASSERT_TRUE(started.load()) << "the other worker never took the task";
    ASSERT_EQ(child_worker_thread_differs.load(), 1) << "the task was not stolen";
    if (detach)
      EXPECT_FALSE(inlined) << "a detached stolen task got a bigger stack than it asked for";
    else
      EXPECT_TRUE(inlined) << "a stolen task's join could not help: it kept its 16 KiB stack";
  }
}

// Helping bounded by the stack: fib down to the leaves on 16 KiB stacks,
// under a 16 KiB root (nothing fits inline) and a 64 KiB one (the top of
// the tree runs inline, until the room runs out), must not overflow.
TEST(HelpJoin, RecursiveFibOnSmallStacksNeverOverflows) {
  const int n = RUNNING_ON_VALGRIND ? 14 : GREEN_TSAN ? 15 : 24;
  for (std::size_t root : {std::size_t{16} * 1024, std::size_t{64} * 1024}) {
    for (unsigned workers : {1u, 2u}) {
      Runtime rt({.workers = workers, .stack_size = root, .small_stack_size = 16 * 1024});
      EXPECT_EQ(rt.run([&] { return green::test::spawn_fib(n); }), green::test::serial_fib(n))
          << "root stack " << root << ", " << workers << " workers";
    }
  }
}

// errno and the exception state are the joiner's again after the join, and
// the child starts with neither. (The floating-point control words are
// shared, as with any call: help_join.cpp.)
TEST(HelpJoin, WhatBelongsToTheJoinerStaysTheJoiners) {
  Runtime rt({.workers = 1, .time_slice = 0us});
  rt.run([] {
    try {
      throw std::logic_error("the joiner's");
    } catch (const std::logic_error&) {
      errno = 42;
      bool saw_exception = true;
      int saw_uncaught = -1;
      spawn([&] {
        saw_exception = static_cast<bool>(std::current_exception());
        saw_uncaught = std::uncaught_exceptions();
        errno = 7;
      }, kSmall).join();
      EXPECT_FALSE(saw_exception) << "inside, the child saw the joiner's caught exception";
      EXPECT_EQ(saw_uncaught, 0);
      EXPECT_EQ(errno, 42) << "the child's errno leaked into the joiner";
      EXPECT_TRUE(static_cast<bool>(std::current_exception())) << "the joiner lost its caught exception";
    }
  });
}

// A child that parks, yields or is preempted while it runs inline takes the
// joiner with it; whichever worker resumes it finishes both.
TEST(HelpJoin, AnInlineChildThatSwitchesOutResumesWithItsJoiner) {
  Runtime rt({.workers = 2, .time_slice = 100us});
  const int rounds = static_cast<int>(scaled(2000, 50));
  std::atomic<int> inline_runs{0};
  rt.run([&] {
    Channel<int> ch(0);
    Mutex m;
    auto echo = spawn([&] {
      for (int i = 0; i < rounds; ++i) ch.send(*ch.recv() + 1);
    });
    std::mt19937 rng(12345);
    for (int i = 0; i < rounds; ++i) {
      const TaskId me = this_task::id();
      int frame = 0;
      int got = -1;
      const int how = static_cast<int>(rng() % 4);
      TaskHandle h = spawn([&] {
        int here = 0;
        if (below_within(&here, &frame, 4096)) inline_runs.fetch_add(1);
        switch (how) {
          case 0: this_task::yield(); break;
          case 1: this_task::sleep_for(20us); break;
          case 2: {
            std::lock_guard lk(m);
            this_task::yield();
            break;
          }
          default: {
            auto t0 = std::chrono::steady_clock::now();  // long enough for a tick
            while (std::chrono::steady_clock::now() - t0 < 150us) {
            }
          }
        }
        ch.send(i);
        got = *ch.recv();
      }, kSmall);
      h.join();
      ASSERT_EQ(got, i + 1) << "round " << i;
      ASSERT_EQ(this_task::id(), me) << "the joiner came back as another task, round " << i;
    }
    echo.join();
  });
  EXPECT_GT(inline_runs.load(), rounds / 2) << "most joins should have run their task inline";
}

// A cycle closed through a task that runs inline is still found: the joiner
// holds the Mutex the child wants.
TEST(HelpJoin, ADeadlockThroughAnInlineChildIsReported) {
  Runtime rt({.workers = 1, .time_slice = 0us});
  rt.run([] {
    Mutex m;
    std::lock_guard lk(m);
    TaskHandle h = spawn([&] { std::lock_guard inner(m); }, kSmall);
    EXPECT_THROW(h.join(), DeadlockError);
  });
}

// Fork-join storm: fib on 2 workers with 100 us ticks and random yields,
// many times; stolen subtrees, inline runs and preemptions interleave.
TEST(HelpJoin, FibStormWithYieldsAndPreemption) {
  Runtime rt({.workers = 2, .time_slice = 100us});
  const int reps = static_cast<int>(scaled(100, 5));
  const int n = RUNNING_ON_VALGRIND || GREEN_TSAN ? 10 : 16;
  for (int r = 0; r < reps; ++r)
    ASSERT_EQ(rt.run([&] { return green::test::spawn_fib(n, /*yield_every=*/7); }), green::test::serial_fib(n))
        << "rep " << r;
}

}  // namespace
