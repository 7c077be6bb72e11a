// http_server: a small HTTP/1.1 server with one green task per connection.
//
// What it shows: a connection's whole life is one plain loop (read until a
// request is complete, answer it, repeat), written as if each call blocked;
// keep-alive and pipelining fall out of that loop. The task parks in io::read
// and io::write, and the worker thread runs other connections meanwhile. It
// also shows the two other ways phase 5 waits:
//   - io::wait_readable with a timeout: a keep-alive connection that stays
//     silent for a minute is closed;
//   - green::blocking for files: epoll refuses regular files (they are always
//     "ready", yet a read from a cold disk blocks), so the open and the reads
//     run on a helper thread while the task parks.
//
//   http_server [port [workers [static_dir]]]
//
// port 0 (the default) takes any free port; the port it listens on is always
// the first line it prints. workers 0 (the default) is one per CPU. It
// listens on 127.0.0.1 only. Routes (GET and HEAD):
//   /                  "Hello, world!\n" (text/plain)
//   /static/<path>     the file static_dir/<path>; a path with a ".." segment
//                      gets 403, a missing file 404
// Anything else is 404, another method 405, a malformed request 400 (and the
// connection is closed). HTTP/1.1 connections stay open unless the request
// says "Connection: close"; HTTP/1.0 ones close unless it says "keep-alive".
//
//   ./http_server 8080 2 /usr/share/doc &   curl -v http://127.0.0.1:8080/
#include <green/green.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxHead = 16 * 1024;  // request line and headers
constexpr std::size_t kMaxBody = 1 << 20;    // a request body, read and ignored
constexpr auto kIdleTimeout = 60s;           // a silent keep-alive connection is closed
constexpr std::size_t kFileChunk = 64 * 1024;

std::string static_dir;  // empty: no static files (set once, before serving)

// ---- Parsing ----------------------------------------------------------------

