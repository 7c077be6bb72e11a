// net:: and io::accept/connect over TCP on loopback: IPv4, IPv6 and names,
// many connections, one wake-up per connection among many acceptors,
// refused connections, and accept's EMFILE back-off.
#include <io_util.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <dirent.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

// Not under Valgrind: it keeps its own descriptor limit.
TEST(NetNoValgrind, AcceptBacksOffWhenOutOfDescriptors) {
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

// An echo server task on l: a task per connection, until l is closed.
TaskHandle serve_echo(int l) {
  return spawn([l] {
    std::vector<TaskHandle> conns;
    for (int c; (c = io::accept(l, nullptr, nullptr)) >= 0;)
      conns.push_back(spawn([c] {
        char buf[4096];
        for (ssize_t n; (n = io::read(c, buf, sizeof buf)) > 0;)
          if (!write_all(c, std::string(buf, static_cast<std::size_t>(n)))) break;
        io::close(c);
      }, {.small_stack = true}));
    for (auto& h : conns) h.join();
  });
}

TEST(Net, TwoHundredClientsHundredMessagesEachChecked) {
  Runtime rt({.workers = 2});
  const int clients = 200, msgs = static_cast<int>(green::test::scaled(100, 5));
  std::atomic<int> bad{0};
  rt.run([&] {
    int l = net::listen_tcp("127.0.0.1", 0);
    ASSERT_GE(l, 0);
    auto server = serve_echo(l);
    std::vector<TaskHandle> hs;
    for (int i = 0; i < clients; ++i)
      hs.push_back(spawn([&, i] {
        int c = net::connect_tcp("127.0.0.1", net::local_port(l));
        if (c < 0) return void(bad++);
        for (int k = 0; k < msgs; ++k) {
          std::string m = "client " + std::to_string(i) + " message " + std::to_string(k) + ";";
          if (!write_all(c, m) || read_n(c, m.size()) != m) bad++;
        }
        io::close(c);
      }));
    for (auto& h : hs) h.join();
    io::close(l);
    server.join();
  });
  EXPECT_EQ(bad.load(), 0) << "messages lost, garbled or crossed between connections";
}

TEST(NetNoValgrind, TenThousandConcurrentConnections) {
  // 10,000 connections open at once, each doing round trips while all the
  // others are open. The clients are a forked plain process (blocking
  // sockets, no green), so each side needs 10,000 descriptors, not 20,000.
  const int conns = static_cast<int>(green::test::scaled(10000, 100));
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  rlimit want = lim;
  want.rlim_cur = lim.rlim_max;
  if (lim.rlim_max < static_cast<rlim_t>(conns) + 200 || setrlimit(RLIMIT_NOFILE, &want) != 0)
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit " << lim.rlim_max << " is below " << conns + 200
                 << " (raise it with ulimit -Hn)";
  Runtime rt({.workers = 2});
  std::atomic<int> open{0}, most{0}, bad{0};
  int status = -1;
  rt.run([&] {
    int l = net::listen_tcp("127.0.0.1", 0, 4096);
    ASSERT_GE(l, 0);
    std::uint16_t port = net::local_port(l);
    auto server = spawn([&] {
      std::vector<TaskHandle> hs;
      for (int c; (c = io::accept(l, nullptr, nullptr)) >= 0;)
        hs.push_back(spawn([&, c] {
          int now = ++open;
          for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {}
          char buf[64];
          for (ssize_t n; (n = io::read(c, buf, sizeof buf)) > 0;)
            if (io::write(c, buf, static_cast<std::size_t>(n)) != n) bad++;
          --open;
          io::close(c);
        }, {.small_stack = true}));
      for (auto& h : hs) h.join();
    });
    std::vector<int> fds(static_cast<std::size_t>(conns));  // allocated before the fork
    pid_t pid = fork();
    if (pid == 0) {  // the clients: every connection first, then 3 rounds over all of them
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      for (int& fd : fds)
        if ((fd = ::socket(AF_INET, SOCK_STREAM, 0)) < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a))
          _exit(1);
      for (int round = 0; round < 3; ++round)
        for (int i = 0; i < conns; ++i) {
          int out[2] = {i, round}, in[2] = {-1, -1};
          if (::write(fds[i], out, sizeof out) != sizeof out) _exit(2);
          if (::recv(fds[i], in, sizeof in, MSG_WAITALL) != sizeof in || in[0] != i || in[1] != round) _exit(3);
        }
      _exit(0);
    }
    ASSERT_GT(pid, 0);
    status = blocking([pid] {
      int st = -1;
      waitpid(pid, &st, 0);
      return st;
    });
    io::close(l);
    server.join();
  });
  setrlimit(RLIMIT_NOFILE, &lim);
  ASSERT_TRUE(WIFEXITED(status)) << "the client process died";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "client exit 1: a connect failed; 2, 3: a round trip failed";
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(most.load(), conns) << "every connection should have been open at once";
}

