// Waiting for a task to end: the tagged join slot (see detail/join_state.hpp).
//
// A joining task announces itself in the slot and then parks, with no
// callback: if the end of the task unparks it before it has switched out,
// the task word's woken bit makes its park return at once (task_word.hpp).
#include <green/detail/unimplemented.hpp>
#include <green/detail/task.hpp>

#include <system_error>

namespace green::detail {

// The slot holds one joiner. A second one (one handle joined from two
// callers at once, which TaskHandle's contract forbids) must not return
// early: it would release the task under the first joiner's feet.
[[noreturn, maybe_unused]] static void second_joiner() {
  throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                          "green::TaskHandle::join: the task already has a joiner (a handle is joined once, "
                          "by one caller)");
}

// acquire loads and the CAS's acquire on failure: pair with notify_done's
// release, so a joiner that sees Done sees the task's result and exception.
void wait_until_done(Task* self, Task* t) {
  // BEGIN SOLUTION
  JoinState& js = t->extra().join;
  JoinWord cur = js.load(std::memory_order_acquire);
  if (cur.tag() == kJoinDone) return;  // the common case for short tasks: no switch at all
  if (!self) return t->extra().sched->wait_from_thread(t);
  if (cur.tag() != kJoinEmpty) second_joiner();  // the CAS below would replace the first
  // acq_rel on success: release so the end of the task sees a whole joiner;
  // nothing between here and the park may yield (TaskWordCell's invariant).
  if (!js.compare_exchange_strong(cur, JoinWord(self, kJoinTask), std::memory_order_acq_rel,
                                  std::memory_order_acquire)) {
    if (cur.tag() != kJoinDone) second_joiner();  // another joiner came first
    return;                                       // it ended meanwhile
  }
  Waiting waiting(self, "join", static_cast<std::int64_t>(t->extra().id));
  park_current(nullptr, nullptr);
  // STUB: (void)self, (void)t;
  // STUB: unimplemented("stage 4: wait_until_done (join.cpp) is yours to write");
  // END SOLUTION
}

bool join_ended(Task* t) noexcept {
  // acquire: pairs with notify_done's exchange (and declare's CAS, phase 4).
  return t->extra().join.load(std::memory_order_acquire).tag() == kJoinDone;
}

// The blocking half, for schedulers whose wait_from_thread blocks the caller.
void block_thread_until_done(Task* t) {
  // BEGIN SOLUTION
  JoinState& js = t->extra().join;
  JoinWord cur = js.load(std::memory_order_acquire);
  const JoinWord waiting(nullptr, kJoinThread);
  if (cur.tag() == kJoinEmpty)  // on failure cur is what was there instead
    js.compare_exchange_strong(cur, waiting, std::memory_order_acquire, std::memory_order_acquire);
  if (cur.tag() == kJoinTask || cur.tag() == kJoinThread) second_joiner();
  // Sleeps on the word itself (a futex) until the exchange to Done changes it.
  while (js.load(std::memory_order_acquire).tag() != kJoinDone) js.wait(waiting, std::memory_order_acquire);
  // STUB: (void)t;
  // STUB: unimplemented("stage 4: block_thread_until_done (join.cpp) is yours to write");
  // END SOLUTION
}

// Called once, by the loop the task ended on. The block stays alive until
// this returns (the loop still holds the run reference), so the notify below
// touches live memory even if the waiter has already woken and returned.
void notify_done(Task* t) noexcept {
  // BEGIN SOLUTION
  JoinState& js = t->extra().join;
  // acq_rel: release publishes the task's result and exception to the joiner
  // (its acquire loads); acquire pairs with the joiner's CAS, so a joiner task
  // found here is seen whole.
  JoinWord old = js.exchange(JoinWord(nullptr, kJoinDone), std::memory_order_acq_rel);
  if (old.tag() == kJoinTask) unpark(old.ptr());
  else if (old.tag() == kJoinThread) js.notify_all();
  // STUB: (void)t;
  // STUB: unimplemented("stage 4: notify_done (join.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
