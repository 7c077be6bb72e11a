// What bench/echo and bench/http share: a server in a forked child process,
// the CPU time and resident memory of a process, a client socket, and the
// file descriptor limit. Plain POSIX: the measuring side never runs on green.
#pragma once
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

namespace loopback {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Raises the soft limit on file descriptors to the hard one (10,000 idle
// connections need 10,000 on each side); returns the soft limit now.
inline long raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur == RLIM_INFINITY ? 1L << 20 : static_cast<long>(r.rlim_cur);
}

// CPU time (user + system) a whole process has used, from /proc/<pid>/stat, in
// seconds (clock-tick resolution: 10 ms); -1 if it cannot be read.
inline double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::size_t paren = all.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream in(all.substr(paren + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU time the calling thread has used, in seconds.
inline double thread_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// VmRSS of a process, in bytes (/proc/<pid>/status); -1 if it cannot be read.
inline double rss_bytes(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  return -1;
}

// A connected TCP socket to 127.0.0.1:port (a blocking connect), with
// TCP_NODELAY; -1 on error.
inline int connect_loopback(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The server side of ForkedServer: a child tells its parent the port it
// listens on through the pipe it was given.
inline void report_port(int port_fd, std::uint16_t port) {
  if (write(port_fd, &port, sizeof port) != sizeof port) _exit(3);
  close(port_fd);
}

// A server in a child process: fork, then serve(port_fd) in the child, which
// listens, calls report_port(port_fd, port) and serves until it is killed
// (SIGKILL from the destructor, its parent's death, or 300 s at the latest).
// Fork before any green::Runtime exists in the parent: its threads would not
// follow into the child.
class ForkedServer {
 public:
  template <class Serve>
  explicit ForkedServer(Serve serve) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      alarm(300);
      serve(p[1]);
      _exit(0);
    }
    close(p[1]);
    pollfd pf{p[0], POLLIN, 0};
    if (pid_ > 0 && poll(&pf, 1, 10'000) == 1 && read(p[0], &port_, sizeof port_) != sizeof port_) port_ = 0;
    close(p[0]);
  }
  ~ForkedServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ForkedServer(const ForkedServer&) = delete;
  ForkedServer& operator=(const ForkedServer&) = delete;

  bool ok() const { return port_ != 0; }
  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A bench program's main: with a first argument that is not an option, it is
// a measuring instrument for a peer's server (instrument(argc, argv)); else
// the Google Benchmark program.
inline int bench_main(int argc, char** argv, int (*instrument)(int, char**)) {
  if (argc > 1 && argv[1][0] != '-') return instrument(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace loopback
