// Sleeping tasks: a timer whose fire unparks the task. See include/green/sleep.hpp.
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>
#include <green/sleep.hpp>

#include <thread>

namespace green::detail {

namespace {
struct SleepTimer : Timer {
  Task* task = nullptr;
};
}  // namespace

void sleep_until_steady_ns(std::int64_t deadline) {
  // BEGIN SOLUTION
  if (deadline <= now_ns()) return;
  if (!current_worker()) {  // a thread sleeps; so does a LocalScheduler task (no timers there)
    std::this_thread::sleep_until(Clock::time_point(Clock::duration(deadline)));
    return;
  }
  SleepTimer st;
  st.deadline = deadline;
  st.fire = [](Timer* t) { unpark(static_cast<SleepTimer*>(t)->task); };
  {
    // Announced (armed), then parked, with nothing in between that could
    // switch us out (TaskWordCell's invariant): the worker is ours until the
    // park, and the timer may fire first (the woken bit keeps it).
    PreemptOff no_preempt;
    st.task = current_task();
    Waiting waiting(st.task, "sleep", 0);
    arm_timer(*current_worker(), &st);
    park_current(nullptr, nullptr);
  }
  // STUB: (void)deadline;
  // STUB: unimplemented("phase 4: sleep_until_steady_ns (sleep.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
