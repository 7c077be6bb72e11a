// Spawning: the one path every scheduler uses, and green::spawn.
#pragma once
#include <green/detail/unimplemented.hpp>
#include <green/detail/dispatcher.hpp>
#include <green/detail/task.hpp>
#include <green/task_handle.hpp>

#include <stdexcept>

namespace green {
namespace detail {
template <class F>
TaskHandle spawn_on(Scheduler& s, F&& f, const SpawnOptions& opts) {
  PreemptOff no_preempt;  // the block cache and the run queue it uses are this thread's
  Task* t = make_task(s, std::forward<F>(f), opts);
  s.on_task_spawned(t);
  mark_runnable(t, Ready::Spawn);
  s.submit(t);
  return TaskHandle(t);
}
}  // namespace detail

// Spawns f on the calling task's own scheduler. Outside a task: std::logic_error.
template <class F>
TaskHandle spawn(F&& f, SpawnOptions opts = {}) {
  detail::Task* self = detail::current_task();
  // BEGIN SOLUTION
  if (!self) throw std::logic_error("green::spawn: called outside a task (use a scheduler's or runtime's spawn)");
  // STUB: if (!self) detail::unimplemented("stage 1: green::spawn outside a task must throw std::logic_error");
  // END SOLUTION
  return detail::spawn_on(*self->extra().sched, std::forward<F>(f), opts);
}

}  // namespace green
