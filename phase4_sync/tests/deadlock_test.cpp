// Deadlock detection, the cycle case (detail/wait_graph.hpp): cycles of
// mutexes (and joins by tasks that hold one) of length 2, 3 and 64, among
// tasks and threads, each
// found by exactly one lock() or join(), which throws DeadlockError naming
// every task and lock; the others then go on. And the other side: waits that
// cannot deadlock (ordered locking, under preemption and random yields)
// never throw, and no edge is left behind.
#include <green/detail/wait_graph.hpp>
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace green::test;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// n tasks named t0..t(n-1); task i holds m[i], and once all hold theirs,
// locks m[(i+1) % n]: a cycle of n. Returns the DeadlockErrors' messages.
std::vector<std::string> mutex_ring(green::Runtime& rt, int n) {
  std::vector<green::Mutex> m(static_cast<std::size_t>(n));
  green::Barrier all_hold(static_cast<std::size_t>(n));
  green::Mutex errors_m;
  std::vector<std::string> errors;
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < n; ++i)
      hs.push_back(green::spawn(
          [&, i] {
            std::lock_guard mine(m[static_cast<std::size_t>(i)]);
            all_hold.arrive_and_wait();
            try {
              std::lock_guard next(m[static_cast<std::size_t>((i + 1) % n)]);
            } catch (const green::DeadlockError& e) {
              EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
              std::lock_guard lk(errors_m);
              errors.push_back(e.what());
            }
          },
          {.name = "t" + std::to_string(i)}));
    for (auto& h : hs) h.join();
  });
  return errors;
}

TEST(Deadlock, ACycleOfTwoMutexesThrowsInExactlyOneTaskNamingBoth) {
  for (unsigned workers : {1u, 2u}) {
    for (int rep = 0; rep < static_cast<int>(scaled(50, 5)); ++rep) {
      green::Runtime rt({.workers = workers});
      auto errors = mutex_ring(rt, 2);
      ASSERT_EQ(errors.size(), 1u) << "workers=" << workers << ": one lock closes the cycle; the other waits";
      const std::string& w = errors[0];
      EXPECT_TRUE(has(w, "cycle of 2 waits")) << w;
      EXPECT_TRUE(has(w, "\"t0\"") && has(w, "\"t1\"")) << "names both tasks: " << w;
      EXPECT_TRUE(has(w, "green::Mutex 0x")) << "names the locks: " << w;
      EXPECT_EQ(green::detail::wait_edges(), 0u);
    }
  }
}

TEST(Deadlock, ACycleOfThreeNamesEveryTaskAndLock) {
  green::Runtime rt({.workers = 2});
  auto errors = mutex_ring(rt, 3);
  ASSERT_EQ(errors.size(), 1u);
  const std::string& w = errors[0];
  EXPECT_TRUE(has(w, "cycle of 3 waits")) << w;
  for (const char* name : {"\"t0\"", "\"t1\"", "\"t2\""}) EXPECT_TRUE(has(w, name)) << name << " in " << w;
  std::size_t locks = 0;
  for (std::size_t at = 0; (at = w.find("green::Mutex 0x", at)) != std::string::npos; ++at) ++locks;
  EXPECT_EQ(locks, 3u) << w;
}

TEST(Deadlock, ACycleOfSixtyFourIsFound) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  auto errors = mutex_ring(rt, green::detail::kMaxCycle);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(has(errors[0], "cycle of 64 waits")) << errors[0];
}

TEST(Deadlock, JoiningATaskThatWaitsForALockYouHold) {
  for (unsigned workers : {1u, 2u}) {
    green::Runtime rt({.workers = workers});
    rt.run([] {
      green::Mutex m;
      std::unique_lock held(m);
      std::atomic<bool> child_threw{false};
      auto child = green::spawn(
          [&] {
            try {
              std::lock_guard lk(m);  // waits for the parent, which joins us
            } catch (const green::DeadlockError&) {
              child_threw = true;
            }
          },
          {.name = "child"});
      green::this_task::sleep_for(std::chrono::milliseconds(2));  // usually: the child is waiting already
      try {
        child.join();
        EXPECT_TRUE(child_threw.load()) << "the join ended, so the child's lock must have thrown";
      } catch (const green::DeadlockError& e) {
        EXPECT_TRUE(has(e.what(), "waits to join task")) << e.what();
        EXPECT_TRUE(has(e.what(), "\"child\"") && has(e.what(), "\"main\"")) << e.what();
        held.unlock();
        child.join();  // the handle is still joinable: nothing was lost
        EXPECT_FALSE(child_threw.load());
      }
    });
    EXPECT_EQ(green::detail::wait_edges(), 0u);
  }
}

