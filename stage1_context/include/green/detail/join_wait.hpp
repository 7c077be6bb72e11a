// The seam for phase 4's deadlock detection: TaskHandle::join brackets its
// wait with a JoinWait, telling the wait-for graph "the caller waits for t
// to end". Until phase 4 it does nothing (join_wait.cpp); phase 4's records
// the edge, throws DeadlockError if it would close a cycle, and finished()
// throws it if the wait ended because t's runtime deadlocked instead.
#pragma once

namespace green::detail {

struct Task;

class JoinWait {
 public:
  explicit JoinWait(Task* t);  // may throw (phase 4: DeadlockError)
  ~JoinWait();
  void finished();             // after the wait; may throw (phase 4: DeadlockError)
  JoinWait(const JoinWait&) = delete;
  JoinWait& operator=(const JoinWait&) = delete;

 private:
  Task* task_;             // the task joined
  bool recorded_ = false;  // an edge was recorded: the destructor removes it
  // Room for a later stage's record of the wait, on the joiner's stack
  // (phase 4: its place in its worker's list of blocked tasks).
  alignas(void*) unsigned char record_[6 * sizeof(void*)] = {};
};

}  // namespace green::detail
