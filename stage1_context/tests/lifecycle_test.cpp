// The life of a task through the public API: handles, join, detach,
// exceptions, this_task, option validation, every error case.
#include <green/detail/sanitizers.hpp>
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using green::LocalScheduler;
using green::TaskHandle;
namespace this_task = green::this_task;

TEST(Lifecycle, IdsAreUniqueAndNonZero) {
  LocalScheduler s;
  TaskHandle a = s.spawn([] {}), b = s.spawn([] {});
  EXPECT_NE(a.id(), 0u);
  EXPECT_NE(a.id(), b.id());
  green::TaskId seen = 0;
  TaskHandle c = s.spawn([&] { seen = this_task::id(); });
  s.run();
  EXPECT_EQ(seen, c.id());
  EXPECT_EQ(c.id(), seen) << "id() stays readable after the task ended";
  EXPECT_EQ(this_task::id(), 0u) << "outside a task the id is 0";
}

TEST(Lifecycle, NameAndPriorityAreVisibleInside) {
  LocalScheduler s;
  std::string name;
  int prio = -1;
  std::string long_name(100, 'x');
  s.spawn([&] { name = this_task::name(); prio = this_task::priority(); }, {.name = long_name, .priority = 3});
  s.run();
  EXPECT_EQ(name, long_name);
  EXPECT_EQ(prio, 3);
  EXPECT_EQ(this_task::name(), "");
}

TEST(Lifecycle, JoinWaitsForTheTask) {
  LocalScheduler s;
  std::string order;
  s.spawn([&] {
    TaskHandle h = green::spawn([&] {
      order += 'c';
      this_task::yield();
      order += 'c';
    });
    EXPECT_TRUE(h.joinable());
    h.join();
    EXPECT_FALSE(h.joinable());
    order += 'p';
  });
  s.run();
  EXPECT_EQ(order, "ccp");
}

TEST(Lifecycle, JoinAfterTheTaskEndedReturnsAtOnce) {
  LocalScheduler s;
  TaskHandle h = s.spawn([] {});
  s.run();
  h.join();
  EXPECT_FALSE(h.joinable());
}

TEST(Lifecycle, JoinFromTheOwningThreadDrivesTheScheduler) {
  LocalScheduler s;
  int x = 0;
  TaskHandle h = s.spawn([&] { x = 42; });
  h.join();  // not inside run(): runs the scheduler until h is done
  EXPECT_EQ(x, 42);
}