struct Request {
  std::string_view method, target;  // point into the connection's input buffer
  int minor = 1;                    // HTTP/1.<minor>
  bool close = false;               // "Connection: close" (or HTTP/1.0 without keep-alive)
  std::size_t content_length = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated header value (Connection: keep-alive, Upgrade) hold token?
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// Where the request head ends (just past its empty line), or npos if the
// buffer does not hold a whole head yet. Lines end in CRLF; a bare LF is
// accepted too, as RFC 9112 allows.
std::size_t head_end(std::string_view in) {
  for (std::size_t i = in.find('\n'); i != std::string_view::npos; i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// Parses a request head into r. Returns 0, or the status to answer with
// before closing the connection: 400 for anything malformed, 501 for a
// transfer coding (we could not find where a chunked body ends).
int parse(std::string_view head, Request& r) {
  auto next_line = [&head] {
    std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  // The request line: METHOD SP target SP HTTP/1.x
  std::string_view line = next_line();
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return 400;
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (r.method.empty() || !std::all_of(r.method.begin(), r.method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return 400;
  if (r.target.empty() || r.target[0] != '/' ||
      !std::all_of(r.target.begin(), r.target.end(), [](char c) { return c > ' ' && c != 0x7f; }))
    return 400;
  if (version == "HTTP/1.1") r.minor = 1;
  else if (version == "HTTP/1.0") r.minor = 0;
  else return 400;

  // Headers: "Name: value", up to the empty line.
  bool host = false, keep_alive = false, seen_length = false;
  for (line = next_line(); !line.empty(); line = next_line()) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return 400;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (name.find_first_of(" \t") != std::string_view::npos) return 400;  // also obsolete line folding
    if (iequals(name, "Host")) {
      host = true;
    } else if (iequals(name, "Connection")) {
      r.close = r.close || has_token(value, "close");
      keep_alive = keep_alive || has_token(value, "keep-alive");
    } else if (iequals(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) return 400;
      std::size_t n = std::strtoull(std::string(value).c_str(), nullptr, 10);
      if (seen_length && n != r.content_length) return 400;  // two different lengths: ambiguous
      r.content_length = n;
      seen_length = true;
    } else if (iequals(name, "Transfer-Encoding")) {
      return 501;
    }
  }
  if (r.minor == 1 && !host) return 400;  // HTTP/1.1 requires Host (RFC 9112, 3.2)
  if (r.minor == 0 && !keep_alive) r.close = true;
  return 0;
}

// "/static/a%20b.txt" -> "a b.txt"; nullopt for a bad escape or a NUL.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return std::nullopt;
    char c = static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    if (c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

// Whether a path (already decoded) has a ".." segment: "a/../../etc/passwd".
bool climbs(std::string_view path) {
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    if (path.substr(0, slash) == "..") return true;
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return false;
}

std::string_view content_type(std::string_view path) {
  std::size_t dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot);
  if (iequals(ext, ".html") || iequals(ext, ".htm")) return "text/html; charset=utf-8";
  if (iequals(ext, ".txt")) return "text/plain; charset=utf-8";
  if (iequals(ext, ".css")) return "text/css; charset=utf-8";
  if (iequals(ext, ".js")) return "text/javascript; charset=utf-8";
  if (iequals(ext, ".json")) return "application/json";
  if (iequals(ext, ".png")) return "image/png";
  return "application/octet-stream";
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    default: return "Internal Server Error";
  }
}

// ---- One connection ---------------------------------------------------------

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}

  void serve() {
    for (;;) {
      // Answer every whole request the buffer holds (pipelining) before
      // reading more; their responses go out together in one write.
      std::size_t head = head_end(in_);
      if (head == std::string::npos) {
        if (in_.size() > kMaxHead) return fail(431);
        if (!flush() || !read_more()) break;  // the client left, or stayed silent
        continue;
      }
      Request req;
      if (int status = parse(std::string_view(in_).substr(0, head), req)) return fail(status);
      if (req.content_length > kMaxBody) return fail(413);
      bool whole = true;
      while (whole && in_.size() < head + req.content_length)  // the body, which we ignore
        whole = flush() && read_more();
      if (!whole) break;
      bool keep = answer(req);
      in_.erase(0, head + req.content_length);
      if (!keep) return close_gracefully();
    }
    green::io::close(fd_);
  }

 private:
  // Reads what has arrived (at least one byte) into in_. False: the peer
  // closed, an error, or nothing came for kIdleTimeout.
  bool read_more() {
    if (!green::io::wait_readable(fd_, kIdleTimeout)) return false;
    std::size_t old = in_.size();
    in_.resize(old + 4096);
    ssize_t n = green::io::read(fd_, in_.data() + old, 4096);
    in_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    return n > 0;
  }

  // Writes out_ whole: a write may take only part when the socket's buffer is
  // full, and parks the task until there is room again.
  bool flush() {
    std::size_t done = 0;
    while (done < out_.size()) {
      ssize_t w = green::io::write(fd_, out_.data() + done, out_.size() - done);
      if (w < 0) return false;  // EPIPE, ECONNRESET: the client is gone
      done += static_cast<std::size_t>(w);
    }
    out_.clear();
    return true;
  }

  void start_response(int status, std::size_t length, std::string_view type, bool close,
                      std::string_view extra = {}) {
    out_ += "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
    if (!type.empty()) out_.append("Content-Type: ").append(type).append("\r\n");
    out_ += "Content-Length: " + std::to_string(length) + "\r\n";
    if (close) out_ += "Connection: close\r\n";
    else if (minor_ == 0) out_ += "Connection: keep-alive\r\n";  // HTTP/1.0 must be told
    out_.append(extra);
    out_ += "\r\n";
  }

  void simple_response(int status, std::string_view body, bool close, bool head_only = false,
                       std::string_view type = "text/plain; charset=utf-8", std::string_view extra = {}) {
    start_response(status, body.size(), type, close, extra);
    if (!head_only) out_.append(body);
  }

  // Answers a request that has no body left to read. Returns whether the
  // connection stays open.
  bool answer(const Request& req) {
    minor_ = req.minor;
    bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
      simple_response(405, "Method Not Allowed\n", req.close, false, "text/plain; charset=utf-8",
                      "Allow: GET, HEAD\r\n");
      return !req.close;
    }
    std::string_view path = req.target.substr(0, req.target.find('?'));
    if (path == "/") {
      simple_response(200, "Hello, world!\n", req.close, head_only);
      return !req.close;
    }
    constexpr std::string_view kStatic = "/static/";
    if (path.substr(0, kStatic.size()) == kStatic) return send_file(req, path.substr(kStatic.size()), head_only);
    simple_response(404, "Not Found\n", req.close, head_only);
    return !req.close;
  }

  bool send_file(const Request& req, std::string_view encoded, bool head_only) {
    std::optional<std::string> rel = percent_decode(encoded);
    if (!rel) {
      simple_response(400, "Bad Request\n", true);
      return false;
    }
    if (climbs(*rel)) {  // decoded first: "%2e%2e/" is ".." too
      simple_response(403, "Forbidden\n", req.close, head_only);
      return !req.close;
    }
    // (A real server would also refuse symbolic links that lead out of the
    // directory: openat2 with RESOLVE_BENEATH.)
    struct Opened {
      int fd, error;
      off_t size;
    };
    Opened f{-1, ENOENT, 0};
    if (!static_dir.empty()) {
      std::string full = static_dir + "/" + *rel;
      f = green::blocking([&full] {  // open and fstat may wait for the disk
        Opened o{::open(full.c_str(), O_RDONLY | O_CLOEXEC), 0, 0};
        struct stat st;
        if (o.fd < 0) o.error = errno;
        else if (::fstat(o.fd, &st) != 0 || !S_ISREG(st.st_mode)) o.error = EISDIR;
        else o.size = st.st_size;
        if (o.error && o.fd >= 0) ::close(std::exchange(o.fd, -1));
        return o;
      });
    }
    if (f.fd < 0) {
      int status = f.error == EACCES ? 403 : f.error == ENOENT || f.error == ENOTDIR || f.error == EISDIR ? 404 : 500;
      simple_response(status, std::string(reason(status)) + "\n", req.close, head_only);
      return !req.close;
    }
    auto size = static_cast<std::size_t>(f.size);
    start_response(200, size, content_type(*rel), req.close);
    bool ok = true;
    if (!head_only) {
      // The body in chunks, each read on a helper thread, then written.
      std::string chunk(std::min(size, kFileChunk), '\0');
      for (std::size_t left = size; ok && left > 0;) {
        ssize_t n = green::blocking([&] { return ::read(f.fd, chunk.data(), std::min(left, chunk.size())); });
        // The file shrank (or failed) under us: the Content-Length we sent is
        // a lie now, so the connection must end.
        if (n <= 0) ok = false;
        else {
          out_.append(chunk.data(), static_cast<std::size_t>(n));
          left -= static_cast<std::size_t>(n);
          ok = flush();
        }
      }
    }
    ::close(f.fd);
    return ok && !req.close;
  }

  // A malformed request: answer with status and end the connection.
  void fail(int status) {
    simple_response(status, std::string(reason(status)) + "\n", true);
    close_gracefully();
  }

  // Closing a socket whose input holds unread bytes makes the kernel send a
  // reset, which can destroy the response before the client has read it. So
  // send what is left, shut our side down, and read (and drop) whatever the
  // client still sends, for at most a second, before closing.
  void close_gracefully() {
    if (flush()) {
      ::shutdown(fd_, SHUT_WR);
      auto deadline = std::chrono::steady_clock::now() + 1s;
      char drop[1024];
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms || !green::io::wait_readable(fd_, left) || green::io::read(fd_, drop, sizeof drop) <= 0) break;
      }
    }
    green::io::close(fd_);
  }

  int fd_;
  int minor_ = 1;         // the HTTP version of the request being answered
  std::string in_, out_;  // what was read and not yet handled; what to write
};

}  // namespace

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  if (argc > 3) {
    struct stat st;
    if (::stat(argv[3], &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "http_server: %s is not a directory\n", argv[3]);
      return 2;
    }
    static_dir = argv[3];
  }

  green::Runtime rt({.workers = workers});
  return rt.run([&] {
    int listen_fd = green::net::listen_tcp("127.0.0.1", port);
    if (listen_fd < 0) {
      std::fprintf(stderr, "http_server: cannot listen on port %u: %s\n", port,
                   std::strerror(green::io::last_error()));
      return 1;
    }
    std::printf("%u\n", green::net::local_port(listen_fd));
    std::fflush(stdout);  // whoever started us may be waiting for the port
    for (;;) {
      int fd = green::io::accept(listen_fd, nullptr, nullptr);
      if (fd < 0) {  // out of file descriptors, say: let connections end
        std::fprintf(stderr, "http_server: accept: %s\n", std::strerror(green::io::last_error()));
        green::this_task::sleep_for(10ms);
        continue;
      }
      green::spawn([fd] { Connection(fd).serve(); }).detach();
    }
  });
}
