// A join records its edge in phase 4's wait-for graph (detail/wait_graph.hpp)
// unless the task joined has already ended: then it will not block.
#include <green/detail/join_wait.hpp>
#include <green/detail/waiter.hpp>
#include <green/detail/wait_graph.hpp>

namespace green::detail {

JoinWait::JoinWait(Task* t) {
  // acquire: pairs with notify_done's release (as wait_until_done's loads).
  if (t->extra().join.load(std::memory_order_acquire).tag() == kJoinDone) return;
  wait_for_task(self_id(), t);
  recorded_ = true;
}

JoinWait::~JoinWait() {
  if (recorded_) wait_over(self_id());
}

}  // namespace green::detail
