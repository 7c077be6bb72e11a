// net::: TCP helpers over io:: (see include/green/io.hpp). Names are resolved
// with getaddrinfo, which blocks: through blocking(), so a task parks meanwhile.
#include <green/blocking.hpp>
#include <green/detail/poller.hpp>
#include <green/io.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace green::net {
using detail::set_task_errno;
using detail::task_errno;

namespace {

struct AddrInfoFree {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};
using AddrList = std::unique_ptr<addrinfo, AddrInfoFree>;

// host:port as socket addresses, TCP. A numeric host needs no lookup; a
// name goes through blocking(). nullptr on error, with errno (EAI_* mapped).
AddrList resolve(const char* host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV;
  char serv[8];
  std::snprintf(serv, sizeof serv, "%u", port);
  in6_addr probe;
  bool numeric = inet_pton(AF_INET, host, &probe) == 1 || inet_pton(AF_INET6, host, &probe) == 1;
  if (numeric) hints.ai_flags |= AI_NUMERICHOST;
  addrinfo* res = nullptr;
  int rc = numeric ? getaddrinfo(host, serv, &hints, &res)
                   : blocking([&] { return getaddrinfo(host, serv, &hints, &res); });
  if (rc != 0) {
    set_task_errno(rc == EAI_SYSTEM ? task_errno() : rc == EAI_MEMORY ? ENOMEM : EHOSTUNREACH);
    return nullptr;
  }
  return AddrList(res);
}

int bind_listen(int family, const sockaddr* a, socklen_t len, int backlog) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -1;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (::bind(fd, a, len) == 0 && ::listen(fd, backlog) == 0) return fd;
  int e = task_errno();
  ::close(fd);
  set_task_errno(e);
  return -1;
}

}  // namespace

int listen_tcp(const char* host, std::uint16_t port, int backlog) {
  if (!host || !*host || std::strcmp(host, "::") == 0) {
    // Every address: one dual-stack socket, or IPv4 alone where IPv6 is off.
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons(port);
    int fd = bind_listen(AF_INET6, reinterpret_cast<sockaddr*>(&a6), sizeof a6, backlog);
    if (fd >= 0 || task_errno() != EAFNOSUPPORT) return fd;
    sockaddr_in a4{};
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    a4.sin_port = htons(port);
    return bind_listen(AF_INET, reinterpret_cast<sockaddr*>(&a4), sizeof a4, backlog);
  }
  AddrList list = resolve(host, port, true);
  if (!list) return -1;
  int e = EADDRNOTAVAIL;
  for (addrinfo* a = list.get(); a; a = a->ai_next) {
    int fd = bind_listen(a->ai_family, a->ai_addr, a->ai_addrlen, backlog);
    if (fd >= 0) return fd;
    e = task_errno();
  }
  set_task_errno(e);
  return -1;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  set_task_errno(EAFNOSUPPORT);
  return 0;
}

int connect_tcp(const char* host, std::uint16_t port) {
  if (!host || !*host) {
    set_task_errno(EINVAL);
    return -1;
  }
  AddrList list = resolve(host, port, false);
  if (!list) return -1;
  int e = ECONNREFUSED;
  for (addrinfo* a = list.get(); a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      e = task_errno();
      continue;
    }
    if (io::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    e = task_errno();
    io::close(fd);
  }
  set_task_errno(e);
  return -1;
}

}  // namespace green::net
