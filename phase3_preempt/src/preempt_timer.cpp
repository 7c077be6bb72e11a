// Timer-signal preemption: the timers. (The overview is at the top of
// preempt.cpp.)
//
// Each worker thread owns a POSIX timer that sends it (and only it:
// SIGEV_THREAD_ID) the signal every time slice while the worker is awake:
// preempt_start creates it when the worker starts. A worker that sleeps for
// lack of work (the worker hooks, worker_hooks.cpp) keeps it running at
// first: the first tick that finds it asleep disarms it (idle_tick), and
// the wake re-arms it only then. So an idle runtime takes one tick per
// worker and then no signals and no CPU, and a worker that sleeps for less
// than a slice, as a server's does between two batches of requests (echo:
// thousands of times a second), makes no system call for its timer at all.
// (Disarming at every sleep and arming at every wake took three
// timer_settime calls a sleep, 5-10% of the calls a loopback echo server
// made.) The handler counts slices in these ticks.
//
// The clock: CLOCK_MONOTONIC. A CPU-time clock would charge only the time
// the worker actually ran, but the kernel checks CPU-time timers only at its
// scheduler tick (1-4 ms), far too coarse for a 1 ms or 50 us slice.
//
// The retry timer. A tick that wanted to preempt but found no safe point
// (safe_points.cpp) owes the preemption, and arms a second, one-shot timer
// a quarter slice ahead (within 50 us..1 ms): code that spends most of its
// time in libc, or a tick that landed in the runtime's own code, then costs
// a fraction of a slice, not a whole one. The regular timer is never
// re-armed for this: its ticks stay a clock in slices, which is what
// preempt_stats().ticks counts.
#include <green/detail/os_locks.hpp>
#include <green/detail/preempt.hpp>
#include <green/detail/preempt_internal.hpp>
#include <green/detail/runtime_impl.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <unistd.h>

namespace green::detail {

constinit thread_local PreemptState tl_state;
constinit PreemptCounters g_counters;

namespace {

void arm(PreemptState& ps) noexcept {
  ps.seen_switches = ~0ull;  // the first tick after (re)arming never preempts
  timer_settime(ps.timer, 0, &ps.slice, nullptr);
}

}  // namespace

void owe(PreemptState& ps) noexcept {
  set_preempt_pending(1);
  g_counters.deferred.fetch_add(1, std::memory_order_relaxed);
  timer_settime(ps.retry_timer, 0, &ps.retry, nullptr);
}

void preempt_start(Worker& w) {
  auto slice = w.rt->time_slice;
  if (slice.count() <= 0) return;
  PreemptState& ps = tl_state;
  RangeTable* ranges = make_ranges(w.rt->preemptible_libraries);
  if (!ranges) return;  // cooperative only (make_ranges said why)
  os_locks_init();
  handler_start(ps);
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = kSignal;
  ev._sigev_un._tid = gettid();  // glibc 2.36 has no sigev_notify_thread_id
  auto make = [&](timer_t* t, int which) {
    ev.sigev_value.sival_int = which;
    return timer_create(CLOCK_MONOTONIC, &ev, t) == 0;
  };
  bool ok = make(&ps.timer, kRegular);
  if (ok && !make(&ps.retry_timer, kRetry)) {
    timer_delete(ps.timer);
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "green: worker %u cannot run a preemption timer (%s); it stays cooperative\n", w.index,
                 std::strerror(errno));
    free_ranges(ranges);
    return;
  }
  long us = static_cast<long>(slice.count());
  ps.slice.it_value = ps.slice.it_interval = timespec{us / 1'000'000, (us % 1'000'000) * 1000};
  long retry_us = std::clamp(us / 4, 50L, 1000L);
  ps.retry.it_value = timespec{0, retry_us * 1000};  // one shot
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, kSignal);
  pthread_sigmask(SIG_UNBLOCK, &s, nullptr);  // the thread that made the runtime may have blocked it
  ps.ranges = ranges;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the state is complete before the handler may use it
  ps.worker = &w;
  arm(ps);
}

void preempt_pause() noexcept {
  PreemptState& ps = tl_state;
  if (!ps.worker) return;
  ps.sleeping = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // a tick from here on sees it (idle_tick)
}

// A tick while the worker sleeps: the first one stops the timers until
// preempt_resume. On the worker's thread, in its handler.
void idle_tick(PreemptState& ps) noexcept {
  if (ps.disarmed) return;  // a retry or a late tick that was already queued
  itimerspec off{};
  timer_settime(ps.timer, 0, &off, nullptr);
  timer_settime(ps.retry_timer, 0, &off, nullptr);
  ps.disarmed = true;
}

void preempt_resume() noexcept {
  PreemptState& ps = tl_state;
  if (!ps.worker) return;
  ps.sleeping = false;
  // A tick before the fence may still disarm; one after it finds the worker
  // awake. So disarmed is read after the last tick that could set it.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (ps.disarmed) {
    ps.disarmed = false;
    arm(ps);
  }
}

void preempt_stop() noexcept {
  PreemptState& ps = tl_state;
  if (!ps.worker) return;
  ps.worker = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the handler stops before the timer goes
  timer_delete(ps.timer);
  timer_delete(ps.retry_timer);
  free_ranges(std::exchange(ps.ranges, nullptr));
}

PreemptStats preempt_stats() noexcept {
  const PreemptCounters& c = g_counters;
  return {c.ticks.load(std::memory_order_relaxed), c.retries.load(std::memory_order_relaxed),
          c.preemptions.load(std::memory_order_relaxed), c.deferred.load(std::memory_order_relaxed)};
}

}  // namespace green::detail
