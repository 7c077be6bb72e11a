// A join records its edge in phase 4's wait-for graph (detail/wait_graph.hpp)
// unless the task joined has already ended: then it will not block. A
// thread's join may also end because the task's runtime deadlocked
// (detail/deadlock.hpp): then finished() throws the report.
#include <green/detail/deadlock.hpp>
#include <green/detail/join_wait.hpp>
#include <green/mutex.hpp>
#include <green/detail/waiter.hpp>
#include <green/detail/wait_graph.hpp>

namespace green::detail {

JoinWait::JoinWait(Task* t) : task_(t) {
  // acquire: pairs with notify_done's release (as wait_until_done's loads).
  if (t->extra().join.load(std::memory_order_acquire).tag() == kJoinDone) return;
  wait_for_task(self_id(), t);
  recorded_ = true;
}

JoinWait::~JoinWait() {
  if (recorded_) wait_over(self_id());
}

void JoinWait::finished() {
  if (!recorded_ || current_task()) return;  // only threads' joins are ended for a deadlock
  std::string report = deadlock_report(*task_);
  if (!report.empty()) throw DeadlockError(report);
}

}  // namespace green::detail
