// io::: blocking-style calls that park the task instead of its worker. See
// include/green/io.hpp for the contract and detail/poller.hpp for the design.
#include <green/detail/unimplemented.hpp>
#include <green/detail/dispatcher.hpp>
#include <green/detail/poller.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/detail/timers.hpp>
#include <green/io.hpp>
#include <green/sleep.hpp>
#include <green/this_task.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <thread>

namespace green::detail {
namespace {

constexpr int kRead = 0, kWrite = 1;

// A reference on s for one call (see poller.hpp, "Closing"). A call that
// finds a close under way waits until it is done, then goes on: it reaches
// the system call, which reports EBADF (or the number's next user's answer,
// the caller's race as with the bare system calls).
class InFlight {
 public:
  explicit InFlight(FdState& s) : s_(s) {
    // acquire: pairs with close's release when it clears kClosing (we see the
    // reset state).
    while (s_.refs.fetch_add(FdState::kRef, std::memory_order_acquire) & FdState::kClosing) {
      // relaxed: we touched nothing under the reference; close waits for the count only.
      s_.refs.fetch_sub(FdState::kRef, std::memory_order_relaxed);
      while (s_.refs.load(std::memory_order_acquire) & FdState::kClosing) pause_a_little(0);
    }
    seq = s_.seq.load(std::memory_order_relaxed);  // written by close before it cleared kClosing
  }
  ~InFlight() { s_.refs.fetch_sub(FdState::kRef, std::memory_order_release); }  // pairs with close's acquire
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  std::uint32_t seq;

