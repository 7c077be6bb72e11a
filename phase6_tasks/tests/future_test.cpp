// Futures: async, Promise from tasks and threads, get once, then (skipped
// on exception), when_all / when_any, the future_error cases, helping.
#include <task_util.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace green;
using green::test::scaled;

std::future_errc code_of(const std::future_error& e) { return static_cast<std::future_errc>(e.code().value()); }

template <class F>
std::future_errc future_errc_of(F&& f) {
  try {
    f();
  } catch (const std::future_error& e) {
    return code_of(e);
  }
  ADD_FAILURE() << "no std::future_error";
  return std::future_errc{};
}

TEST(Future, AsyncGivesTheValueTheExceptionOrNothing) {
  Runtime rt({.workers = 2});
  rt.run([] {
    EXPECT_EQ(async([] { return 6 * 7; }).get(), 42);
    EXPECT_EQ(*async([] { return std::make_unique<std::string>("move-only"); }).get(), "move-only");
    int side = 0;
    Future<void> v = async([&] { side = 1; });
    v.get();
    EXPECT_EQ(side, 1);
    auto bad = async([]() -> int { throw std::out_of_range("inside"); });
    EXPECT_THROW(bad.get(), std::out_of_range);
  });
}

TEST(Future, GetIsOnceAndAnEmptyFutureSaysSo) {
  Runtime rt({.workers = 1});
  rt.run([] {
    Future<int> f = async([] { return 1; });
    EXPECT_TRUE(f.valid());
    EXPECT_EQ(f.get(), 1);
    EXPECT_FALSE(f.valid());
    EXPECT_EQ(future_errc_of([&] { f.get(); }), std::future_errc::no_state);
    Future<int> empty;
    EXPECT_EQ(future_errc_of([&] { (void)empty.ready(); }), std::future_errc::no_state);
    EXPECT_EQ(future_errc_of([&] { empty.wait(); }), std::future_errc::no_state);
  });
}

TEST(Future, PromiseErrors) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_EQ(future_errc_of([&] { p.get_future(); }), std::future_errc::future_already_retrieved);
  p.set_value(3);
  EXPECT_EQ(future_errc_of([&] { p.set_value(4); }), std::future_errc::promise_already_satisfied);
  EXPECT_EQ(future_errc_of([&] { p.set_exception(std::make_exception_ptr(1)); }),
            std::future_errc::promise_already_satisfied);
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), 3) << "a plain thread gets a ready value";
  Future<void> broken;
  {
    Promise<void> q;
    broken = q.get_future();
  }
  EXPECT_EQ(future_errc_of([&] { broken.get(); }), std::future_errc::broken_promise);
}

TEST(Future, APromiseSetByAThreadWakesATaskAndTheOtherWayRound) {
  Runtime rt({.workers = 2, .detect_deadlock = false});
  const int n = static_cast<int>(scaled(500, 20));
  std::vector<Promise<int>> to_tasks(static_cast<std::size_t>(n)), to_thread(static_cast<std::size_t>(n));
  std::vector<Future<int>> from_thread, from_tasks;
  for (auto& p : to_tasks) from_thread.push_back(p.get_future());
  for (auto& p : to_thread) from_tasks.push_back(p.get_future());
  std::atomic<long> sum{0};
  std::vector<TaskHandle> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(rt.spawn([&, i] {
      auto k = static_cast<std::size_t>(i);
      sum.fetch_add(from_thread[k].get());  // parks until the thread sets it
      to_thread[k].set_value(i);
    }));
  for (int i = 0; i < n; ++i) {
    auto k = static_cast<std::size_t>(i);
    if (i % 7 == 0) std::this_thread::yield();
    to_tasks[k].set_value(1);
  }
  long back = 0;
  for (auto& f : from_tasks) back += f.get();  // blocks this thread
  for (auto& h : hs) h.join();
  EXPECT_EQ(sum.load(), n);
  EXPECT_EQ(back, static_cast<long>(n) * (n - 1) / 2);
}

