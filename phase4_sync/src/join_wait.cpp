// A join records its edge in phase 4's wait-for graph (detail/wait_graph.hpp)
// if the joiner is a thread, or a task that holds a Mutex, unless the task
// joined has already ended (then it will not block).
//
// Why not every join: a blocking join of fork-join code (fib spawning and
// joining 7M tasks) would take the graph lock twice, and on 2 workers that
// lock's cache line made fib slower on two workers than on one. A cycle
// needs a wait on something a task of the cycle holds or is: a Mutex it
// holds, or itself being joined. Recording only joiners that hold a Mutex
// finds every cycle with at least one Mutex in it, the joins leading to
// that Mutex's holder included, as long as each joiner on the way holds a
// Mutex; cycles of joins alone are left to the global check (deadlock.hpp),
// which reports them once every task is blocked. A
// thread's join may also end because the task's runtime deadlocked
// (detail/deadlock.hpp): then finished() throws the report.
#include <green/detail/deadlock.hpp>
#include <green/detail/join_wait.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/mutex.hpp>

#include <new>
#include <green/detail/waiter.hpp>
#include <green/detail/wait_graph.hpp>

namespace green::detail {

static_assert(sizeof(BlockedNode) <= 6 * sizeof(void*), "JoinWait's record_ holds a BlockedNode");

JoinWait::JoinWait(Task* t) : task_(t) {
  auto* n = ::new (record_) BlockedNode{};  // not in a list yet: in == nullptr
  // acquire: pairs with notify_done's release (as wait_until_done's loads).
  if (t->extra().join.load(std::memory_order_acquire).tag() == kJoinDone) return;
  Task* self = current_task();
  if (!self || self->held > 0) {  // see above
    wait_for_task(self_id(), t);
    recorded_ = true;
  }
  if (Worker* w = self ? current_worker() : nullptr) {  // for the deadlock report
    n->task = self;
    n->joining = t;
    note_blocked(*w, *n);
  }
}

JoinWait::~JoinWait() {
  note_unblocked(*std::launder(reinterpret_cast<BlockedNode*>(record_)));  // nothing if never linked
  if (recorded_) wait_over(self_id());
}

void JoinWait::finished() {
  if (!recorded_ || current_task()) return;  // only threads' joins are ended for a deadlock
  std::string report = deadlock_report(*task_);
  if (!report.empty()) throw DeadlockError(report);
}

}  // namespace green::detail