  // Waiting for another thread's close or calls: yield first, then sleep.
  static void pause_a_little(int round) {
    if (round < 64 && current_task()) this_task::yield();
    else if (round < 64) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

 private:
  FdState& s_;
};

[[maybe_unused]] bool closing(FdState& s, std::uint32_t seq) noexcept {  // (unused in a starter tree)
  // acquire: pairs with close's fetch_or (seen through the word it then set).
  return (s.refs.load(std::memory_order_acquire) & FdState::kClosing) ||
         s.seq.load(std::memory_order_relaxed) != seq;
}

// Makes s ready for calls from a task of p's runtime: the kind decides how
// every call on the fd goes. fd 0-2 and what epoll refuses stay plain.
FdState::Kind prepare(FdState& s, int fd, Poller& p, std::uint32_t seq) {
  // acquire: pairs with the release store that settled the kind (socket, owner).
  FdState::Kind k = s.kind.load(std::memory_order_acquire);
  while (k == FdState::kNew || k == FdState::kPreparing) {
    if (k == FdState::kPreparing) {  // another call is preparing it: a few syscalls
      k = s.kind.load(std::memory_order_acquire);
      continue;
    }
    if (!s.kind.compare_exchange_weak(k, FdState::kPreparing, std::memory_order_acquire)) continue;
    struct stat st;
    if (fd > 2 && fstat(fd, &st) < 0) {  // not open: this call fails, and the number stays new
      s.kind.store(FdState::kNew, std::memory_order_release);
      return FdState::kPlain;
    }
    k = FdState::kPlain;
    s.stream = false;
    s.drained.store(false, std::memory_order_relaxed);  // published by the kind's release store
    s.ask_always.store(false, std::memory_order_relaxed);
    if (fd > 2 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode)) {
      int fl = fcntl(fd, F_GETFL);
      if (fl >= 0 && ((fl & O_NONBLOCK) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)) {
        if (p.add(fd, seq)) {
          k = FdState::kPolled;
          s.owner = &p;
        } else if (!(fl & O_NONBLOCK)) {
          fcntl(fd, F_SETFL, fl);  // epoll refused it: a plain blocking call, as it was
        }
      }
      s.socket = S_ISSOCK(st.st_mode);
      int type = 0;
      socklen_t len = sizeof type;
      s.stream = s.socket && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
    }
    s.kind.store(k, std::memory_order_release);  // pairs with the acquire loads above
  }
  return k;
}

struct WaitTimer : Timer {
  FdState* s;
  int dir;
  Task* task;
};

// Parks the calling task until s's word dir shows an edge (0), the deadline
// passes (ETIMEDOUT) or a close wakes it (EBADF). The caller holds s.turn[dir].
int wait_edge(FdState& s, int dir, std::uint32_t seq, std::int64_t deadline) {
  // BEGIN SOLUTION
  std::atomic<std::uintptr_t>& word = s.word[dir];
  Poller& p = *s.owner;
  for (;;) {
    if (closing(s, seq)) return EBADF;
    // acquire: pairs with set_ready's release (the edge, or the close).
    std::uintptr_t v = word.load(std::memory_order_acquire);
    if (v == FdState::kReady) {
      if (word.compare_exchange_strong(v, FdState::kIdle, std::memory_order_acquire)) {
        // An edge consumed: data may have come, so the next read asks (call()).
        // relaxed: a hint for this fd's next read, ordered after the edge by our acquire CAS.
        if (dir == kRead) s.drained.store(false, std::memory_order_relaxed);
        return 0;
      }
      continue;
    }
    if (deadline != kNever && now_ns() >= deadline) return ETIMEDOUT;
    Task* self = current_task();
    WaitTimer t;
    bool timed = deadline != kNever;
    {
      // Announced (the CAS), then parked, with nothing in between that could
      // switch us out (TaskWordCell's invariant); an unpark that comes first
      // is kept by the task word's woken bit.
      PreemptOff no_preempt;
      // relaxed: a hint for the pollers (see io_poll) and the deadlock watch.
      p.waiting.fetch_add(1, std::memory_order_relaxed);
      std::uintptr_t idle = FdState::kIdle;
      // release: set_ready's acquire exchange sees our task; a timer's CAS too.
      if (!word.compare_exchange_strong(idle, reinterpret_cast<std::uintptr_t>(self), std::memory_order_release,
                                        std::memory_order_relaxed)) {
        p.waiting.fetch_sub(1, std::memory_order_relaxed);
        continue;  // an edge came meanwhile
      }
      if (timed) {
        t.deadline = deadline;
        t.s = &s, t.dir = dir, t.task = self;
        t.fire = [](Timer* tm) {
          auto* wt = static_cast<WaitTimer*>(tm);
          std::uintptr_t me = reinterpret_cast<std::uintptr_t>(wt->task);
          // relaxed: the wake-up is the unpark; the waiter re-reads the word.
          if (wt->s->word[wt->dir].compare_exchange_strong(me, FdState::kIdle, std::memory_order_relaxed))
            unpark(wt->task);
        };
        arm_timer(*current_worker(), &t);
      }
      park_current(nullptr, nullptr);
    }
    p.waiting.fetch_sub(1, std::memory_order_relaxed);
    if (timed && t.heap) t.heap->cancel(&t);
  }
  // STUB: (void)s, (void)dir, (void)seq, (void)deadline;
  // STUB: unimplemented("phase 5: wait_edge (io.cpp): parking on an fd's readiness word is yours to write");
  // END SOLUTION
}

// The calling thread's way: poll(2) until ready or the timeout (ms, -1: none).
bool thread_wait(int fd, int dir, int timeout_ms) {
  pollfd pfd{fd, static_cast<short>(dir == kRead ? POLLIN : POLLOUT), 0};
  for (;;) {
    int r = ::poll(&pfd, 1, timeout_ms);
    if (r >= 0) return r > 0;
    if (errno != EINTR) return true;  // the next call reports it
  }
}

// The caller's poller and fd's state: {nullptr, nullptr} outside a task of a
// runtime (a plain thread, a LocalScheduler task), whose calls block.
struct Lookup {
  Poller* p;
  FdState* s;
};
Lookup lookup(int fd) noexcept {
  Poller* p = current_poller();
  return {p, p ? fd_table().get(fd) : nullptr};
}

// A task's reads and sends, made as bare system calls. glibc's read, recv
// and send are cancellation points: in a multi-threaded process each wraps
// its system call in two updates of the thread's cancellation state (a
// locked CAS each), which a worker thread, never cancelled, does not need.
// (A plain thread's calls stay glibc's: its owner may cancel it.) A socket
// is read with recv, which goes straight to the socket; read goes through
// the file layer first (its position lock, its permission and notify hooks).
// The sanitizers keep the libc calls: ASan checks the buffer there, and TSan
// learns from them the order that data sent through an fd makes.
ssize_t sys_read(int fd, void* buf, std::size_t n) noexcept {
#if GREEN_ASAN || GREEN_TSAN
  return ::read(fd, buf, n);
#else
  return ::syscall(SYS_read, fd, buf, n);
#endif
}

ssize_t sys_recv(int fd, void* buf, std::size_t n) noexcept {
#if GREEN_ASAN || GREEN_TSAN
  return ::recv(fd, buf, n, 0);
#else
  return ::syscall(SYS_recvfrom, fd, buf, n, 0, nullptr, nullptr);
#endif
}

ssize_t sys_send(int fd, const void* buf, std::size_t n) noexcept {
#if GREEN_ASAN || GREEN_TSAN
  return ::send(fd, buf, n, MSG_NOSIGNAL);
#else
  return ::syscall(SYS_sendto, fd, buf, n, MSG_NOSIGNAL, nullptr, 0);
#endif
}

// The shape of every call: op() is the system call (result < 0: errno).
// Retried on EINTR; on EAGAIN the task waits its turn and then an edge.
//
// want: for a read, the bytes asked for. A stream socket whose last read
// came back short held no more data then, so unless an edge has come since
// (the word is not idle), this read would only say EAGAIN: it waits for the
// edge first. A request/response server saves a third of its system calls
// (read, write, read-EAGAIN becomes read, write). No edge is missed: data
// that arrives after that short read raises one (the fd was harvested, or
// is still on epoll's ready list), and an edge harvested with nobody
// waiting left the word ready, which sends this read the usual way, and an
// edge consumed by a wait (wait_readable's, say) clears drained. But an
// end of file or an error that came before the short read was announced by
// an edge already (coalesced with the data's), and a read stops short at an
// urgent mark: once an edge has said any of these (FdState::ask_always),
// every read asks. Not for datagram or message sockets (one message per
// read), pipes or ttys (a line per read): there a short read says nothing
// about what is left.
//
// p and s: the caller's poller and fd's state (lookup()); s is nullptr for a
// plain thread or an fd beyond the table.
template <class Op>
auto call(Poller* p, FdState* s, int fd, int dir, Op op, std::size_t want = 0) -> decltype(op()) {
  if (!s) {  // a plain thread (or an fd beyond the table): the system call, blocking
    for (;;) {
      auto r = op();
      if (r >= 0) return r;
      int e = task_errno();
      if (e == EINTR) continue;
      if ((e != EAGAIN && e != EWOULDBLOCK) || !thread_wait(fd, dir, -1)) return r;
    }
  }
  InFlight in(*s);
  FdState::Kind k = prepare(*s, fd, *p, in.seq);
  const bool stream = want && k == FdState::kPolled && s->stream;
  // relaxed: hints; wait_edge reads the word again (acquire) before it parks.
  bool wait_first = stream && s->drained.load(std::memory_order_relaxed) &&
                    !s->ask_always.load(std::memory_order_relaxed) &&
                    s->word[dir].load(std::memory_order_relaxed) == FdState::kIdle;
  std::unique_lock<Mutex> turn;
  for (;;) {
    if (!wait_first) {
      auto r = op();
      if (r >= 0) {
        // relaxed: a hint read by the next call (see above); it publishes nothing.
        if (stream) s->drained.store(r > 0 && static_cast<std::size_t>(r) < want, std::memory_order_relaxed);
        return r;
      }
      int e = task_errno();
      if (e == EINTR) continue;
      if ((e != EAGAIN && e != EWOULDBLOCK) || k != FdState::kPolled) return r;
    }
    wait_first = false;
    if (!turn) turn = std::unique_lock<Mutex>(s->turn[dir]);
    Waiting waiting(current_task(), dir == kRead ? "io read" : "io write", fd);
    if (int w = wait_edge(*s, dir, in.seq, kNever)) {
      set_task_errno(w);
      return -1;
    }
  }
}

// A write to a pipe (or anything but a socket, which send(MSG_NOSIGNAL)
// writes) that cannot raise SIGPIPE: blocked for the call, and a SIGPIPE it
// raised taken back.
ssize_t quiet_write(int fd, const void* buf, std::size_t n) {
  sigset_t pipe, old, pending;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r = ::write(fd, buf, n);
  int e = task_errno();
  if (r < 0 && e == EPIPE && !was_pending) {
    timespec zero{0, 0};
    sigtimedwait(&pipe, nullptr, &zero);  // ours: take it back
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  set_task_errno(e);
  return r;
}

bool wait_ready(int fd, int dir, std::chrono::milliseconds timeout) {
  std::int64_t ms = timeout.count();
  auto [p, s] = lookup(fd);
  if (!s) return thread_wait(fd, dir, ms < 0 ? -1 : ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms));
  std::int64_t deadline = ms < 0 ? kNever : now_ns() + ms * 1'000'000;
  InFlight in(*s);
  if (prepare(*s, fd, *p, in.seq) != FdState::kPolled) return true;  // a plain fd is always ready
  // The edge may have been consumed by a call that left data behind: ask.
  // Readable: the next read asks too (call(), drained), whatever came before.
  if (thread_wait(fd, dir, 0)) {
    if (dir == kRead) s->drained.store(false, std::memory_order_relaxed);  // relaxed: a hint, as in call()
    return true;
  }
  if (ms == 0) return false;
  std::lock_guard turn(s->turn[dir]);
  Waiting waiting(current_task(), dir == kRead ? "io readable" : "io writable", fd);
  return wait_edge(*s, dir, in.seq, deadline) != ETIMEDOUT;
}

}  // namespace
}  // namespace green::detail