TEST(Future, AnAsyncNobodyStartedRunsOnTheTaskThatGetsIt) {
  Runtime rt({.workers = 1});
  rt.run([] {
    auto f = async([] { return this_task::id(); });
    EXPECT_EQ(f.get(), this_task::id()) << "get() should run an unstarted async inline (help)";
  });
}

// Runtime::run on one worker runs the worker on the caller's thread, so one
// thread runs the loops of runtime after runtime, and a new runtime's worker
// may take the address of the one before: the thread's cached job deque must
// be the new worker's (it is named by its loop, tl_loop_serial), or the job
// goes into a deque nobody pops and get() waits for good.
TEST(Future, RuntimesRunOneAfterAnotherOnOneThreadEachUseTheirOwnJobDeque) {
  for (int i = 0; i < green::test::scaled(200); ++i) {
    Runtime rt({.workers = 1});
    rt.run([] {
      auto f = async([] { return this_task::id(); });
      ASSERT_EQ(f.get(), this_task::id()) << "get() should run an unstarted async inline (help)";
    });
  }
}

// when_all's and when_any's results have no job of their own: their get()
// helps the inputs' jobs. On one worker, ours, none has started, so each
// runs inline on the getter (before, they waited for carriers, one after
// another: 3x oneTBB at 10,000).
TEST(Future, WhenAllAndWhenAnyRunTheirUnstartedInputsOnTheGetter) {
  Runtime rt({.workers = 1});
  rt.run([] {
    const int n = 1000;
    std::vector<Future<TaskId>> fs;
    for (int i = 0; i < n; ++i) fs.push_back(async([] { return this_task::id(); }));
    std::vector<TaskId> ids = when_all(std::move(fs)).get();
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ASSERT_EQ(ids[static_cast<std::size_t>(i)], this_task::id()) << "input " << i << " ran in a carrier";
    std::vector<Future<TaskId>> gs;
    for (int i = 0; i < 3; ++i) gs.push_back(async([] { return this_task::id(); }));
    auto [index, id] = when_any(std::move(gs)).get();
    EXPECT_LT(index, 3u);
    EXPECT_EQ(id, this_task::id()) << "when_any's get() should have run an input inline";
  });
}

TEST(Future, ThenChainsAndAnExceptionSkipsTheRest) {
  Runtime rt({.workers = 2});
  rt.run([] {
    auto f = async([] { return 20; }).then([](int x) { return x + 1; }).then([](int x) { return std::to_string(2 * x); });
    EXPECT_EQ(f.get(), "42");
    std::atomic<int> ran{0};
    auto g = async([]() -> int { throw std::runtime_error("first"); })
                 .then([&](int x) {
                   ran.fetch_add(1);
                   return x;
                 })
                 .then([&](int) { ran.fetch_add(1); });
    EXPECT_THROW(g.get(), std::runtime_error);
    EXPECT_EQ(ran.load(), 0) << "then's function must be skipped after an exception";
    auto h = async([] {}).then([] { return 5; }).then([](int x) { if (x == 5) throw std::logic_error("in then"); });
    EXPECT_THROW(h.get(), std::logic_error);
    auto owned = std::make_unique<int>(9);
    auto m = async([] { return 1; }).then([p = std::move(owned)](int x) { return x + *p; });
    EXPECT_EQ(m.get(), 10) << "then takes a move-only function";
  });
}

TEST(Future, ThenOnAPromiseSetLaterByAThread) {
  Runtime rt({.workers = 2, .detect_deadlock = false});
  Promise<int> p;
  Future<int> doubled;
  rt.run([&] { doubled = p.get_future().then([](int x) { return 2 * x; }); });
  std::thread([&] { p.set_value(21); }).join();
  EXPECT_EQ(doubled.get(), 42);
}