// Joiners that hold a Mutex are in the graph (join_wait.cpp says why only
// those); two of them joining each other close a cycle of joins.
TEST(Deadlock, TwoTasksJoiningEachOtherWhileHoldingLocks) {
  green::Runtime rt({.workers = 2});
  rt.run([] {
    green::TaskHandle a, b;
    green::Mutex ma, mb;
    green::Barrier ready(3);
    std::atomic<int> threw{0};
    std::atomic<green::TaskHandle*> unjoined{nullptr};  // the handle whose join threw
    auto body = [&](green::Mutex& mine, green::TaskHandle* other) {
      std::lock_guard lk(mine);
      ready.arrive_and_wait();
      try {
        other->join();
      } catch (const green::DeadlockError& e) {
        EXPECT_TRUE(has(e.what(), "cycle of 2 waits") && has(e.what(), "waits to join task")) << e.what();
        unjoined.store(other);
        ++threw;
      }
    };
    a = green::spawn([&] { body(ma, &b); }, {.name = "a"});
    b = green::spawn([&] { body(mb, &a); }, {.name = "b"});
    ready.arrive_and_wait();
    // One join throws; its task ends, which lets the other's join return.
    // The other task joined the thrower's handle: main joins only the one
    // nobody joined (a handle has one joiner; main joining both raced the
    // other task's join of the same handle).
    while (threw.load() == 0) green::this_task::sleep_for(std::chrono::microseconds(100));
    unjoined.load()->join();
    EXPECT_EQ(threw.load(), 1);
  });
}

TEST(Deadlock, ACycleThroughAPlainThread) {
  green::Runtime rt({.workers = 2});
  green::Mutex m1, m2;
  green::Barrier both_hold(2);
  std::atomic<int> threw{0};
  std::string what;
  std::thread thread([&] {
    std::lock_guard a(m1);
    both_hold.arrive_and_wait();
    try {
      std::lock_guard b(m2);
    } catch (const green::DeadlockError& e) {
      what = e.what();
      ++threw;
    }
  });
  rt.run([&] {
    std::lock_guard b(m2);
    both_hold.arrive_and_wait();
    try {
      std::lock_guard a(m1);
    } catch (const green::DeadlockError& e) {
      what = e.what();
      ++threw;
    }
  });
  thread.join();
  EXPECT_EQ(threw.load(), 1);
  EXPECT_TRUE(has(what, "thread ") && has(what, "\"main\"")) << what;
}

// Ordered locking cannot deadlock: however the waits interleave, no lock()
// may throw (a false cycle from a stale holder would).
TEST(Deadlock, OrderedLockingNeverThrowsUnderPreemptionAndYields) {
  for (unsigned workers : {1u, 2u}) {
    green::Runtime rt({.workers = workers, .time_slice = std::chrono::microseconds(100)});
    constexpr int kLocks = 4;
    green::Mutex m[kLocks];
    long count[kLocks] = {};
    const long iters = scaled(3000, 30);
    in_tasks(rt, 32, [&](int i) {
      unsigned seed = static_cast<unsigned>(i) * 7919u + 1;
      for (long k = 0; k < iters; ++k) {
        seed = seed * 1103515245u + 12345u;
        int a = static_cast<int>((seed >> 16) % kLocks), b = static_cast<int>((seed >> 20) % kLocks);
        if (a > b) std::swap(a, b);
        std::unique_lock la(m[a]);
        maybe_yield(seed);
        if (b != a) {
          std::unique_lock lb(m[b]);
          ++count[b];
          maybe_yield(seed);
        }
        ++count[a];
      }
    });
    long total = 0;
    for (long c : count) total += c;
    EXPECT_GE(total, 32 * iters);
    EXPECT_EQ(green::detail::wait_edges(), 0u);
  }
}

}  // namespace