TEST(Lifecycle, JoinRethrowsTheTasksException) {
  LocalScheduler s;
  TaskHandle h = s.spawn([] { throw std::runtime_error("boom"); });
  s.run();
  try {
    h.join();
    FAIL() << "join() must rethrow the task's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_FALSE(h.joinable());
}

// The exception outlives the task's stack: each task ends (its stack goes
// back to the cache) before anyone joins it, and each join gets its own.
TEST(Lifecycle, ExceptionsWaitForJoinAfterTheStacksAreGone) {
  LocalScheduler s;
  std::vector<TaskHandle> hs;
  for (int i = 0; i < 200; ++i)
    hs.push_back(s.spawn([i] {
      if (i % 3 != 0) throw std::runtime_error("task " + std::to_string(i));
    }));
  s.run();
  for (int i = 0; i < 200; ++i) {
    try {
      hs[i].join();
      EXPECT_EQ(i % 3, 0) << "task " << i << " threw, and join() returned";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(i % 3, 0) << "task " << i << " did not throw: " << e.what();
      EXPECT_EQ(std::string(e.what()), "task " + std::to_string(i)) << "join() rethrew another task's exception";
    }
  }
}

// The name lies between TaskExtra and the callable, which lies at its own
// alignment after it (task.hpp): every name length with callables of every
// alignment must keep both intact, and destroy each callable once.
template <std::size_t Align>
struct alignas(Align) Payload {
  std::array<unsigned char, Align> bytes{};
};
template <std::size_t Align>
void check_layout(int* destroyed) {
  struct Fn {
    Payload<Align> p;
    int* destroyed;
    std::string* seen;
    unsigned seed;
    void operator()() const {
      for (std::size_t i = 0; i < Align; ++i)
        if (p.bytes[i] != static_cast<unsigned char>(seed + i)) *seen = "callable corrupted";
      if (seen->empty()) *seen = std::string(green::this_task::name());
    }
    ~Fn() {
      if (destroyed) ++*destroyed;
    }
  };
  LocalScheduler s;
  std::vector<std::string> seen(40);
  for (unsigned len = 0; len < 40; ++len) {
    Fn fn{{}, nullptr, &seen[len], len * 7};
    for (std::size_t i = 0; i < Align; ++i) fn.p.bytes[i] = static_cast<unsigned char>(fn.seed + i);
    fn.destroyed = destroyed;  // the task's copy counts its destruction, the local one not
    s.spawn(fn, {.name = std::string(len, static_cast<char>('a' + len % 26))}).detach();
    fn.destroyed = nullptr;
  }
  s.run();
  for (unsigned len = 0; len < 40; ++len)
    EXPECT_EQ(seen[len], std::string(len, static_cast<char>('a' + len % 26)))
        << "alignment " << Align << ", a name of " << len << " bytes";
}

TEST(Lifecycle, NamesAndCallablesOfEveryAlignmentShareTheBlock) {
  int destroyed = 0;
  check_layout<8>(&destroyed);
  check_layout<16>(&destroyed);
  check_layout<32>(&destroyed);
  check_layout<64>(&destroyed);
  EXPECT_EQ(destroyed, 4 * 40) << "each task's callable must be destroyed once";
}

TEST(Lifecycle, JoiningYourselfIsAnError) {
  LocalScheduler s;
  TaskHandle* self = nullptr;
  std::error_code code;
  TaskHandle h = s.spawn([&] {
    try {
      self->join();
    } catch (const std::system_error& e) {
      code = e.code();
    }
  });
  self = &h;
  s.run();
  EXPECT_EQ(code, std::errc::resource_deadlock_would_occur);
  EXPECT_TRUE(h.joinable()) << "a refused join must not consume the handle";
}

TEST(Lifecycle, JoiningANonJoinableHandleIsAnError) {
  TaskHandle empty;
  EXPECT_FALSE(empty.joinable());
  EXPECT_EQ(empty.id(), 0u);
  try {
    empty.join();
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
  LocalScheduler s;
  TaskHandle h = s.spawn([] {});
  h.detach();
  EXPECT_FALSE(h.joinable());
  EXPECT_THROW(h.join(), std::system_error);
  EXPECT_THROW(h.detach(), std::system_error);
  s.run();
}

TEST(Lifecycle, HandlesMove) {
  LocalScheduler s;
  TaskHandle a = s.spawn([] {});
  green::TaskId id = a.id();
  TaskHandle b = std::move(a);
  EXPECT_FALSE(a.joinable());
  EXPECT_EQ(b.id(), id);
  TaskHandle c = s.spawn([] {});
  c = std::move(b);  // c's old task is released (detached)
  EXPECT_EQ(c.id(), id);
  s.run();
  c.join();
}

TEST(Lifecycle, DetachedTaskStillRuns) {
  LocalScheduler s;
  int ran = 0;
  s.spawn([&] { ++ran; }).detach();
  { TaskHandle dropped = s.spawn([&] { ++ran; }); }  // dropping a handle detaches
  s.run();
  EXPECT_EQ(ran, 2);
}

TEST(Lifecycle, CallableIsDestroyedAtTaskEnd) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> weak = token;
  LocalScheduler s;
  TaskHandle h = s.spawn([t = std::move(token)] { EXPECT_EQ(*t, 1); });
  s.run();
  EXPECT_TRUE(weak.expired()) << "the task's function object must be destroyed when it ends, not at join";
  h.join();
}

TEST(LifecycleErrors, SpawnOutsideATaskIsALogicError) {
  EXPECT_THROW(green::spawn([] {}), std::logic_error);
}

TEST(LifecycleErrors, BadPriorityIsInvalidArgument) {
  LocalScheduler s;
  EXPECT_THROW(s.spawn([] {}, {.priority = -1}), std::invalid_argument);
  EXPECT_THROW(s.spawn([] {}, {.priority = 16}), std::invalid_argument);
  EXPECT_EQ(s.live_tasks(), 0u) << "a refused spawn must leave nothing behind";
  s.spawn([] {
    EXPECT_THROW(this_task::set_priority(16), std::invalid_argument);
    EXPECT_THROW(this_task::set_priority(-1), std::invalid_argument);
    EXPECT_EQ(this_task::priority(), green::kDefaultPriority);
  });
  s.run();
}

TEST(LifecycleErrors, AbsurdStackSizesAreInvalidArgument) {
  LocalScheduler s;
  EXPECT_THROW(s.spawn([] {}, {.stack_size = std::size_t{1} << 40}), std::invalid_argument);
  EXPECT_EQ(s.live_tasks(), 0u) << "a refused spawn must leave nothing behind";
  int ran = 0;
  std::array<char, 8192> big{};
  big[8191] = 1;
  // The function object lives in the task's block, not on its stack.
  s.spawn([&ran, big] { ran += big[8191]; }, {.stack_size = 4096});
  // Rounded up to the smallest stack, 2 KiB; ASan's frames need more than that.
  s.spawn([&] { ++ran; }, {.stack_size = GREEN_ASAN ? 8192 : 16});
  s.spawn([&] { ++ran; }, {.stack_size = 100 * 1000});   // rounded up to pages
  s.run();
  EXPECT_EQ(ran, 3);
}

TEST(LifecycleErrors, ThisTaskCallsOutsideATask) {
  EXPECT_THROW(this_task::set_priority(3), std::logic_error);
  EXPECT_EQ(this_task::priority(), green::kDefaultPriority);
  this_task::yield();  // a plain thread yield, no error
}

TEST(LifecycleErrors, JoinFromAnotherThreadIsRefused) {
  LocalScheduler s;
  TaskHandle h = s.spawn([] {});
  std::thread other([&] { EXPECT_THROW(h.join(), std::logic_error); });
  other.join();
  s.run();
  h.join();
}

}  // namespace
