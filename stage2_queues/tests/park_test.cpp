// park/unpark across workers: the handoff happens on the worker's stack, so a
// waker can never resume a task that has not finished switching away.
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using green::Runtime;
using green::TaskHandle;
using green::detail::Task;
using green::test::scaled;

// A mailbox for one parked task. park's callback publishes the task only
// after it switched out; the waker takes it from there.
struct Slot {
  std::atomic<Task*> parked{nullptr};
  std::atomic<int> running{0};  // 1 while the task runs: a resume while running is a bug
};

void park_into(Slot& s) {
  EXPECT_EQ(s.running.exchange(0), 1);
  green::detail::park_current(
      [](Task* self, void* arg) {
        // release: pairs with the waker's acquire exchange; it sees the saved context.
        static_cast<Slot*>(arg)->parked.store(self, std::memory_order_release);
      },
      &s);
  EXPECT_EQ(s.running.exchange(1), 0) << "resumed twice, or while still running";
}

// Tasks park over and over; waker tasks on the other worker unpark them as
// soon as they appear. Every park is matched by exactly one resume.
TEST(ParkUnpark, HammeredAcrossWorkers) {
  Runtime rt({.workers = 2});
  const int kParkers = 8;
  const long rounds = scaled(20000, 100);
  std::vector<Slot> slots(kParkers);
  std::atomic<int> finished{0};
  rt.run([&] {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < kParkers; ++i)
      hs.push_back(green::spawn([&, i] {
        slots[i].running = 1;
        for (long r = 0; r < rounds; ++r) park_into(slots[i]);
        finished.fetch_add(1);
      }));
    for (int w = 0; w < 2; ++w)
      hs.push_back(green::spawn([&] {
        while (finished.load() < kParkers) {
          for (auto& s : slots)
            // acquire: pairs with the park callback's release store.
            if (Task* t = s.parked.exchange(nullptr, std::memory_order_acquire)) green::detail::unpark(t);
          green::this_task::yield();
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(finished.load(), kParkers);
  EXPECT_GE(rt.stats().switches, static_cast<std::uint64_t>(kParkers * rounds));
}

// Unparks from plain OS threads too.
TEST(ParkUnpark, FromPlainThreads) {
  Runtime rt({.workers = 2});
  const long rounds = scaled(20000, 100);
  Slot slot;
  std::atomic<bool> done{false};
  std::thread waker([&] {
    while (!done.load())
      if (Task* t = slot.parked.exchange(nullptr, std::memory_order_acquire)) green::detail::unpark(t);
      else std::this_thread::yield();  // let the workers run (Valgrind runs one thread at a time)
  });
  rt.run([&] {
    slot.running = 1;
    for (long r = 0; r < rounds; ++r) park_into(slot);
  });
  done = true;
  waker.join();
}

// Joins racing with the end of the joined task, across workers and threads.
TEST(ParkUnpark, JoinRacesTheEndOfTheTask) {
  Runtime rt({.workers = 2});
  const long n = scaled(50000, 200);
  rt.run([&] {
    for (long i = 0; i < n; ++i) {
      std::atomic<int> x{0};
      TaskHandle h = green::spawn([&] { x = 1; });
      if (i % 3 == 0) green::this_task::yield();  // sometimes it already ended
      h.join();
      ASSERT_EQ(x.load(), 1);
    }
  });
  std::vector<TaskHandle> hs;
  for (long i = 0; i < n / 10; ++i) hs.push_back(rt.spawn([] {}));
  for (auto& h : hs) h.join();  // from a thread, racing the ends
}

}  // namespace
