// net:: and io::accept/connect over TCP on loopback: IPv4, IPv6 and names,
// many connections, one wake-up per connection among many acceptors,
// refused connections, and accept's EMFILE back-off.
#include <io_util.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace green;
using green::test::read_n;
using green::test::slack;
using green::test::write_all;

// An echo of `msg` through a fresh listener on host, connecting to `to`.
void echo_once(const char* host, const char* to) {
  Runtime rt({.workers = 2});
  rt.run([=] {
    int l = net::listen_tcp(host, 0);
    ASSERT_GE(l, 0) << "listen_tcp(" << (host ? host : "nullptr") << "): errno " << io::last_error();
    std::uint16_t port = net::local_port(l);
    ASSERT_NE(port, 0);
    auto server = spawn([l] {
      int c = io::accept(l, nullptr, nullptr);
      ASSERT_GE(c, 0) << "accept: errno " << io::last_error();
      std::string m = read_n(c, 5);
      EXPECT_TRUE(write_all(c, m));
      io::close(c);
    });
    int c = net::connect_tcp(to, port);
    ASSERT_GE(c, 0) << "connect_tcp(" << to << "): errno " << io::last_error();
    EXPECT_TRUE(write_all(c, "hello"));
    EXPECT_EQ(read_n(c, 5), "hello");
    server.join();
    io::close(c);
    io::close(l);
  });
}

TEST(Net, Ipv4) { echo_once("127.0.0.1", "127.0.0.1"); }
TEST(Net, Ipv6) {
  if (net::listen_tcp("::1", 0) < 0) GTEST_SKIP() << "no IPv6 loopback on this machine";
  echo_once("::1", "::1");
}
TEST(Net, HostNames) { echo_once("localhost", "localhost"); }
TEST(Net, WildcardTakesIpv4AndIpv6) {
  echo_once(nullptr, "127.0.0.1");
  echo_once("", "localhost");
}

TEST(Net, BadHostsAndRefusedConnectionsFail) {
  Runtime rt({.workers = 1});
  rt.run([] {
    EXPECT_EQ(net::listen_tcp("256.1.2.3.no-such-host.invalid", 0), -1);
    int l = net::listen_tcp("127.0.0.1", 0);
    std::uint16_t port = net::local_port(l);
    io::close(l);  // nobody listens there now
    EXPECT_EQ(net::connect_tcp("127.0.0.1", port), -1);
    EXPECT_EQ(io::last_error(), ECONNREFUSED);
    EXPECT_EQ(net::connect_tcp("", port), -1);
    EXPECT_EQ(io::last_error(), EINVAL);
    EXPECT_EQ(net::local_port(-1), 0);
  });
}

TEST(Net, ThousandConnectionsEchoOnTwoWorkers) {
  Runtime rt({.workers = 2});
  const int conns = static_cast<int>(green::test::scaled(1000, 50));
  std::atomic<int> bad{0};
  rt.run([&] {
    int l = net::listen_tcp("127.0.0.1", 0);
    ASSERT_GE(l, 0);
    auto acceptor = spawn([&] {
      std::vector<TaskHandle> hs;
      for (int i = 0; i < conns; ++i) {
        int c = io::accept(l, nullptr, nullptr);
        if (c < 0) {
          bad++;
          continue;
        }
        hs.push_back(spawn([c] {
          char buf[256];
          ssize_t n;
          while ((n = io::read(c, buf, sizeof buf)) > 0) write_all(c, std::string(buf, n));
          io::close(c);
        }));
      }
      for (auto& h : hs) h.join();
    });
    std::vector<TaskHandle> clients;
    for (int i = 0; i < conns; ++i)
      clients.push_back(spawn([&, i] {
        int c = net::connect_tcp("127.0.0.1", net::local_port(l));
        if (c < 0) {
          bad++;
          return;
        }
        for (int k = 0; k < 5; ++k) {
          std::string m = std::to_string(i) + ":" + std::to_string(k);
          if (!write_all(c, m) || read_n(c, m.size()) != m) bad++;
        }
        io::close(c);
      }));
    for (auto& c : clients) c.join();
    acceptor.join();
    io::close(l);
  });
  EXPECT_EQ(bad.load(), 0);
}

TEST(Net, ManyAcceptorsOneWakeUpPerConnection) {
  // 16 tasks accept on one listener; connections come one at a time. Each
  // connection must wake one acceptor, not all of them: the others stay
  // parked (few task switches per connection).
  Runtime rt({.workers = 2});
  const int conns = 50;
  rt.run([&] {
    int l = net::listen_tcp("127.0.0.1", 0);
    std::atomic<int> accepted{0};
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 16; ++i)
      hs.push_back(spawn([&] {
        for (;;) {
          int c = io::accept(l, nullptr, nullptr);
          if (c < 0) return;  // closed: EBADF
          accepted++;
          io::close(c);
        }
      }));
    this_task::sleep_for(20ms);
    auto before = rt.stats().switches;
    for (int i = 0; i < conns; ++i) {
      int c = net::connect_tcp("127.0.0.1", net::local_port(l));
      ASSERT_GE(c, 0);
      while (accepted.load() <= i) this_task::sleep_for(1ms);
      io::close(c);
    }
    auto per_conn = double(rt.stats().switches - before) / conns;
    io::close(l);
    for (auto& h : hs) h.join();
    EXPECT_EQ(accepted.load(), conns);
    // This task sleeps ~1-2 times and one acceptor runs once or twice per
    // connection; a herd would be 16 or more.
    EXPECT_LT(per_conn, 8) << "task switches per connection: acceptors are woken in a herd";
  });
}

TEST(Net, AcceptBacksOffWhenOutOfDescriptors) {
  Runtime rt({.workers = 1});
  rt.run([] {
    int l = net::listen_tcp("127.0.0.1", 0);
    int c = net::connect_tcp("127.0.0.1", net::local_port(l));
    ASSERT_GE(c, 0);
    rlimit old{};
    getrlimit(RLIMIT_NOFILE, &old);
    std::vector<int> filler;
    rlimit low = old;
    low.rlim_cur = 64;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int fd; (fd = ::dup(0)) >= 0;) filler.push_back(fd);
    auto t0 = std::chrono::steady_clock::now();
    int n = 0;
    for (; n < 5; ++n) {
      EXPECT_EQ(io::accept(l, nullptr, nullptr), -1);
      EXPECT_EQ(io::last_error(), EMFILE);
    }
    auto took = std::chrono::steady_clock::now() - t0;
    for (int fd : filler) ::close(fd);
    setrlimit(RLIMIT_NOFILE, &old);
    EXPECT_GE(took, 5 * io::kAcceptBackoff) << "accept at EMFILE should wait before it fails again";
    int a = io::accept(l, nullptr, nullptr);
    EXPECT_GE(a, 0) << "the queued connection survives the EMFILE spell";
    io::close(a), io::close(c), io::close(l);
  });
}

}  // namespace
