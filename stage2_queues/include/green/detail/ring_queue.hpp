// RingQueue: a worker's local run queue in stage 2. Fixed capacity (a power
// of two), one producer (the owning worker) pushing at the tail, any number of
// consumers taking from the head.
//
//   slots:  [ . . . h x x x x t . . . ]      items live in [head, tail)
//
// Indices are free-running 32-bit counters; slot = index & (Capacity - 1).
// Only the owner writes tail_; consumers (the owner too) advance head_ by CAS.
//
// head_ and tail_ sit on separate cache lines (Align = 64): the producer
// writes tail_ on every push and consumers write head_ on every take; on one
// line, each write would steal the line from the other core (false sharing).
// bench/false_sharing.cpp measures exactly that, with Align = 4 packing them.
//
// ABA on head_: a consumer that read head h, slept while the queue went round
// 2^32 times and came back to h would CAS successfully on a stale slot. 2^32
// operations while one thread is preempted inside pop() is not a practical
// concern; stage 3's deque uses 64-bit indices.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <green/detail/unimplemented.hpp>

namespace green::detail {

template <class T, std::size_t Capacity, std::size_t Align = 64>
class RingQueue {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");
  static_assert(Capacity < (std::size_t{1} << 31));
  static constexpr std::uint32_t kMask = Capacity - 1;

 public:
  static constexpr std::size_t capacity() { return Capacity; }

  // Owner only. False when full: the caller moves work elsewhere.
  bool push(T v) noexcept {
    // BEGIN SOLUTION
    std::uint32_t t = tail_.load(std::memory_order_relaxed);  // only we write tail_
    if (t - head_seen_ >= Capacity) {
      // acquire: pairs with the release CAS in pop(): a consumer has finished
      // reading the slots it took before we overwrite them.
      head_seen_ = head_.load(std::memory_order_acquire);
      if (t - head_seen_ >= Capacity) return false;
    }
    slots_[t & kMask].store(v, std::memory_order_relaxed);
    // release: publishes the slot (and the task behind it); pairs with the
    // acquire load of tail_ in pop().
    tail_.store(t + 1, std::memory_order_release);
    return true;
    // STUB: (void)v;
    // STUB: unimplemented("stage 2: RingQueue::push is yours to write (include/green/detail/ring_queue.hpp)");
    // END SOLUTION
  }

  // Any thread. The oldest item, or nullptr when empty.
  T pop() noexcept {
    std::uint32_t tail_seen = 0;
    return pop(tail_seen);
  }

  // The same, for a consumer that keeps its own last look at tail_ (start it
  // at 0). tail_ only grows, and the consumer saw it with acquire, so every
  // slot below tail_seen is published: tail_ (the producer's line) is read
  // again only when the consumer has caught up with what it last saw.
  T pop(std::uint32_t& tail_seen) noexcept {
    // BEGIN SOLUTION
    std::uint32_t h = head_.load(std::memory_order_acquire);  // pairs with other consumers' release CAS
    for (;;) {
      if (static_cast<std::int32_t>(tail_seen - h) <= 0)
        // acquire: pairs with push()'s release store: the slot is written.
        tail_seen = tail_.load(std::memory_order_acquire);
      std::uint32_t t = tail_seen;
      if (h == t) return nullptr;
      // Relaxed and atomic: with a stale h the owner may be rewriting this
      // slot right now; then the CAS below fails and the value is dropped.
      T v = slots_[h & kMask].load(std::memory_order_relaxed);
      // success release: pairs with push()'s acquire of head_ (the slot is
      // free once we are done reading it). failure acquire: reload h.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release, std::memory_order_acquire)) return v;
    }
    // STUB: (void)tail_seen;
    // STUB: unimplemented("stage 2: RingQueue::pop is yours to write (include/green/detail/ring_queue.hpp)");
    // END SOLUTION
  }

  // A snapshot; exact only when nobody else is pushing or popping.
  std::size_t size() const noexcept {
    // relaxed: a hint, orders nothing. h first: tail only grows past it.
    std::uint32_t h = head_.load(std::memory_order_relaxed);
    std::uint32_t n = tail_.load(std::memory_order_relaxed) - h;
    return n > Capacity ? 0 : n;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  // BEGIN SOLUTION
  alignas(Align) std::atomic<std::uint32_t> head_{0};  // next to take; CAS by consumers
  alignas(Align) std::atomic<std::uint32_t> tail_{0};  // next free slot; written by the owner only
  // The owner's last look at head_. head_ only grows, so a stale value makes
  // the ring look fuller than it is, never emptier: the owner re-reads head_
  // (touching the consumers' line) only when the ring seems full.
  std::uint32_t head_seen_ = 0;
  alignas(64) std::atomic<T> slots_[Capacity];
  // STUB: std::atomic<std::uint32_t> head_{0};  // where do these go, and why? (HANDOUT 3.1)
  // STUB: std::atomic<std::uint32_t> tail_{0};
  // STUB: std::uint32_t head_seen_ = 0;
  // STUB: std::atomic<T> slots_[Capacity];
  // END SOLUTION
};

}  // namespace green::detail
