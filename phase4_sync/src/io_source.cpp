// Phase 4 polls no I/O: the keeper sleeps on its futex word until the next
// deadline (see detail/io_source.hpp; phase 5 replaces this file).
#include <green/detail/futex.hpp>
#include <green/detail/io_source.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

namespace green::detail {

std::shared_ptr<void> make_io_source(RuntimeImpl&) { return nullptr; }
bool io_poll(Worker&, bool) { return false; }
bool io_pending(RuntimeImpl&) noexcept { return false; }

bool io_sleep(Worker& w, std::int64_t until) {
  cut_timer_slack();
  timespec ts = to_timespec(until);
  futex_wait(w.wake, 0, until == kNever ? nullptr : &ts);
  return false;
}

void io_wake(Worker& w, void*) noexcept { futex_wake(w.wake); }

}  // namespace green::detail