namespace green::io {
using namespace green::detail;

int last_error() noexcept { return task_errno(); }

ssize_t read(int fd, void* buf, std::size_t n) {
  Lookup at = lookup(fd);
  FdState* s = at.s;
  return call(at.p, s, fd, kRead, [&] {
    return !s ? ::read(fd, buf, n) : s->socket ? sys_recv(fd, buf, n) : sys_read(fd, buf, n);
  }, n);
}

ssize_t write(int fd, const void* buf, std::size_t n) {
  Lookup at = lookup(fd);
  FdState* s = at.s;
  // A thread does not know the fd: send first, and a pipe's ENOTSOCK says which.
  int how = -1;  // -1 unknown, 0 pipe or file, 1 socket
  return call(at.p, s, fd, kWrite, [&]() -> ssize_t {
    if (s && how < 0) how = s->socket;  // settled by prepare, before the first op
    if (how != 0) {
      ssize_t r = s ? sys_send(fd, buf, n) : ::send(fd, buf, n, MSG_NOSIGNAL);
      if (r >= 0 || task_errno() != ENOTSOCK) return r;
      how = 0;
    }
    return quiet_write(fd, buf, n);
  });
}

int accept(int listen_fd, sockaddr* addr, socklen_t* len) {
  for (;;) {
    Lookup at = lookup(listen_fd);
    int fd = call(at.p, at.s, listen_fd, kRead, [&] { return ::accept4(listen_fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC); });
    if (fd >= 0) {
      // Go's default: small replies go out at once (fails harmlessly off TCP).
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    int e = task_errno();
    if (e == ECONNABORTED) continue;  // the peer gave up first: the next one
    if (e == EMFILE || e == ENFILE) {
      // Out of descriptors: the connection stays queued. Back off, so that a
      // loop that retries does not spin while it lasts.
      this_task::sleep_for(kAcceptBackoff);
      set_task_errno(e);
    }
    return -1;
  }
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  Lookup at = lookup(fd);
  int r = call(at.p, at.s, fd, kWrite, [&] {
    int c = ::connect(fd, addr, len);
    // Under way: not a failure to retry (EAGAIN would retry the connect; a
    // retried connect after EINTR says EALREADY).
    if (c < 0 && (task_errno() == EINTR || task_errno() == EALREADY)) set_task_errno(EINPROGRESS);
    return c;
  });
  if (r == 0 || task_errno() != EINPROGRESS) return r;
  // In progress: wait until writable, then ask how it went.
  wait_ready(fd, kWrite, std::chrono::milliseconds(-1));
  int err = 0;
  socklen_t n = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0) return -1;
  if (err) {
    set_task_errno(err);
    return -1;
  }
  return 0;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) { return wait_ready(fd, kRead, timeout); }
bool wait_writable(int fd, std::chrono::milliseconds timeout) { return wait_ready(fd, kWrite, timeout); }

int close(int fd) {
  FdState* s = fd_table().get(fd);
  if (!s) return ::close(fd);
  // BEGIN SOLUTION
  std::uint32_t seq = s->seq.load(std::memory_order_relaxed);
  // acq_rel: acquire pairs with the calls' release of their references and
  // with an earlier close's release of kClosing; release publishes kClosing.
  for (int round = 0; s->refs.fetch_or(FdState::kClosing, std::memory_order_acq_rel) & FdState::kClosing; ++round)
    InFlight::pause_a_little(round);  // another close of the same fd: let it finish
  if (s->seq.load(std::memory_order_relaxed) != seq) {  // it did: the number is not ours now
    s->refs.fetch_and(~FdState::kClosing, std::memory_order_release);
    set_task_errno(EBADF);
    return -1;
  }
  set_ready(*s, kRead);  // the waiters see kClosing and fail with EBADF
  set_ready(*s, kWrite);
  for (int round = 0; s->refs.load(std::memory_order_acquire) >= FdState::kRef; ++round)
    InFlight::pause_a_little(round);
  // No call on the fd is left, and new ones wait: reset the state, then let
  // the number go. Closing removes the registration unless the file is still
  // open elsewhere (dup, fork): remove it ourselves.
  if (s->kind.load(std::memory_order_acquire) == FdState::kPolled)
    epoll_ctl(s->owner->epfd, EPOLL_CTL_DEL, fd, nullptr);
  s->seq.store(seq + 1, std::memory_order_relaxed);  // published by the release below
  s->word[kRead].store(FdState::kIdle, std::memory_order_relaxed);
  s->word[kWrite].store(FdState::kIdle, std::memory_order_relaxed);
  s->owner = nullptr;
  s->kind.store(FdState::kNew, std::memory_order_relaxed);
  int r = ::close(fd);  // never retried: Linux releases the number even on EINTR
  int e = task_errno();
  // release: pairs with InFlight's and the next close's acquire.
  s->refs.fetch_and(~FdState::kClosing, std::memory_order_release);
  set_task_errno(e);
  return r;
  // STUB: unimplemented("phase 5: io::close (io.cpp): closing safely under waiting tasks is yours to write");
  // END SOLUTION
}

}  // namespace green::io