TEST(Future, WhenAllKeepsOrderAndRethrowsTheFirstFailureAfterAll) {
  Runtime rt({.workers = 2});
  rt.run([] {
    std::vector<Future<int>> fs;
    for (int i = 0; i < 50; ++i)
      fs.push_back(async([i] {
        if (i % 3 == 0) this_task::yield();
        return i * i;
      }));
    std::vector<int> v = when_all(std::move(fs)).get();
    ASSERT_EQ(v.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)], i * i);

    std::atomic<int> finished{0};
    std::vector<Future<int>> gs;
    gs.push_back(async([&]() -> int {
      this_task::sleep_for(std::chrono::milliseconds(20));
      finished.fetch_add(1);
      throw std::runtime_error("index 0, last to fail");
    }));
    gs.push_back(async([&]() -> int {
      finished.fetch_add(1);
      throw std::logic_error("index 1, first to fail");
    }));
    gs.push_back(async([&] {
      this_task::sleep_for(std::chrono::milliseconds(30));
      finished.fetch_add(1);
      return 2;
    }));
    try {
      when_all(std::move(gs)).get();
      ADD_FAILURE() << "when_all should rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "index 0, last to fail") << "the first failure in input order";
    } catch (...) {
      ADD_FAILURE() << "the wrong exception: the first in input order is index 0's";
    }
    EXPECT_EQ(finished.load(), 3) << "when_all waits for every input before it reports";

    EXPECT_TRUE(when_all(std::vector<Future<int>>{}).get().empty());
    std::vector<Future<void>> vs;
    for (int i = 0; i < 10; ++i) vs.push_back(async([] {}));
    when_all(std::move(vs)).get();
  });
}

TEST(Future, WhenAnyGivesTheFirstReadyWithItsIndex) {
  Runtime rt({.workers = 2, .detect_deadlock = false});
  rt.run([] {
    Promise<int> slow;
    std::vector<Future<int>> fs;
    fs.push_back(slow.get_future());
    fs.push_back(async([] { return 11; }));
    auto [index, value] = when_any(std::move(fs)).get();
    EXPECT_EQ(index, 1u);
    EXPECT_EQ(value, 11);
    slow.set_value(0);  // the loser completes later: nothing happens

    std::vector<Future<int>> failing;
    failing.push_back(async([]() -> int { throw std::runtime_error("first ready"); }));
    EXPECT_THROW(when_any(std::move(failing)).get(), std::runtime_error);

    EXPECT_THROW(when_any(std::vector<Future<int>>{}), std::invalid_argument);
    std::vector<Future<void>> vs;
    Promise<void> never_first;
    vs.push_back(never_first.get_future());
    vs.push_back(async([] {}));
    EXPECT_EQ(when_any(std::move(vs)).get(), 1u);
    never_first.set_value();
  });
}

TEST(Future, AsyncRefusesBadOptionsAndNeedsARuntime) {
  EXPECT_THROW(async([] {}), std::logic_error) << "no runtime alive";
  Runtime rt({.workers = 1});
  EXPECT_THROW(async([] {}, {.priority = 99}), std::invalid_argument);
  EXPECT_THROW(async([] {}, {.stack_size = std::size_t{1} << 40}), std::invalid_argument);
  EXPECT_EQ(async([] { return 5; }).get(), 5) << "a plain thread runs on the newest runtime";
}

// An async whose future is dropped still runs, and the runtime's
// destructor waits for it, as for a task: a job waiting in a worker's deque
// counts as live work.
TEST(Future, ADroppedFutureStillRunsBeforeTheRuntimeIsGone) {
  const int rounds = static_cast<int>(scaled(300, 10));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<int> ran{0};
    {
      Runtime rt({.workers = 2});
      rt.run([&] {
        for (int i = 0; i < 8; ++i) (void)async([&ran] { ran.fetch_add(1); });
      });
    }
    ASSERT_EQ(ran.load(), 8) << "round " << r << ": an async's job was dropped with the runtime";
  }
}

TEST(Future, AsyncStorm) {
  Runtime rt({.workers = 2});
  const int n = static_cast<int>(scaled(20000, 200));
  long total = rt.run([&] {
    std::vector<Future<long>> fs;
    for (int i = 0; i < n; ++i) fs.push_back(async([i] { return static_cast<long>(i); }));
    long s = 0;
    for (std::size_t i = fs.size(); i-- > 0;) s += fs[i].get();  // newest first: some helped, some not
    return s;
  });
  EXPECT_EQ(total, static_cast<long>(n) * (n - 1) / 2);
}

}  // namespace
