// SharedMutex: readers together, writers alone, and a writer not starved by
// a stream of readers.
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <shared_mutex>
#include <thread>

namespace {

using namespace green::test;

TEST(SharedMutex, ReadersTogetherWritersAlone) {
  green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
  green::SharedMutex m;
  std::atomic<int> readers{0}, writers{0};
  std::atomic<bool> broken{false};
  long value = 0;  // written under the exclusive lock only
  in_tasks(rt, 32, [&](int i) {
    unsigned seed = static_cast<unsigned>(i);
    for (long k = 0; k < scaled(300, 10); ++k) {
      if (i % 8 == 0) {
        std::unique_lock lk(m);
        if (writers.fetch_add(1) != 0 || readers.load() != 0) broken = true;
        long v = value;
        maybe_yield(seed);
        value = v + 1;
        writers.fetch_sub(1);
      } else {
        std::shared_lock lk(m);
        readers.fetch_add(1);
        if (writers.load() != 0) broken = true;
        maybe_yield(seed);
        readers.fetch_sub(1);
      }
    }
  });
  EXPECT_FALSE(broken.load()) << "a writer overlapped someone";
  EXPECT_EQ(value, 4 * scaled(300, 10));
}

// Readers hold it at once: three meet at a barrier while holding it shared,
// and a writer is refused meanwhile.
TEST(SharedMutex, ReadersHoldItTogether) {
  green::Runtime rt({.workers = 2});
  green::SharedMutex m;
  green::Barrier all_in(4);
  rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 3; ++i)
      hs.push_back(green::spawn([&] {
        std::shared_lock lk(m);
        all_in.arrive_and_wait();
        all_in.arrive_and_wait();
      }));
    all_in.arrive_and_wait();
    EXPECT_FALSE(m.try_lock()) << "a writer got in beside three readers";
    all_in.arrive_and_wait();
    for (auto& h : hs) h.join();
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(SharedMutex, AWriterIsNotStarvedByAStreamOfReaders) {
  green::Runtime rt({.workers = 2});
  green::SharedMutex m;
  std::atomic<bool> stop{false};
  std::vector<green::TaskHandle> readers;
  for (int i = 0; i < 4; ++i)
    readers.push_back(rt.spawn([&] {
      while (!stop.load()) {
        std::shared_lock lk(m);
        for (int k = 0; k < 100; ++k) __builtin_ia32_pause();
      }
    }));
  std::this_thread::sleep_for(10ms);
  auto t0 = Clock::now();
  rt.run([&] { std::unique_lock lk(m); });
  auto took = Clock::now() - t0;
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_LT(took, slack(200ms)) << "the writer waited " << std::chrono::duration<double, std::milli>(took).count() << " ms";
}

TEST(SharedMutex, TryLocksAndThreads) {
  green::SharedMutex m;
  ASSERT_TRUE(m.try_lock_shared());
  ASSERT_TRUE(m.try_lock_shared());
  EXPECT_FALSE(m.try_lock());
  std::thread([&] { EXPECT_FALSE(m.try_lock()); }).join();
  m.unlock_shared();
  m.unlock_shared();
  ASSERT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock_shared());
  std::atomic<bool> got{false};
  std::thread reader([&] {
    std::shared_lock lk(m);  // blocks until the writer below unlocks
    got = true;
  });
  std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(got.load());
  m.unlock();
  reader.join();
  EXPECT_TRUE(got.load());
}

TEST(SharedMutexDeathTest, UnlockingWhatIsNotHeldAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  green::SharedMutex m;
  EXPECT_DEATH(m.unlock(), "not locked exclusively");
  EXPECT_DEATH(m.unlock_shared(), "not locked shared");
}

}  // namespace
