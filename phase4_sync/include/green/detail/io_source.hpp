// The keeper's sleep, and the I/O it may wait on: the seam between the timers
// (phase 4) and the poller (phase 5).
//
// One idle worker, the keeper, sleeps until the earliest timer deadline
// (event_source.cpp). Phase 4 has no I/O, so its keeper sleeps on its futex
// word (src/io_source.cpp). Phase 5 replaces that one file: its keeper sleeps
// in epoll_wait, and whatever readiness it collects unparks tasks. The rest of
// the keeper's protocol (who keeps, the Dekker pair with arm_timer, the
// deadlock watch) does not change.
#pragma once
#include <cstdint>
#include <memory>

namespace green::detail {

class RuntimeImpl;
struct Worker;

// The runtime's I/O state; nullptr when the stage polls no I/O. Made once,
// with the runtime's other event sources, freed with them.
std::shared_ptr<void> make_io_source(RuntimeImpl& rt);
// Non-blocking look at the I/O (a busy worker between tasks, idle: the worker
// is about to sleep). True if it made work (unparked a task).
bool io_poll(Worker& w, bool idle);
// The keeper sleeps until `until` (now_ns() units; kNever: untimed), or until
// io_wake(w) or I/O wakes it. It returns early, at any time, and may return
// without a reason (the caller loops). True: I/O made work.
bool io_sleep(Worker& w, std::int64_t until);
// Ends the keeper's io_sleep, or the next one if it is not asleep yet (the
// caller changed w.wake first). io is the runtime's io source, copied by the
// caller: w's runtime may be gone once w.wake has changed, so this must not
// read w's fields.
void io_wake(Worker& w, void* io) noexcept;
// Are tasks waiting on I/O? Then an all-blocked runtime is not deadlocked.
bool io_pending(RuntimeImpl& rt) noexcept;
// The runtime's io source (make_io_source's), or nullptr.
void* io_source_of(RuntimeImpl& rt) noexcept;
// The kernel adds its timer slack (50 us by default) to a timed sleep: the
// keeper cuts its thread's to 1 ns before its first sleep (timers.cpp).
void cut_timer_slack() noexcept;

}  // namespace green::detail
