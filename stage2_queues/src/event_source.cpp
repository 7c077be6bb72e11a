// Stage 2's event sources: none (see detail/event_source.hpp).
#include <green/detail/event_source.hpp>
#include <green/detail/futex.hpp>
#include <green/detail/runtime_impl.hpp>

namespace green::detail {

void attach_event_sources(RuntimeImpl&) {}
bool poll_events(Worker&, bool) { return false; }
bool steal_events(Worker&) { return false; }
bool events_waiting_sc(Worker&) { return false; }

bool idle_wait(Worker& w) noexcept {
  wait_until_picked(w);
  return true;
}

bool abandoned(RuntimeImpl&) noexcept { return false; }

void idle_wake(Worker& w) noexcept {
  w.wake.store(1, std::memory_order_release);  // pairs with idle_wait's acquire
  futex_wake(w.wake);
}

}  // namespace green::detail
