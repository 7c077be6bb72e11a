// Phase 5's io source: the keeper sleeps in epoll_wait, workers poll the
// epoll set, idle workers run the idle callbacks (detail/io_source.hpp; this
// file replaces phase 4's; the design is in detail/poller.hpp).
#include <green/detail/unimplemented.hpp>
#include <green/detail/poller.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

#include <unistd.h>

#include <ctime>

namespace green::detail {

std::shared_ptr<void> make_io_source(RuntimeImpl& rt) { return std::make_shared<Poller>(rt); }
Poller* poller_of(RuntimeImpl& rt) noexcept { return static_cast<Poller*>(io_source_of(rt)); }

Poller* current_poller() noexcept {
  Worker* w = current_worker();
  return w ? poller_of(*w->rt) : nullptr;
}

bool io_pending(RuntimeImpl& rt) noexcept {
  // relaxed: read by the deadlock watch with every worker parked, as a hint
  // it confirms over kDeadlockCheck.
  return poller_of(rt)->waiting.load(std::memory_order_relaxed) > 0 || blocking_in_flight() > 0;
}

// CLOCK_MONOTONIC_COARSE: a few ns, ticks every 1-4 ms; enough for "200 us
// have passed" to mean "at least 200 us, at most a tick more".
[[maybe_unused]] static std::int64_t coarse_now() noexcept {  // (unused in a starter tree)
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

static bool io_poll_now(Worker& w, bool idle);

bool io_poll(Worker& w, bool idle) {
  // BEGIN SOLUTION
  // A busy worker comes here after every task it ran: 15 times in 16 this
  // costs one thread-local increment (the yield check of the grader sees it).
  // The poll is out of line, so this fast path saves no registers.
  thread_local unsigned switches = 0;
  if (!idle && (++switches & 15) != 0) return false;
  // END SOLUTION
  return io_poll_now(w, idle);
}

[[gnu::noinline]] static bool io_poll_now(Worker& w, bool idle) {
  Poller& p = *poller_of(*w.rt);
  bool made = false;
  // BEGIN SOLUTION
  // relaxed: a hint. A task that starts waiting after this load is seen by
  // the next poll, or by the keeper, which blocks in epoll_wait regardless.
  if (p.waiting.load(std::memory_order_relaxed) > 0) {
    if (!idle) {
      Poller::Busy& b = p.busy[w.index];
      std::int64_t now = coarse_now();
      if (now < b.next) return false;
      b.next = now + 200'000;
    }
    made = p.poll(0, false);
  }
  // STUB: (void)p;
  // STUB: unimplemented("phase 5: io_poll (io_source.cpp) is yours to write");
  // END SOLUTION
  // Idle callbacks: once each time a worker runs out of work, before it
  // sleeps. What they spawn, park()'s look at the queues finds.
  if (idle && !made && !p.idle.empty()) p.idle.run();
  return made;
}

bool io_sleep(Worker& w, std::int64_t until) {
  cut_timer_slack();
  // BEGIN SOLUTION
  return poller_of(*w.rt)->poll(until, true);
  // STUB: (void)w, (void)until;
  // STUB: unimplemented("phase 5: io_sleep (io_source.cpp): the keeper's epoll_wait is yours to write");
  // END SOLUTION
}

void io_wake(Worker&, void* io) noexcept {
  std::uint64_t one = 1;
  // The eventfd stays readable until the keeper drains it, so a wake that
  // comes before the keeper's epoll_wait is not lost.
  [[maybe_unused]] ssize_t r = ::write(static_cast<Poller*>(io)->evfd, &one, sizeof one);
}

}  // namespace green::detail
