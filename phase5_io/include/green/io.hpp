// Blocking-style I/O for tasks (DESIGN.md 3.4, 5).
//
// Each call is the system call of the same name, with three differences in a
// task: where the call would block (EAGAIN), the task parks on the fd's
// readiness until the poller sees it ready, and its worker runs other tasks
// meanwhile; EINTR is retried (close excepted); and nothing raises SIGPIPE
// (a write to a closed peer fails with EPIPE). Outside a task (a plain thread)
// they block the thread, like the system calls. Results are the system
// calls': -1 and errno on error.
//
// A task may move to another worker thread while it is parked, and errno is
// per thread: the runtime gives the task its own errno back, but the compiler
// may have kept the address of the old thread's errno across the call (GCC
// does). io::last_error() always reads the right one.
//
// The fds these calls touch are made non-blocking (except 0, 1 and 2, which
// the process shares with others, and regular files, which epoll refuses:
// those are plain blocking calls). io::close wakes every task waiting on the
// fd with EBADF and closes the fd once no call on it is in flight.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>

#include <sys/socket.h>
#include <sys/types.h>

namespace green {
namespace io {

int last_error() noexcept;  // errno of this task's last failed io:: call
ssize_t read(int fd, void* buf, std::size_t n);
ssize_t write(int fd, const void* buf, std::size_t n);
int close(int fd);                                         // waiting tasks wake with EBADF
int accept(int listen_fd, sockaddr* addr, socklen_t* len);  // non-blocking, CLOEXEC result
int connect(int fd, const sockaddr* addr, socklen_t len);
// False: timed out (never early). True: ready, or in error (the next call
// reports it). A negative timeout waits for ever.
bool wait_readable(int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
bool wait_writable(int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));

// accept() out of descriptors (EMFILE, ENFILE) waits this long before it
// returns the error, so that an accept loop does not spin while it lasts.
inline constexpr std::chrono::milliseconds kAcceptBackoff{10};

}  // namespace io

namespace net {  // -1 and errno on error, like io

// A listening TCP socket (non-blocking, CLOEXEC, SO_REUSEADDR). host: an IPv4
// or IPv6 address or a host name (resolved through blocking()); nullptr, ""
// or "::" listen on every address, IPv4 and IPv6. port 0: any free port.
int listen_tcp(const char* host, std::uint16_t port, int backlog = 1024);
std::uint16_t local_port(int fd);  // the port fd is bound to; 0 and errno on error
// A connected TCP socket to host:port (every address host resolves to, in
// order, until one connects), TCP_NODELAY set.
int connect_tcp(const char* host, std::uint16_t port);

}  // namespace net
}  // namespace green
