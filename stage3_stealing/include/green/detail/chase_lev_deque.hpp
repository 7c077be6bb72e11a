// ChaseLevDeque: a worker's local run queue from stage 3 on. The owner pushes
// and pops at the bottom (LIFO: the newest task, whose data is still in the
// cache); thieves take from the top (FIFO: the oldest task, typically the
// biggest piece of remaining work) with a CAS.
//
//   top ->  [ oldest | ... | newest ]  <- bottom
//
// Chase and Lev, "Dynamic circular work-stealing deque" (SPAA 2005), with the
// C11 memory orders of Lê, Pop, Cohen and Zappa Nardelli, "Correct and
// efficient work-stealing for weak memory models" (PPoPP 2013). Differences:
//  - Fixed capacity (a power of two): push returns false when full and the
//    caller moves work to the global queue. No buffer to grow, so no
//    reclamation problem (a thief may still be reading an old buffer).
//  - The paper's two stand-alone fences are expressed as seq_cst accesses,
//    which ThreadSanitizer understands (it does not model fences):
//      take():  bottom.store(b) ; fence(seq_cst) ; t = top.load()
//            -> bottom.store(b, seq_cst) ; t = top.load(seq_cst)
//      steal(): t = top.load(acquire) ; fence(seq_cst) ; b = bottom.load(acquire)
//            -> t = top.load(seq_cst) ; b = bottom.load(seq_cst)
//    and push's release fence becomes a release store of bottom. On x86 the
//    seq_cst store is an xchg (a full barrier), as the fence was an mfence.
//  - Indices are 64-bit and never wrap, so the CAS on top has no ABA: top
//    only grows, and a value of top is never seen twice.
#pragma once
#include <green/detail/unimplemented.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace green::detail {

template <class T, std::size_t Capacity, std::memory_order PublishOrder = std::memory_order_seq_cst>
class ChaseLevDeque {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");
  static constexpr std::int64_t kMask = Capacity - 1;

 public:
  static constexpr std::size_t capacity() { return Capacity; }

  // Owner only. False when full.
  bool push(T v) noexcept {
    // BEGIN SOLUTION
    std::int64_t b = bottom_.load(std::memory_order_relaxed);  // only the owner writes bottom_
    // acquire: pairs with the thieves' seq_cst CAS of top_: a slot a thief
    // has taken is done being read before we reuse it.
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t >= static_cast<std::int64_t>(Capacity)) return false;
    slots_[b & kMask].store(v, std::memory_order_relaxed);
    // Publishes the slot; pairs with steal()'s seq_cst (so acquire) load of
    // bottom_. The paper needs only release here (fence(release);
    // store(relaxed)); we use seq_cst because the runtime's wake-up protocol
    // (worker_loop.cpp, "Lost wake-ups") needs this store in the seq_cst
    // total order, before its load of the parked-worker count.
    bottom_.store(b + 1, PublishOrder);
    return true;
    // STUB: (void)v;
    // STUB: unimplemented("stage 3: ChaseLevDeque::push is yours to write (include/green/detail/chase_lev_deque.hpp)");
    // END SOLUTION
  }

  // Owner only. The newest item, or nullptr.
  T pop() noexcept {
    // BEGIN SOLUTION
    // Fast path for an empty deque, without the seq_cst store: top_ only
    // grows, so if it is already >= bottom_ in a stale (relaxed) read, the
    // deque is empty now. A stale read can only make it look fuller.
    if (bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed)) return nullptr;
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    // seq_cst store, then seq_cst load: the paper's fence(seq_cst) between
    // them. A thief that read the old bottom_ and this pop then cannot both
    // miss each other (see steal()): at most one of us takes the last item
    // without the CAS below.
    bottom_.store(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {  // it was empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T v = slots_[b & kMask].load(std::memory_order_relaxed);
    if (t == b) {
      // The last item: thieves may be after it too. Whoever moves top_ from t
      // wins it. seq_cst: the race with steal()'s CAS (the paper's order).
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
        v = nullptr;  // a thief got it
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return v;
    // STUB: unimplemented("stage 3: ChaseLevDeque::pop is yours to write (include/green/detail/chase_lev_deque.hpp)");
    // END SOLUTION
  }

  // Any thread. The oldest item, or nullptr if it was empty or another
  // thief (or the owner) won the race for it.
  T steal() noexcept {
    // BEGIN SOLUTION
    // seq_cst load of top_, then of bottom_: the paper's
    // load(acquire); fence(seq_cst); load(acquire). Pairs with pop()'s
    // seq_cst store of bottom_ and push()'s release store of bottom_.
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b) return nullptr;
    // Relaxed and atomic: if the owner pops this slot meanwhile and pushes
    // over it, our CAS fails and we drop what we read.
    T v = slots_[t & kMask].load(std::memory_order_relaxed);
    // seq_cst: the take/steal race on the last item (with pop()'s CAS).
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
    return v;
    // STUB: unimplemented("stage 3: ChaseLevDeque::steal is yours to write (include/green/detail/chase_lev_deque.hpp)");
    // END SOLUTION
  }

  // Owner only, and only while no thief can exist (the only worker of its
  // runtime): push and pop without the fences and the CAS that race thieves.
  bool push_alone(T v) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed), t = top_.load(std::memory_order_relaxed);
    if (b - t >= static_cast<std::int64_t>(Capacity)) return false;
    slots_[b & kMask].store(v, std::memory_order_relaxed);
    bottom_.store(b + 1, std::memory_order_relaxed);
    return true;
  }
  T pop_alone() noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed), t = top_.load(std::memory_order_relaxed);
    if (b <= t) return nullptr;
    bottom_.store(b - 1, std::memory_order_relaxed);
    return slots_[(b - 1) & kMask].load(std::memory_order_relaxed);
  }

  // A snapshot, for heuristics (is there anything to steal?).
  std::size_t size() const noexcept {
    std::int64_t t = top_.load(std::memory_order_relaxed);  // relaxed: a hint
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }
  bool empty() const noexcept { return size() == 0; }
  // The same as seq_cst loads, for a Dekker pair with a parking worker.
  bool nonempty_sc() const noexcept {
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    return bottom_.load(std::memory_order_seq_cst) > t;
  }

 private:
  alignas(64) std::atomic<std::int64_t> top_{0};     // next to steal; CAS by thieves and the owner
  alignas(64) std::atomic<std::int64_t> bottom_{0};  // next free slot; written by the owner only
  alignas(64) std::atomic<T> slots_[Capacity];
};

}  // namespace green::detail
