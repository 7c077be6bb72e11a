// Waiting for a task to end. On one thread there is no race: the joiner
// records itself in the task's joiner slot and parks; the end of the task
// (notify_done, from Dispatcher::run) unparks it.
#include <green/detail/task.hpp>

namespace green::detail {

void wait_until_done(Task* self, Task* t) {
  if (t->state() == TaskState::Done) return;
  if (!self) return t->extra().sched->wait_from_thread(t);
  t->extra().join.joiner = self;
  Waiting waiting(self, "join", static_cast<std::int64_t>(t->extra().id));
  park_current(nullptr, nullptr);
}

void notify_done(Task* t) noexcept {
  if (Task* j = t->extra().join.joiner) unpark(j);
}

}  // namespace green::detail
