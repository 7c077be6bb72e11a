// Channel<T>: Go's semantics (unbuffered rendezvous, exactly n buffered,
// FIFO, close), move-only values, tasks and threads, and a stress of many
// senders and receivers with random yields.
#include <sync_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

namespace {

using namespace green::test;

TEST(Channel, UnbufferedSendWaitsForItsReceiver) {
  green::Runtime rt({.workers = 2});
  green::Channel<int> ch;
  std::atomic<bool> sent{false};
  rt.run([&] {
    auto sender = green::spawn([&] {
      EXPECT_TRUE(ch.send(7));
      sent = true;
    });
    green::this_task::sleep_for(20ms);
    EXPECT_FALSE(sent.load()) << "an unbuffered send returned before anyone received";
    EXPECT_EQ(ch.recv(), 7);
    sender.join();
    EXPECT_TRUE(sent.load());
  });
}

TEST(Channel, CapacityNHoldsExactlyN) {
  for (std::size_t n : {1u, 3u, 5u, 64u}) {
    green::Runtime rt({.workers = 2});
    green::Channel<std::size_t> ch(n);
    std::atomic<std::size_t> sent{0};
    auto sender = rt.spawn([&] {
      for (std::size_t i = 0; i < n + 1; ++i) {
        ch.send(i);
        sent.fetch_add(1);
      }
    });
    for (auto t0 = Clock::now(); sent.load() < n && Clock::now() - t0 < 5s;) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(sent.load(), n) << "a channel of capacity " << n << " must take exactly " << n << " sends";
    for (std::size_t i = 0; i < n + 1; ++i) EXPECT_EQ(ch.recv(), i) << "FIFO";
    sender.join();
  }
}

TEST(Channel, CloseWakesEveryoneAndReceiversDrainFirst) {
  green::Runtime rt({.workers = 2});
  green::Channel<int> ch(2);
  ASSERT_TRUE(ch.send(1));
  ASSERT_TRUE(ch.send(2));
  std::atomic<int> blocked_senders_false{0};
  std::vector<green::TaskHandle> senders;
  for (int i = 0; i < 5; ++i)
    senders.push_back(rt.spawn([&] {
      if (!ch.send(99)) blocked_senders_false.fetch_add(1);
    }));
  std::this_thread::sleep_for(20ms);
  ch.close();
  ch.close();  // idempotent
  for (auto& s : senders) s.join();
  EXPECT_EQ(blocked_senders_false.load(), 5) << "senders waiting at close must get false";
  EXPECT_EQ(ch.recv(), 1);
  EXPECT_EQ(ch.recv(), 2);
  EXPECT_EQ(ch.recv(), std::nullopt);
  EXPECT_FALSE(ch.send(3)) << "a send after close";
  green::Channel<int> empty;
  std::vector<green::TaskHandle> receivers;
  std::atomic<int> got_nullopt{0};
  for (int i = 0; i < 5; ++i)
    receivers.push_back(rt.spawn([&] {
      if (!empty.recv()) got_nullopt.fetch_add(1);
    }));
  std::thread t([&] {
    if (!empty.recv()) got_nullopt.fetch_add(1);
  });
  std::this_thread::sleep_for(20ms);
  empty.close();
  for (auto& r : receivers) r.join();
  t.join();
  EXPECT_EQ(got_nullopt.load(), 6);
}

TEST(Channel, MoveOnlyValues) {
  green::Runtime rt({.workers = 2});
  green::Channel<std::unique_ptr<int>> ch(1), unbuffered;
  rt.run([&] {
    auto h = green::spawn([&] {
      for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(ch.send(std::make_unique<int>(i)));
        ASSERT_TRUE(unbuffered.send(std::make_unique<int>(-i)));
      }
    });
    for (int i = 0; i < 100; ++i) {
      auto a = ch.recv();
      auto b = unbuffered.recv();
      ASSERT_TRUE(a && *a);
      ASSERT_TRUE(b && *b);
      EXPECT_EQ(**a, i);
      EXPECT_EQ(**b, -i);
    }
    h.join();
  });
}

// Many senders and receivers, tasks and threads, buffered and not: every
// value arrives exactly once.
TEST(Channel, ManySendersAndReceiversLoseNothing) {
  for (std::size_t cap : {0u, 1u, 16u}) {
    green::Runtime rt({.workers = 2, .time_slice = std::chrono::microseconds(100)});
    green::Channel<long> ch(cap);
    const int senders = 8, receivers = 8;
    const long per = scaled(5000, 50);
    std::atomic<long> sum{0}, count{0};
    auto receive = [&] {
      while (auto v = ch.recv()) {
        sum.fetch_add(*v);
        count.fetch_add(1);
      }
    };
    std::thread thread_receiver(receive);
    std::thread thread_sender([&] {
      for (long i = 1; i <= per; ++i) ch.send(i);
    });
    std::vector<green::TaskHandle> rs;
    for (int r = 0; r < receivers - 1; ++r) rs.push_back(rt.spawn(receive));
    rt.run([&] {
      std::vector<green::TaskHandle> hs;
      for (int s = 0; s < senders - 1; ++s)
        hs.push_back(green::spawn([&, s] {
          unsigned seed = static_cast<unsigned>(s);
          for (long i = 1; i <= per; ++i) {
            ASSERT_TRUE(ch.send(i));
            maybe_yield(seed);
          }
        }));
      for (auto& h : hs) h.join();
    });
    thread_sender.join();
    ch.close();
    for (auto& r : rs) r.join();
    thread_receiver.join();
    EXPECT_EQ(count.load(), senders * per) << "capacity " << cap;
    EXPECT_EQ(sum.load(), senders * (per * (per + 1) / 2)) << "capacity " << cap;
  }
}

TEST(Channel, HugeCapacityIsAnInvalidArgument) {
  EXPECT_THROW(green::Channel<int>(std::size_t{1} << 40), std::invalid_argument);
}

}  // namespace
