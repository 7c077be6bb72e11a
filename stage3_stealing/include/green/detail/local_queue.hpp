// A worker's local run queue, stage 3: a Chase-Lev deque for spawned and
// unparked tasks, plus a FIFO ring (stage 2's) for tasks that yielded.
//
// Why two. The deque is LIFO for its owner: the newest task runs next, which
// is what makes fork-join depth-first and cache-friendly. A yielded task put
// back at the bottom would run again at once (the yield would do nothing);
// taking from the top instead would jump to the oldest task, typically the
// root of a large subtree, and expand the task tree breadth-first (memory
// grows with the width of the tree). So yielded tasks wait in a ring that is
// served after the deque: a yield lets every other local task run first.
// Thieves take from both (the deque first).
#pragma once
#include <green/detail/chase_lev_deque.hpp>
#include <green/detail/ring_queue.hpp>
#include <green/detail/task.hpp>

namespace green::detail {

class LocalQueue {
 public:
  static constexpr std::size_t capacity() { return Deque::capacity(); }

  // Owner only.
  bool push(Task* t) noexcept { return deque_.push(t); }
  bool push_yielded(Task* t) noexcept { return yielded_.push(t); }
  Task* pop() noexcept {
    if (Task* t = deque_.pop()) return t;
    return yielded_.pop();
  }
  Task* pop_yielded() noexcept { return yielded_.pop(); }  // for the fairness check
  // Any thread: the oldest task, deque first.
  Task* steal() noexcept {
    if (Task* t = deque_.steal()) return t;
    return yielded_.pop();
  }
  // For the wake-up protocol (worker_loop.cpp): a seq_cst look at the deque.
  // Yielded tasks take no part in it: they wait for their own worker, which
  // is busy by definition, and thieves take them only opportunistically.
  bool nonempty_sc() const noexcept { return deque_.nonempty_sc(); }

 private:
  using Deque = ChaseLevDeque<Task*, 1024>;
  Deque deque_;
  RingQueue<Task*, 256> yielded_;
};

// The oldest task of a local queue, for moving work out (any thread).
inline Task* take_oldest(LocalQueue& q) noexcept { return q.steal(); }

}  // namespace green::detail
