// echo_server: a TCP echo server with one green task per connection.
//
// What it shows: with phase 5 a server is written the simple way, one task per
// connection running a plain loop of blocking-style calls, and it still serves
// thousands of connections on a few worker threads. io::read and io::write
// park the *task* (not the worker thread) until the socket is ready, and the
// worker runs other tasks meanwhile; the runtime's poller (epoll) wakes the
// task when the kernel says the socket is readable or writable.
//
//   echo_server [port [workers [host]]]
//
// port 0 (the default) takes any free port; the port it listens on is always
// the first line it prints. workers 0 (the default) is one per CPU; host
// defaults to 127.0.0.1 (loopback only). Try it:
//
//   ./echo_server 7000 &   then   nc 127.0.0.1 7000
#include <green/green.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Writes all n bytes: a write may take fewer than asked (the socket's send
// buffer is full), and then parks the task until there is room again.
bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = green::io::write(fd, p, n);
    if (w < 0) return false;  // the peer reset the connection (EPIPE, ECONNRESET)
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// One connection: read up to 4 KiB, write it back, until the peer closes.
void serve(int fd) {
  // On the task's stack: 4 KiB of its 16 KiB (a small stack). Those pages
  // stay resident while the task waits, ~8.7 KB per idle connection in all.
  // A server holding many idle connections can wait in io::wait_readable on a
  // 2 KiB stack and take a heap buffer only when data has come: ~2.6 KB
  // (phase5_io/bench/echo.cpp, BM_IdleConnMemory's lean variant).
  char buf[4096];
  for (;;) {
    ssize_t n = green::io::read(fd, buf, sizeof buf);  // parks until data or EOF
    if (n <= 0) break;  // 0: the peer closed its side; -1: an error (io::last_error())
    if (!write_all(fd, buf, static_cast<std::size_t>(n))) break;
  }
  green::io::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  const char* host = argc > 3 ? argv[3] : "127.0.0.1";

  green::Runtime rt({.workers = workers});
  return rt.run([&] {
    int listen_fd = green::net::listen_tcp(host, port);
    if (listen_fd < 0) {
      std::fprintf(stderr, "echo_server: cannot listen on %s:%u: %s\n", host, port,
                   std::strerror(green::io::last_error()));
      return 1;
    }
    std::printf("%u\n", green::net::local_port(listen_fd));
    std::fflush(stdout);  // whoever started us may be waiting for the port
    for (;;) {
      int fd = green::io::accept(listen_fd, nullptr, nullptr);  // parks until a client comes
      if (fd < 0) {
        // Out of file descriptors (EMFILE), say: wait a little for connections
        // to end rather than spinning on the same error.
        std::fprintf(stderr, "echo_server: accept: %s\n", std::strerror(green::io::last_error()));
        green::this_task::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      // A task per connection. A small stack (16 KiB by default, of which
      // only the pages it touches become resident) is plenty for serve().
      green::spawn([fd] { serve(fd); }, {.small_stack = true}).detach();
    }
  });
}
