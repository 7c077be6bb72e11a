// Timers: the first event source (DESIGN.md 3.3, 3.4).
//
// Each worker has a TimerHeap: a min-heap of the timers armed by tasks
// running on it, so arming and cancelling touch a lock nobody else wants
// (Go's single global timer heap cost it 804 ns per operation at 8 CPUs). A
// Timer knows its heap and its index in it, so cancelling is O(log n) and
// leaves nothing behind: the heap holds exactly the armed timers.
//
// The heap's array holds (deadline, timer) pairs, and each node has 4
// children. A Timer lives on its task's stack, so reading its deadline is a
// cache (and often TLB) miss; the pairs let a sift compare within the array,
// and 4 children of 16 bytes share a cache line, at half a binary heap's
// depth. With 100,000 sleepers (50,000 timers a heap) this took the sifts
// from 16 levels of two misses each to 8 levels of one (Go's heap is 4-ary
// and keeps `when` in its array too).
//
// Who fires them:
//   - a busy worker, between two tasks, fires its own heap's due timers (and
//     every 64th time looks at the others': a heap whose worker runs a long
//     task would otherwise wait for it);
//   - one idle worker, the keeper, sleeps until the earliest deadline of all
//     heaps (never past it) and fires what is due; the other idle workers
//     sleep untimed. Arming a timer earlier than the keeper's wake-up pokes
//     the keeper, which sleeps again with the new deadline.
//
// A timer fires under its heap's lock, so cancel() returns only once the
// timer either fired completely or never will: the waiter that owns the
// Timer (on its stack) may return right after cancel. A fire function
// therefore only does something short that takes no heap lock: a CAS, an
// unpark.
#pragma once
#include <green/detail/unimplemented.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <limits>
#include <mutex>
#include <vector>

namespace green::detail {

class RuntimeImpl;
struct Worker;
class TimerHeap;

using Clock = std::chrono::steady_clock;        // CLOCK_MONOTONIC, as the futex timeouts
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
inline std::int64_t now_ns() noexcept { return Clock::now().time_since_epoch().count(); }
static_assert(std::is_same_v<Clock::duration, std::chrono::nanoseconds>);
// A deadline as the absolute timespec a futex wait takes.
inline timespec to_timespec(std::int64_t ns) noexcept {
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

struct Timer {
  static constexpr std::uint32_t kNotArmed = ~0u;
  std::int64_t deadline = 0;         // now_ns() units; set before arm
  void (*fire)(Timer*) = nullptr;    // runs under the heap's lock (see above)
  TimerHeap* heap = nullptr;         // set by arm; read by cancel
  std::uint32_t index = kNotArmed;   // its place in heap's array, under heap's lock
};

class alignas(64) TimerHeap {
 public:
  // Arms t (deadline and fire set). Throws std::bad_alloc (the array grows).
  void arm(Timer* t);
  // Disarms t if it is armed. True if it was (it will not fire); false if it
  // fired already. Either way t is free to go when this returns.
  bool cancel(Timer* t) noexcept;
  // Fires every timer due at `now`, earliest first. Returns how many.
  int fire_due(std::int64_t now);
  // The earliest deadline, kNever if none: a hint without the lock.
  std::int64_t next() const noexcept { return next_.load(std::memory_order_seq_cst); }
  std::size_t size() noexcept;

 private:
  void sift_up(std::uint32_t i) noexcept;
  void sift_down(std::uint32_t i) noexcept;
  struct Entry {
    std::int64_t deadline;  // t->deadline, here so that sifts need not read t
    Timer* t;
  };
  static constexpr std::uint32_t kArity = 4;  // children a node
  void place(std::uint32_t i, Entry e) noexcept {
    a_[i] = e;
    e.t->index = i;
  }
  void publish() noexcept;

  std::mutex m_;                    // a syscall (a wake-up) may happen under it
  std::vector<Entry> a_;            // the heap, ordered by deadline; guarded by m_
  // a_[0].deadline or kNever: written under m_, read anywhere. seq_cst: the
  // arming side of the Dekker pair with the keeper (timers.cpp).
  std::atomic<std::int64_t> next_{kNever};
};

// A runtime's timers: one heap per worker, and the keeper.
struct Timers {
  explicit Timers(unsigned workers) : heaps(workers) {}
  std::vector<TimerHeap> heaps;
  std::atomic<Worker*> keeper{nullptr};          // the idle worker sleeping until the next deadline
  std::atomic<std::int64_t> keeper_until{kNever}; // ... and until when (kNever: no keeper, or no timers)
  std::int64_t earliest() const noexcept;         // over every heap
};

// A runtime's timers (current_worker() is runtime_impl.hpp's).
Timers& timers_of(RuntimeImpl& rt) noexcept;
// Arms t on the calling worker's heap and makes sure somebody will fire it.
void arm_timer(Worker& w, Timer* t);
// Wakes the keeper k without picking it: it looks at the heaps again.
void poke_keeper(Worker* k) noexcept;

}  // namespace green::detail
