// Wake-ups racing parks. A task announces itself in a mailbox *before* it
// parks, so a waker often unparks it while it is still running or switching
// out: the woken bit must keep that wake-up (none lost), and the task must
// never be queued before it has switched out (never resumed twice or while
// running: TaskWordCell checks both in debug builds, the running flags here
// in every build).
#include <green/detail/tagged_ptr.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>
#include <valgrind/valgrind.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using green::TaskHandle;
using green::detail::AtomicTaggedPtr;
using green::detail::Task;
using green::detail::TaskState;
using Announced = green::detail::TaggedPtr<Task, 1>;  // tag 1: a task waits here

struct alignas(64) Mailbox {
  AtomicTaggedPtr<Task, 1> slot;
  std::atomic<int> running{0};  // 1 while the task runs
};

// linger: busy iterations between the announcement and the park, to widen
// the window in which a wake-up finds the task still running.
void announce_and_park(Mailbox& m, unsigned linger) {
  EXPECT_EQ(m.running.exchange(0), 1);
  // Announced and not yet parked: no preemption may switch the task out here.
  green::detail::PreemptOff no_preempt;
  // release: the waker's acquire exchange sees the whole announcement.
  m.slot.store(Announced(green::detail::current_task(), 1), std::memory_order_release);
  for (unsigned i = 0; i < linger; ++i) asm volatile("");
  green::detail::park_current(nullptr, nullptr);
  EXPECT_EQ(m.running.exchange(1), 0) << "resumed twice, or while still running";
}

struct Wakers {
  std::atomic<long> wakes{0};
  std::atomic<long> early{0};  // wake-ups that found the task not yet parked
  // Takes every announced task out of the mailboxes and unparks it.
  void sweep(std::vector<Mailbox>& boxes) {
    for (auto& m : boxes) {
      // acq_rel: acquire pairs with announce_and_park's release store.
      Announced a = m.slot.exchange(Announced(), std::memory_order_acq_rel);
      if (a.tag() != 1) continue;
      if (a.ptr()->word.state() == TaskState::Running) early.fetch_add(1, std::memory_order_relaxed);
      green::detail::unpark(a.ptr());
      wakes.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

TEST(ParkRace, AMillionWakeUpsRacingParksNoneLost) {
  green::Runtime rt({.workers = 2});
  const int kParkers = 8;
  const long total = green::test::scaled(1'000'000, 20'000, /*full_under_tsan=*/true);
  const long rounds = total / kParkers;
  std::vector<Mailbox> boxes(kParkers);
  std::atomic<int> finished{0};
  Wakers w;
  std::atomic<bool> stop{false};
  std::thread outsider([&] {  // a plain thread wakes some of them too
    while (!stop.load()) {
      w.sweep(boxes);
      std::this_thread::yield();
    }
  });
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < kParkers; ++i)
      hs.push_back(green::spawn([&, i] {
        boxes[i].running = 1;
        for (long r = 0; r < rounds; ++r) announce_and_park(boxes[i], r % 4 == 0 ? static_cast<unsigned>(r % 512) : 0);
        finished.fetch_add(1);
      }));
    for (int k = 0; k < 2; ++k)
      hs.push_back(green::spawn([&] {
        while (finished.load() < kParkers) {
          w.sweep(boxes);
          green::this_task::yield();
        }
      }));
    for (auto& h : hs) h.join();
  });
  stop = true;
  outsider.join();
  EXPECT_EQ(finished.load(), kParkers) << "a parker never came back: a wake-up was lost";
  EXPECT_EQ(w.wakes.load(), kParkers * rounds) << "every park takes exactly one wake-up";
  if (!RUNNING_ON_VALGRIND) {  // Valgrind runs one thread at a time: the race is rare there
    EXPECT_GT(w.early.load(), 0) << "no wake-up ever raced a park: the test did not test the race";
  }
  std::printf("  %ld wake-ups, %ld of them before the task had parked\n", w.wakes.load(), w.early.load());
}

}  // namespace
