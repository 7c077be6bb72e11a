// GrowableDeque: the Chase-Lev deque as the paper has it, with a circular
// array that doubles when it is full. Phase 6's job deques use it: a loop
// that runs 100,000 functions before it waits must not spill 67,000 of them
// into carrier tasks (each a stack and a switch), as stage 3's fixed 32,768
// slots made it (BM_GroupRunWait: 3x oneTBB's cost per function).
//
// push, pop and steal are stage 3's (chase_lev_deque.hpp says why each
// memory order is what it is); what is new is the ring they index, and what
// growing it means for a thief:
//   - The owner grows: it copies the live items [top, bottom) into a ring
//     twice the size, then publishes it (release), then stores the new item
//     and bottom as usual.
//   - A thief loads the ring after bottom. If the bottom it saw came from a
//     push into the new ring, that push's release store of bottom follows
//     the publication, so the thief's (acquire) load of the ring finds the
//     new one. Otherwise every index below that bottom was written in the
//     ring it finds, old or new.
//   - A thief may still be reading the old ring after the owner moved on:
//     the owner never frees a ring it replaced, or writes to it again. The
//     old rings stay until the deque dies (each is half the next: together
//     less than the current one), which is the reclamation problem stage 3's
//     fixed array avoided. A thief that read a stale top may read a slot of
//     the new ring that was never copied (below the copy's start): it reads
//     a null (rings start zeroed), and its CAS of top fails, because top has
//     moved past the index it read.
//   - The deque never shrinks: its size is its owner's high-water mark.
#pragma once
#include <green/detail/unimplemented.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace green::detail {

template <class T>
class GrowableDeque {
 public:
  explicit GrowableDeque(std::size_t initial = 1024) : ring_(Ring::make(initial)) {
    if (!ring_.load(std::memory_order_relaxed)) throw std::bad_alloc();
  }
  GrowableDeque(const GrowableDeque&) = delete;
  GrowableDeque& operator=(const GrowableDeque&) = delete;
  ~GrowableDeque() {  // nobody may be using it: every ring goes
    for (Ring* r = ring_.load(std::memory_order_relaxed); r;) delete std::exchange(r, r->older);
  }

  // Owner only. False only if it was full and no bigger ring could be had.
  bool push(T v) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);  // only the owner writes bottom_
    // acquire: pairs with the thieves' CAS of top_ (stage 3's push).
    std::int64_t t = top_.load(std::memory_order_acquire);
    Ring* r = ring_.load(std::memory_order_relaxed);  // only the owner writes ring_
    if (b - t > r->mask && !(r = grow(r, t, b))) return false;
    r->at(b).store(v, std::memory_order_relaxed);
    // seq_cst: publishes the slot to steal()'s loads of bottom_, and is in
    // the total order of the wake-up protocol (job_source.cpp).
    bottom_.store(b + 1, std::memory_order_seq_cst);
    return true;
  }

  // Owner only. The newest item, or nullptr. Stage 3's pop, on the ring.
  T pop() noexcept {
    // relaxed: a stale top_ only makes it look fuller (top_ only grows).
    if (bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed)) return nullptr;
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;  // only the owner writes bottom_
    Ring* r = ring_.load(std::memory_order_relaxed);  // only the owner writes ring_
    // seq_cst store, then seq_cst load: pairs with steal()'s seq_cst loads of
    // top_ and bottom_, so a thief and we cannot both miss each other.
    bottom_.store(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {
      bottom_.store(b + 1, std::memory_order_relaxed);  // empty: put it back; thieves see t >= b either way
      return nullptr;
    }
    T v = r->at(b).load(std::memory_order_relaxed);  // our own slot: no thief reads it unless t == b
    if (t == b) {
      // The last item: whoever moves top_ from t wins it (seq_cst: the race
      // with steal()'s CAS).
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
        v = nullptr;  // a thief got it
      bottom_.store(b + 1, std::memory_order_relaxed);  // empty now; top_ == b + 1 already says so
    }
    return v;
  }

  // Any thread. The oldest item, or nullptr (empty, or lost a race).
  T steal() noexcept {
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b) return nullptr;
    // BEGIN SOLUTION
    // acquire, after bottom_: pairs with grow()'s release store (see the top).
    Ring* r = ring_.load(std::memory_order_acquire);
    T v = r->at(t).load(std::memory_order_relaxed);  // ordered by the acquire above; the CAS decides
    // STUB: T v{};
    // STUB: unimplemented("phase 6: GrowableDeque::steal (growable_deque.hpp): reading the ring is yours to write");
    // END SOLUTION
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
    return v;
  }

  // seq_cst loads, for the wake-up protocol's Dekker pairs (as stage 3's).
  bool nonempty_sc() const noexcept {
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    return bottom_.load(std::memory_order_seq_cst) > t;
  }
  // Owner only: the slots of the current ring.
  std::size_t capacity() const noexcept { return static_cast<std::size_t>(ring_.load(std::memory_order_relaxed)->mask) + 1; }

 private:
  struct Ring {
    std::int64_t mask;                     // slots - 1 (a power of two, minus one)
    Ring* older = nullptr;                 // the ring this one replaced, kept for late thieves
    std::unique_ptr<std::atomic<T>[]> s;   // zeroed
    std::atomic<T>& at(std::int64_t i) noexcept { return s[static_cast<std::size_t>(i & mask)]; }
    static Ring* make(std::size_t n) noexcept {
      std::size_t p = 2;
      while (p < n) p *= 2;
      auto* r = new (std::nothrow) Ring{static_cast<std::int64_t>(p - 1), nullptr, nullptr};
      if (r && !(r->s = std::unique_ptr<std::atomic<T>[]>(new (std::nothrow) std::atomic<T>[p]()))) {
        delete r;
        return nullptr;
      }
      return r;
    }
  };

  // Owner only: r is full ([t, b) fills it). A ring twice its size holding
  // the same items, now the deque's; nullptr if there is no memory.
  Ring* grow(Ring* r, std::int64_t t, std::int64_t b) noexcept {
    // BEGIN SOLUTION
    Ring* n = Ring::make(2 * (static_cast<std::size_t>(r->mask) + 1));
    if (!n) return nullptr;
    // relaxed both: the copies are published by the release store below.
    for (std::int64_t i = t; i < b; ++i) n->at(i).store(r->at(i).load(std::memory_order_relaxed), std::memory_order_relaxed);
    n->older = r;
    // release: pairs with steal()'s acquire load; a thief that finds n finds
    // the copies in it.
    ring_.store(n, std::memory_order_release);
    return n;
    // STUB: (void)r, (void)t, (void)b;
    // STUB: unimplemented("phase 6: GrowableDeque::grow (growable_deque.hpp) is yours to write");
    // END SOLUTION
  }

  alignas(64) std::atomic<std::int64_t> top_{0};     // next to steal; CAS by thieves and the owner
  alignas(64) std::atomic<std::int64_t> bottom_{0};  // next free slot; written by the owner only
  alignas(64) std::atomic<Ring*> ring_;              // written by the owner only
};

}  // namespace green::detail
