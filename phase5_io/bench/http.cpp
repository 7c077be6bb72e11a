// HTTP/1.1 keep-alive "hello" under wrk (PEER-WORKLOADS.md section 15):
// `wrk -t1 -cC -d5s --latency http://127.0.0.1:PORT/`, C = 100 and 1000,
// against green's server in a forked child process.
//
// The server is examples/http_server.cpp's request loop cut to its hot path:
// a task per connection reads, answers every whole request head in its
// buffer (pipelining) with "hello" (text/plain, Content-Length; 404 for
// another target), writes the answers in one write, and closes on
// "Connection: close". Go's peer (grader/peers/go: net/http, GOMAXPROCS=2)
// answers "/" the same way, plus a Date header.
//
//   BM_Http/workers:W/conns:C  req_per_s (wrk's Requests/sec), p99_ms (its
//                         99% latency), errors (socket errors + non-2xx or
//                         3xx responses), client_cores (wrk's CPU, from its
//                         rusage) and server_cores (/proc/<pid>/stat), both
//                         over the run. Skipped with a message if wrk is not
//                         installed (apt-get install wrk).
//
// The same measurement serves the peers:
//   http wrk PORT CONNS PID     prints req_per_s= p99_ms= errors= client_cores= server_cores=
#include <green/green.hpp>

#include <benchmark/benchmark.h>
#include <loopback.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

using loopback::Clock;
using namespace std::chrono_literals;

// ---- The server ----------------------------------------------------------------

constexpr std::string_view kHello =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
constexpr std::string_view kNotFound =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n";

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = green::io::write(fd, s.data(), s.size());
    if (w < 0) return false;
    s.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

void serve_http(int fd) {
  std::string in, out;
  bool open = true;
  while (open) {
    std::size_t old = in.size();
    in.resize(old + 4096);
    ssize_t n = green::io::read(fd, in.data() + old, 4096);
    in.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
    if (n <= 0) break;
    std::size_t start = 0;
    for (std::size_t end; (end = in.find("\r\n\r\n", start)) != std::string::npos; start = end + 4) {
      std::string_view head(in.data() + start, end - start);
      out += head.starts_with("GET / ") ? kHello : kNotFound;
      if (head.find("\r\nConnection: close") != std::string_view::npos) {
        open = false;
        break;
      }
    }
    in.erase(0, start);
    if (!write_all(fd, out) || in.size() > 64 * 1024) break;
    out.clear();
  }
  green::io::close(fd);
}

void green_http_server(int port_fd, unsigned workers) {
  green::Runtime rt({.workers = workers});
  rt.run([port_fd] {
    int lfd = green::net::listen_tcp("127.0.0.1", 0);
    if (lfd < 0) _exit(2);
    loopback::report_port(port_fd, green::net::local_port(lfd));
    for (;;) {
      int fd = green::io::accept(lfd, nullptr, nullptr);
      if (fd < 0) {
        green::this_task::sleep_for(1ms);
        continue;
      }
      green::spawn([fd] { serve_http(fd); }, {.small_stack = true}).detach();
    }
  });
}

// ---- wrk ---------------------------------------------------------------------

struct Wrk {
  double req_per_s = 0, p99_ms = 0, errors = 0, client_cores = 0, server_cores = 0;
  std::string problem;  // why there are no figures
};

// The number that follows `label` (and blanks) in text, from `from` on; found
// is cleared if the label is missing. *end, if given, gets where it ended.
double number(const std::string& text, const std::string& label, bool* found, std::size_t from = 0,
              std::size_t* end = nullptr) {
  std::size_t at = text.find(label, from);
  if (at == std::string::npos) return *found = false, 0;
  const char* p = text.c_str() + at + label.size();
  char* e = nullptr;
  double v = std::strtod(p, &e);
  if (e == p) return *found = false, 0;
  if (end) *end = static_cast<std::size_t>(e - text.c_str());
  return v;
}

