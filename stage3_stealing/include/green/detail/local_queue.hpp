// A worker's local run queue, stage 3: a Chase-Lev deque for spawned and
// unparked tasks, a "next" slot in front of it, plus a FIFO ring (stage 2's)
// for tasks that yielded.
//
// The next slot (Go's runnext) holds the task made Ready last on this
// worker, which runs before the deque. A task woken by the running one
// usually belongs with it: in a hand-off (a channel, a lock passed on) the
// waker blocks next, and its worker runs the woken task at once, on the same
// core, while a thief would have had to cross to another core for it.
// A thief takes a slot's task only if it has sat there since the thief's
// previous look, microseconds earlier (the slot's push count is unchanged):
// a task its worker is about to run is not pulled away, one whose worker
// stays busy is taken all the same. Looking rarely matters as much: each
// look pulls the slot's cache line away from its worker.
//
// Why two. The deque is LIFO for its owner: the newest task runs next, which
// is what makes fork-join depth-first and cache-friendly. A yielded task put
// back at the bottom would run again at once (the yield would do nothing);
// taking from the top instead would jump to the oldest task, typically the
// root of a large subtree, and expand the task tree breadth-first (memory
// grows with the width of the tree). So yielded tasks wait in a ring that is
// served after the deque: a yield lets every other local task run first.
// Thieves take from both (the deque first).
//
// Alone. The only worker of its runtime has no thieves: every access to its
// queue is its own, in program order. The runtime says so once, before the
// worker starts (set_alone), and from then on the next slot and the deque
// are read and written with plain (relaxed) loads and stores: no xchg, CAS
// or fence, which exist only to race thieves. fib(32) with every call a task
// ran 4-6% faster on 1 worker (0.336-0.351 s -> 0.319-0.323).
#pragma once
#include <green/detail/chase_lev_deque.hpp>
#include <green/detail/ring_queue.hpp>
#include <green/detail/task.hpp>

#include <atomic>
#include <cstdint>

namespace green::detail {

class LocalQueue {
 public:
  static constexpr std::size_t capacity() { return Deque::capacity(); }

  // Owner only.
  bool push(Task* t) noexcept { return alone_ ? deque_.push_alone(t) : deque_.push(t); }
  // t goes into the next slot; returns the task it displaced (the caller
  // pushes that one), or nullptr. seq_cst: it publishes t, and it is the
  // producer's store of the wake-up protocol, like the deque's bottom store.
  Task* push_next(Task* t) noexcept {
    next_pushes_.store(next_pushes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return exchange_next(t, std::memory_order_seq_cst);
  }
  bool push_yielded(Task* t) noexcept { return yielded_.push(t); }
  // (Inlined: out of line, the worker loop's call cost a yield 4%.)
  [[gnu::always_inline]] Task* pop() noexcept {
    // relaxed peek; the exchange decides against a thief's CAS (acquire:
    // pairs with push_next's release half).
    if (next_.load(std::memory_order_relaxed))
      if (Task* t = exchange_next(nullptr, std::memory_order_acquire)) return t;
    if (Task* t = pop_deque()) return t;
    return yielded_.pop();
  }
  void set_alone() noexcept { alone_ = true; }
  Task* pop_yielded() noexcept { return yielded_.pop(); }  // for the fairness check
  // Owner only (phase 6's help-first join): takes t out if it is in the
  // next slot (returns 1) or the newest in the deque (2); else 0, and the
  // queue is as it was. put_back(t, where) undoes a take.
  int take(Task* t) noexcept {
    // acquire, as pop: pairs with push_next; the exchange decides against a
    // thief (only the owner fills the slot: it holds t, or a thief took it).
    if (next_.load(std::memory_order_relaxed) == t) return exchange_next(nullptr, std::memory_order_acquire) ? 1 : 0;
    Task* x = pop_deque();
    if (!x) return 0;
    if (x == t) return 2;
    push(x);  // room: it was just taken out
    return 0;
  }
  void put_back(Task* t, int where) noexcept {
    // The slot is still empty: only the owner fills it. seq_cst, as
    // push_next's exchange: it publishes t to steal_next's acquire load and
    // is the producer's store of the wake-up protocol (worker_loop.cpp).
    if (where == 1) next_.store(t, alone_ ? std::memory_order_relaxed : std::memory_order_seq_cst);
    else push(t);
  }
  // Any thread: the oldest task, deque first.
  Task* steal() noexcept {
    if (Task* t = deque_.steal()) return t;
    return yielded_.pop();
  }
  // Any thread: the task in the next slot. acquire: pairs with push_next.
  Task* steal_next() noexcept {
    Task* t = next_.load(std::memory_order_acquire);
    return t && next_.compare_exchange_strong(t, nullptr, std::memory_order_acquire) ? t : nullptr;
  }
  // The same, only if no push happened since the caller's last look, whose
  // push count is in *seen (updated). relaxed: a count, a heuristic.
  Task* steal_stale_next(std::uint64_t* seen) noexcept {
    std::uint64_t n = next_pushes_.load(std::memory_order_relaxed);
    if (n != *seen) {
      *seen = n;
      return nullptr;
    }
    return steal_next();
  }
  // For the wake-up protocol (worker_loop.cpp): a seq_cst look at the deque
  // and the next slot. Yielded tasks take no part in it: they wait for their
  // own worker, which is busy by definition, and thieves take them only
  // opportunistically.
  bool nonempty_sc() const noexcept {
    return next_.load(std::memory_order_seq_cst) || deque_.nonempty_sc();
  }

 private:
  using Deque = ChaseLevDeque<Task*, 1024>;
  // The owner's exchange of the next slot: a thief's CAS may race it, unless
  // the queue is alone (see the top), when a load and a store do.
  Task* exchange_next(Task* v, std::memory_order order) noexcept {
    if (!alone_) return next_.exchange(v, order);
    Task* old = next_.load(std::memory_order_relaxed);
    next_.store(v, std::memory_order_relaxed);
    return old;
  }
  Task* pop_deque() noexcept { return alone_ ? deque_.pop_alone() : deque_.pop(); }

  bool alone_ = false;  // set before the worker starts (see the top)
  std::atomic<Task*> next_{nullptr};
  std::atomic<std::uint64_t> next_pushes_{0};  // written by the owner only
  Deque deque_;
  RingQueue<Task*, 256> yielded_;
};

// The oldest task of a local queue, for moving work out (any thread).
inline Task* take_oldest(LocalQueue& q) noexcept {
  if (Task* t = q.steal()) return t;
  return q.steal_next();
}

}  // namespace green::detail
