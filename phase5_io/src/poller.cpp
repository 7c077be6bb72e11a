// The poller's machinery: the fd table, the epoll set, dispatching events.
// See include/green/detail/poller.hpp for the design.
#include <green/detail/dispatcher.hpp>
#include <green/detail/poller.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace green::detail {

constinit FdTable g_fd_table;

FdState* FdTable::make_chunk(int fd) {
  std::atomic<FdState*>& c = chunks_[fd / kChunk];
  FdState* s = nullptr;
  auto* made = new FdState[kChunk];
  // acq_rel: release publishes the constructed states to get's acquire load;
  // acquire, on failure: we read the states another thread made.
  if (c.compare_exchange_strong(s, made, std::memory_order_acq_rel, std::memory_order_acquire))
    s = made;
  else
    delete[] made;  // another thread made it first; s is theirs
  return &s[fd % kChunk];
}

int task_errno() noexcept { return *errno_location(); }
void set_task_errno(int e) noexcept { *errno_location() = e; }

Poller::Poller(RuntimeImpl& r) : rt(r), busy(new Busy[r.nworkers()]) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: readable until the keeper drains it
  ev.data.u64 = ~0ull;
  if (epfd < 0 || evfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) < 0) {
    int e = errno;
    if (epfd >= 0) ::close(epfd);
    if (evfd >= 0) ::close(evfd);
    throw std::system_error(e, std::generic_category(), "green: the runtime's epoll set");
  }
}

Poller::~Poller() {
  // Closing epfd drops every registration in it: fds this runtime polled are
  // prepared again (by another runtime) on their next call.
  fd_table().each_made([this](int, FdState& s) {
    if (s.owner == this && s.kind.load(std::memory_order_acquire) == FdState::kPolled) {
      s.owner = nullptr;
      s.kind.store(FdState::kNew, std::memory_order_release);
    }
  });
  ::close(epfd);
  ::close(evfd);
}

bool Poller::add(int fd, std::uint32_t seq) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;  // PRI: FdState::ask_always
  ev.data.u64 = static_cast<std::uint64_t>(seq) << 32 | static_cast<std::uint32_t>(fd);
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

// Asks the CPU for the lines that resuming t touches first: its saved frame
// and the frames just above it (wait_edge's, the io:: call's, the caller's
// locals), and its TaskRun. A server with a task per connection resumes a
// different stack for every event, and an event batch wakes many tasks at
// once, which run one after another: by the time each runs, its lines have
// come in. At 1,000 connections an echo server missed the caches some seven
// times a round trip (callgrind's cache model), most of them resuming the
// task, and ran 13% faster with this (HANDOUT 8.8).
//
// t parked itself (its Task* is in a word); on another worker it may still
// be switching out, so its saved sp may be the previous one: a prefetch of
// a stale address is harmless. An asm statement, not __builtin_prefetch:
// GCC 12 dropped those, with their address loaded from memory, once inlined
// here.
static void prefetch_resume(const Task* t) noexcept {
  constexpr std::size_t kResumeBytes = 640;  // from the saved sp up: ten lines
  auto line = [](const void* p) { asm volatile("prefetcht0 (%0)" : : "r"(p)); };
  if (!t->run) return;  // not started: ctx holds no stack pointer
  const void* sp = context_sp(t->ctx);
  for (std::size_t at = 0; at < kResumeBytes; at += 64) line(static_cast<const char*>(sp) + at);
  line(t->run);
}

bool set_ready(FdState& s, int dir) noexcept {
  // acq_rel: release publishes what came before the edge (or the close's
  // kClosing) to the waiter's acquire load of the word; acquire pairs with
  // the waiter's CAS that put its Task* there.
  std::uintptr_t old = s.word[dir].exchange(FdState::kReady, std::memory_order_acq_rel);
  if (old <= FdState::kReady) return false;
  prefetch_resume(reinterpret_cast<Task*>(old));
  unpark(reinterpret_cast<Task*>(old));
  return true;
}

// An edge for a word: set_ready, unless the word is ready already. Nearly
// every event of a busy socket says "writable" too, and that word stays
// ready while nobody writes into a full buffer: a load, not a locked
// exchange. relaxed: the word became kReady before the data behind this
// event came (a waiter consumes the edge, then makes the call that finds
// nothing, then parks), so a load after the event cannot find an older
// kReady; a kReady it finds is newer, and the waiter has yet to consume it.
static bool edge(FdState& s, int dir) noexcept {
  return s.word[dir].load(std::memory_order_relaxed) != FdState::kReady && set_ready(s, dir);
}

bool Poller::poll(std::int64_t until, bool keeper) {
  epoll_event evs[128];
  int n;
  const std::uint64_t since = until > 0 && tracing() ? trace_now() : 0;  // the trace's poll span
  if (until <= 0) {
    n = epoll_wait(epfd, evs, 128, 0);
  } else if (until == kNever) {
    n = epoll_wait(epfd, evs, 128, -1);
  } else {
    std::int64_t left = until - now_ns();
    if (left < 0) left = 0;
    timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    n = epoll_pwait2(epfd, evs, 128, &ts, nullptr);
    if (n < 0 && errno == ENOSYS)  // before Linux 5.11: whole milliseconds, rounded up
      n = epoll_wait(epfd, evs, 128, static_cast<int>((left + 999'999) / 1'000'000));
  }
  const std::uint64_t found = n > 0 && tracing() ? trace_now() : 0;
  bool made = false;
  for (int i = 0; i < n; ++i) {
    std::uint64_t tag = evs[i].data.u64;
    if (tag == ~0ull) {  // the eventfd: io_wake
      if (keeper) {
        std::uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(evfd, &v, sizeof v);
      }
      continue;
    }
    FdState* s = fd_table().get(static_cast<int>(tag & 0xffffffff));
    // relaxed: a stale event for a reused number costs its new waiter one
    // retried call at worst; the tag only keeps most of them out.
    if (!s || s->seq.load(std::memory_order_relaxed) != static_cast<std::uint32_t>(tag >> 32)) continue;
    std::uint32_t e = evs[i].events;
    // relaxed: published to the reader by set_ready's release (io.cpp, call).
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) s->ask_always.store(true, std::memory_order_relaxed);
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) made |= edge(*s, 0);
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) made |= edge(*s, 1);
  }
  // A blocking poll, or one that found events: a span that holds the
  // unparks it caused.
  if ((since || found) && tracing()) trace_span(TraceKind::Poll, n > 0 ? n : 0, since ? since : found, trace_now());
  return made;
}

}  // namespace green::detail
