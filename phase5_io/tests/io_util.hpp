// Helpers for phase 5's tests: fd pairs, a loopback listener, raw bytes.
#pragma once
#include <green/green.hpp>
#include <sync_util.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace green::test {

// A connected pair of stream sockets (AF_UNIX), CLOEXEC, blocking: io::
// makes them non-blocking on first use.
inline std::pair<int, int> socket_pair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0) << std::strerror(errno);
  return {sv[0], sv[1]};
}

// A pipe: {read end, write end}.
inline std::pair<int, int> make_pipe() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0) << std::strerror(errno);
  return {p[0], p[1]};
}

// Writes all of s through io::write (a task parks while the fd is full), at
// most 64 KiB a call: under Valgrind, checking a 4 MiB buffer before the
// system call outlasts a preemption tick, so every try ends in EINTR.
inline bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = io::write(fd, s.data() + done, std::min<std::size_t>(s.size() - done, 64 << 10));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly n bytes through io::read; fewer at end of file or error.
inline std::string read_n(int fd, std::size_t n) {
  std::string s(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = io::read(fd, s.data() + done, std::min<std::size_t>(n - done, 64 << 10));  // (see write_all)
    if (r <= 0) break;
    done += static_cast<std::size_t>(r);
  }
  s.resize(done);
  return s;
}

}  // namespace green::test