// Runs wrk against 127.0.0.1:port for `seconds`, and reads its report.
Wrk run_wrk(std::uint16_t port, int conns, int seconds, pid_t server) {
  Wrk r;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return r.problem = "pipe failed", r;
  std::string c = "-c" + std::to_string(conns), d = "-d" + std::to_string(seconds) + "s",
              url = "http://127.0.0.1:" + std::to_string(port) + "/";
  double server0 = loopback::process_cpu_s(server);
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    execlp("wrk", "wrk", "-t1", c.c_str(), d.c_str(), "--latency", url.c_str(), nullptr);
    _exit(127);
  }
  close(p[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double elapsed = loopback::seconds_since(t0);
  r.server_cores = (loopback::process_cpu_s(server) - server0) / elapsed;
  r.client_cores = (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) / elapsed;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return r.problem = "wrk is not installed (apt-get install wrk)", r;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return r.problem = "wrk failed: " + text, r;

  bool found = true;
  r.req_per_s = number(text, "Requests/sec:", &found);
  std::size_t end = 0;  // "     99%    5.12ms": us, ms or s
  r.p99_ms = number(text, " 99%", &found, 0, &end);
  if (found) {
    std::string unit = text.substr(end, 2);
    r.p99_ms *= unit == "us" ? 1e-3 : unit == "ms" ? 1 : 1e3;
  }
  if (!found) return r.problem = "unexpected wrk output: " + text, r;
  // Absent lines mean none of these ("Socket errors: connect 0, read 0, ...").
  bool any = true;
  std::size_t errs = text.find("Socket errors:");
  if (errs != std::string::npos) {
    std::string line = text.substr(errs, text.find('\n', errs) - errs);
    for (const char* kind : {"connect ", "read ", "write ", "timeout "}) {
      double e = number(line, kind, &any);
      r.errors += any ? e : 0;
      any = true;
    }
  }
  double non2xx = number(text, "Non-2xx or 3xx responses:", &any);
  r.errors += any ? non2xx : 0;
  return r;
}

// ---- Benchmarks ----------------------------------------------------------------

void BM_Http(benchmark::State& state) {
  auto workers = static_cast<unsigned>(state.range(0));
  int conns = static_cast<int>(state.range(1));
  loopback::raise_fd_limit();
  for (auto _ : state) {
    loopback::ForkedServer server([workers](int fd) { green_http_server(fd, workers); });
    if (!server.ok()) {
      state.SkipWithError("the server did not start");
      break;
    }
    Wrk w = run_wrk(server.port(), conns, 5, server.pid());
    if (!w.problem.empty()) {
      state.SkipWithError(w.problem.c_str());
      break;
    }
    state.counters["req_per_s"] = w.req_per_s;
    state.counters["p99_ms"] = w.p99_ms;
    state.counters["errors"] = w.errors;
    state.counters["client_cores"] = w.client_cores;
    state.counters["server_cores"] = w.server_cores;
  }
}
BENCHMARK(BM_Http)->ArgNames({"workers", "conns"})->ArgsProduct({{1, 2}, {100, 1000}})
    ->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// `http wrk PORT CONNS PID`: the measurement alone, for the peers.
int instrument(int argc, char** argv) {
  if (argc != 5 || std::string_view(argv[1]) != "wrk") {
    std::fprintf(stderr, "usage: %s wrk PORT CONNS SERVER_PID\n", argv[0]);
    return 2;
  }
  loopback::raise_fd_limit();
  Wrk w = run_wrk(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atoi(argv[3]), 5,
                  static_cast<pid_t>(std::atoi(argv[4])));
  if (!w.problem.empty()) {
    std::fprintf(stderr, "http wrk: %s\n", w.problem.c_str());
    return 1;
  }
  std::printf("req_per_s=%.0f p99_ms=%.3f errors=%.0f client_cores=%.3f server_cores=%.3f\n", w.req_per_s,
              w.p99_ms, w.errors, w.client_cores, w.server_cores);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return loopback::bench_main(argc, argv, instrument); }