TEST(Net, ResetHalfCloseAndPeerClose) {
  Runtime rt({.workers = 2});
  rt.run([] {
    int l = net::listen_tcp("127.0.0.1", 0);
    std::uint16_t port = net::local_port(l);
    // Half-close: the client shuts its writing side; the server reads 0 and
    // still answers; the client reads the answer, then 0.
    {
      auto server = spawn([l] {
        int c = io::accept(l, nullptr, nullptr);
        std::string got;
        char buf[64];
        for (ssize_t n; (n = io::read(c, buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
        EXPECT_EQ(got, "question") << "the server should read everything, then 0 (end of file)";
        EXPECT_TRUE(write_all(c, "answer"));
        io::close(c);
      });
      int c = net::connect_tcp("127.0.0.1", port);
      EXPECT_TRUE(write_all(c, "question"));
      ASSERT_EQ(::shutdown(c, SHUT_WR), 0);
      EXPECT_EQ(read_n(c, 64), "answer") << "after our half-close the peer can still write to us";
      char x;
      EXPECT_EQ(io::read(c, &x, 1), 0) << "the peer closed: read returns 0";
      server.join();
      io::close(c);
    }
    // Reset: the client closes with SO_LINGER 0 while the server is parked in
    // a read: the read fails with ECONNRESET (or returns 0), it does not hang.
    {
      auto server = spawn([l] {
        int c = io::accept(l, nullptr, nullptr);
        char buf[16];
        ssize_t n = io::read(c, buf, sizeof buf);
        int e = io::last_error();
        EXPECT_TRUE(n == 0 || (n == -1 && e == ECONNRESET)) << "n " << n << " errno " << e;
        if (n < 0) {
          EXPECT_EQ(io::write(c, "x", 1), -1) << "writing to a reset connection fails";
        }
        io::close(c);
      });
      int c = net::connect_tcp("127.0.0.1", port);
      this_task::sleep_for(10ms);  // the server parks in its read
      linger lg{1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      io::close(c);  // RST
      server.join();
    }
    io::close(l);
  });
}

// Open descriptors of this process.
int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

TEST(Net, NoDescriptorLeaks) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.run([] {
      int l = net::listen_tcp("127.0.0.1", 0);
      auto server = serve_echo(l);
      for (int i = 0; i < 100; ++i) {
        int c = net::connect_tcp("localhost", net::local_port(l));
        ASSERT_GE(c, 0);
        EXPECT_TRUE(write_all(c, "ping"));
        EXPECT_EQ(read_n(c, 4), "ping");
        io::close(c);
      }
      EXPECT_EQ(net::connect_tcp("127.0.0.1", 1), -1);  // refused: its socket is closed too
      io::close(l);
      server.join();
    });
  }
  EXPECT_EQ(open_fds(), before) << "descriptors left open after the runtime and every connection closed";
}

}  // namespace
