// Waiting for a task to end, across threads (see detail/join_state.hpp).
//
// The joiner registers itself *after* it has switched away: park_current's
// callback runs on the worker's own stack once the joiner's context is saved,
// so notify_done can never unpark a joiner that is still running.
#include <green/detail/unimplemented.hpp>
#include <green/detail/task.hpp>

#include <condition_variable>
#include <mutex>

namespace green::detail {

// An OS thread blocked in join(). Lives on that thread's stack.
struct ThreadWaiter {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;  // guarded by m
};

// BEGIN SOLUTION
// Runs on the joiner's worker after the joiner switched out.
static void register_joiner(Task* joiner, void* arg) {
  Task* t = static_cast<Task*>(arg);
  JoinState& js = t->extra().join;
  js.lock.lock();
  bool done = js.done;
  if (!done) js.joiner = joiner;
  js.lock.unlock();
  if (done) unpark(joiner);  // it ended while we were switching out
}
// END SOLUTION

void wait_until_done(Task* self, Task* t) {
  // BEGIN SOLUTION
  JoinState& js = t->extra().join;
  js.lock.lock();
  bool done = js.done;
  js.lock.unlock();
  if (done) return;  // the common case for short tasks: no switch at all
  if (!self) return t->extra().sched->wait_from_thread(t);
  Waiting waiting(self, "join", static_cast<std::int64_t>(t->extra().id));
  park_current(&register_joiner, t);
  // STUB: (void)self, (void)t;
  // STUB: unimplemented("stage 2: wait_until_done (join.cpp) is yours to write");
  // END SOLUTION
}

bool join_ended(Task* t) noexcept {
  JoinState& js = t->extra().join;
  js.lock.lock();
  bool done = js.done;
  js.lock.unlock();
  return done;
}

// The blocking half, for schedulers whose wait_from_thread blocks the caller.
void block_thread_until_done(Task* t) {
  // BEGIN SOLUTION
  ThreadWaiter w;
  JoinState& js = t->extra().join;
  js.lock.lock();
  bool done = js.done;
  if (!done) js.thread = &w;
  js.lock.unlock();
  if (done) return;
  std::unique_lock lk(w.m);
  w.cv.wait(lk, [&] { return w.done; });
  // STUB: (void)t;
  // STUB: unimplemented("stage 2: block_thread_until_done (join.cpp) is yours to write");
  // END SOLUTION
}

void notify_done(Task* t) noexcept {
  // BEGIN SOLUTION
  JoinState& js = t->extra().join;
  js.lock.lock();
  js.done = true;
  Task* joiner = js.joiner;
  ThreadWaiter* thread = js.thread;
  js.lock.unlock();
  if (joiner) unpark(joiner);
  if (thread) {
    // Notify while holding m: once the thread sees done it returns and its
    // ThreadWaiter is gone.
    std::lock_guard lk(thread->m);
    thread->done = true;
    thread->cv.notify_one();
  }
  // STUB: (void)t;
  // STUB: unimplemented("stage 2: notify_done (join.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
