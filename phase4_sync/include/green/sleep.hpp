// this_task::sleep_for and sleep_until (phase 4).
//
// In a task of a Runtime the task parks on its worker's timer heap and the
// worker runs other tasks meanwhile. Anywhere else (a plain thread, a
// LocalScheduler task, which has no event sources) the calling thread sleeps.
// Never early: the sleep ends at or after the deadline, by the given clock.
#pragma once
#include <chrono>
#include <cstdint>
#include <thread>

namespace green {
namespace detail {
// Until steady_clock's time_since_epoch() reaches `deadline` ns.
void sleep_until_steady_ns(std::int64_t deadline);

// d in nanoseconds, rounded up, saturating an hour short of overflowing when
// added to a steady_clock time: a sleep of duration::max() lasts "forever".
template <class Rep, class Period>
std::int64_t saturated_ns(std::chrono::duration<Rep, Period> d) {
  using namespace std::chrono;
  constexpr nanoseconds kCap = nanoseconds::max() / 2;
  if (d >= duration_cast<duration<Rep, Period>>(kCap)) return kCap.count();
  return ceil<nanoseconds>(d).count();
}
}  // namespace detail

namespace this_task {

template <class Clock, class Dur>
void sleep_until(std::chrono::time_point<Clock, Dur> tp) {
  using std::chrono::steady_clock;
  if constexpr (std::is_same_v<Clock, steady_clock>) {
    detail::sleep_until_steady_ns(detail::saturated_ns(tp.time_since_epoch()));
  } else {
    // Another clock (system_clock may jump): sleep on the steady clock for the
    // time left by that clock, until that clock says the time has come.
    for (auto now = Clock::now(); now < tp; now = Clock::now()) {
      detail::sleep_until_steady_ns(steady_clock::now().time_since_epoch().count() + detail::saturated_ns(tp - now));
    }
  }
}

template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) return;
  detail::sleep_until_steady_ns(std::chrono::steady_clock::now().time_since_epoch().count() + detail::saturated_ns(d));
}

}  // namespace this_task
}  // namespace green
