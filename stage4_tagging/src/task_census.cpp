// The task census (detail/task_census.hpp) through the task-block registry:
// every live task of the scheduler, by state. Replaces stage 2's, which
// could find no tasks.
#include <green/detail/block_registry.hpp>
#include <green/detail/task.hpp>
#include <green/detail/task_census.hpp>

namespace green::detail {

void count_tasks(const Scheduler& s, RuntimeStats& out) noexcept {
  struct Census {
    const Scheduler* s;
    RuntimeStats* out;
  } c{&s, &out};
  for_each_task(
      [](Task* t, void* arg) GREEN_RACY_READER {
        auto* c = static_cast<Census*>(arg);
        if (t->extra().sched != c->s) return;
        switch (t->state()) {
          case TaskState::Ready: ++c->out->runnable; break;
          case TaskState::Running: ++c->out->running; break;
          case TaskState::Waiting: ++c->out->waiting; break;
          case TaskState::Done: break;
        }
      },
      &c);
}

void forget_tasks(const Scheduler& s) noexcept {
  // No task of s runs any more (its workers have stopped): these writes race
  // with nothing but a dump's reads.
  for_each_task(
      [](Task* t, void* arg) {
        if (t->extra().sched == arg) t->extra().live = 0;
      },
      const_cast<Scheduler*>(&s));
}

}  // namespace green::detail
