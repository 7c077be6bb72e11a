// Scheduler: the extension point every stage implements.
//
// A scheduler decides which Ready task runs next, and on which thread; the
// dispatcher (dispatcher.hpp) does the switching, the same for all.
//
//   stage 1   LocalScheduler: one thread, a priority ready queue
//   stage 2   Runtime: N workers, a ring each and a global queue
//   stage 3   the same Runtime with Chase-Lev deques and stealing
//   phase 3   asks the two preemption questions at the end
//
// Callbacks "on d's loop" run between two tasks on the loop of the thread
// whose dispatcher is d.
#pragma once
#include <cstddef>

namespace green::detail {

struct Task;
struct Dispatcher;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // t is Ready (spawned or unparked): queue it to run. Any thread.
  virtual void submit(Task* t) = 0;
  // t yielded on d's loop and is Ready again. A scheduler whose queues are
  // not FIFO overrides it to keep yields fair.
  virtual void submit_yielded(Dispatcher& d, Task* t) {
    (void)d;
    submit(t);
  }
  // t was just made; called once, before its first submit.
  virtual void on_task_spawned(Task* t) noexcept = 0;
  // t ended on d's loop; called once, before its run reference goes.
  virtual void on_task_end(Dispatcher& d, Task* t) noexcept = 0;
  // Called from a thread that is not running a task: block until t is Done.
  virtual void wait_from_thread(Task* t) = 0;

  // Preemption policy (asked by phase 3's timer; nothing preempts before).
  // Both run on d's thread while t runs there, the first inside a signal
  // handler: async-signal-safe, no locks, no allocation.
  //   Should t give way before its time slice is up? (a Ready task outranks it)
  virtual bool outranked(Dispatcher& d, const Task& t) noexcept {
    (void)d, (void)t;
    return false;
  }
  //   t was preempted on d's loop (not in the handler): queue it behind
  //   everything d would run.
  virtual void submit_preempted(Dispatcher& d, Task* t) { submit_yielded(d, t); }

  // The two stack classes, usable bytes, as round_stack_size() gives them.
  std::size_t stack_size = 256 * 1024;
  std::size_t small_stack_size = 16 * 1024;
};

}  // namespace green::detail
