// TaskWord, stage 4: stage 1's TaskWordCell packs its fields into one 32-bit
// word with a new "woken" bit and becomes atomic, so that a wake-up may race a
// park and is still never lost. One word, so one compare-exchange changes it.
//
//   bit  31 ...... 10 | 9     | 8       | 7           | 6 .. 3   | 2     | 1 .. 0
//        (reserved, 0) | named | sampled | small stack | priority | woken | state
//
// Stages 2-3 let a waker see a parking task only after it had switched out
// (park's callback runs on the worker's stack). That costs a callback per
// park, and it forces every waiter to announce itself from that callback. Now
// a task may announce itself first (put itself in a join slot, a wait list)
// and park afterwards; the waker may come in between. The race is decided by
// one compare-exchange on each side:
//
//   park (on the loop, after the switch):  Running       -> Waiting
//                                          Running+woken -> Ready (queued again: no sleep)
//   unpark (by the waker):                 Waiting       -> Ready (the waker queues it)
//                                          Running       -> Running+woken (park will see it)
//
// Whichever CAS comes second sees the other's result, so exactly one of the
// two queues the task, and only after it has switched out.
#pragma once
#include <green/detail/unimplemented.hpp>
#include <green/detail/debug.hpp>

#include <atomic>
#include <cstdint>

namespace green::detail {

enum class TaskState : std::uint8_t {
  Ready = 0,    // in a run queue, or about to be
  Running = 1,  // on a worker, right now (or switching out to park)
  Waiting = 2,  // parked: only an unpark makes it Ready again
  Done = 3,     // its function returned or threw; it never runs again
};

class TaskWord {
 public:
  static constexpr std::uint32_t kStateBits = 2, kWokenShift = 2, kPriorityShift = 3, kPriorityBits = 4,
                                 kSmallShift = 7, kSampledShift = 8, kNamedShift = 9;
  static constexpr std::uint32_t kStateMask = (1u << kStateBits) - 1;
  static constexpr std::uint32_t kWokenMask = 1u << kWokenShift;
  static constexpr std::uint32_t kPriorityMask = ((1u << kPriorityBits) - 1) << kPriorityShift;
  static constexpr std::uint32_t kSmallMask = 1u << kSmallShift;
  static constexpr std::uint32_t kSampledMask = 1u << kSampledShift;  // see TaskWordCell::set_sampled
  static constexpr std::uint32_t kNamedMask = 1u << kNamedShift;  // the task has a name (task.hpp)
  static constexpr std::uint32_t kUsedMask =
      kStateMask | kWokenMask | kPriorityMask | kSmallMask | kSampledMask | kNamedMask;

  constexpr TaskWord() = default;
  constexpr TaskWord(TaskState s, int priority, bool small) noexcept {
    // BEGIN SOLUTION
    bits_ = static_cast<std::uint32_t>(s) | (static_cast<std::uint32_t>(priority) << kPriorityShift) |
            (small ? kSmallMask : 0);
    // STUB: (void)s, (void)priority, (void)small;
    // STUB: unimplemented_constexpr("stage 4: the TaskWord constructor (task_word.hpp) is yours to write");
    // END SOLUTION
  }
  static constexpr TaskWord from_bits(std::uint32_t b) noexcept { return TaskWord(b); }

  constexpr TaskState state() const noexcept { return static_cast<TaskState>(bits_ & kStateMask); }
  // A wake-up arrived while the task was still Running: its next park returns at once.
  constexpr bool woken() const noexcept { return bits_ & kWokenMask; }
  constexpr int priority() const noexcept { return static_cast<int>((bits_ & kPriorityMask) >> kPriorityShift); }
  constexpr bool small_stack() const noexcept { return bits_ & kSmallMask; }
  constexpr bool sampled() const noexcept { return bits_ & kSampledMask; }
  constexpr bool named() const noexcept { return bits_ & kNamedMask; }
  constexpr std::uint32_t bits() const noexcept { return bits_; }

  constexpr TaskWord with_state(TaskState s) const noexcept {
    return TaskWord((bits_ & ~kStateMask) | static_cast<std::uint32_t>(s));
  }
  constexpr TaskWord with_woken(bool w) const noexcept { return TaskWord((bits_ & ~kWokenMask) | (w ? kWokenMask : 0)); }
  constexpr TaskWord with_sampled(bool s) const noexcept {
    return TaskWord((bits_ & ~kSampledMask) | (s ? kSampledMask : 0));
  }
  // priority must already be validated (kMinPriority..kMaxPriority).
  constexpr TaskWord with_priority(int p) const noexcept {
    return TaskWord((bits_ & ~kPriorityMask) | (static_cast<std::uint32_t>(p) << kPriorityShift));
  }
  constexpr bool operator==(const TaskWord&) const = default;

 private:
  constexpr explicit TaskWord(std::uint32_t bits) : bits_(bits) {}
  std::uint32_t bits_ = 0;
};
// The debugger reads the word with these (gdb/green.py), and a task's state
// as TaskState's values.
static_assert(TaskWord::kStateMask == 0x3 && TaskWord::kPriorityShift == 3 && TaskWord::kPriorityBits == 4 &&
                  TaskWord::kNamedShift == 9,
              "gdb/green.py decodes the task word with these");
static_assert(sizeof(TaskWord) == 4, "gdb/green.py reads the task word as 4 bytes");

static_assert(sizeof(TaskWord) == 4);

// The word as the TCB holds it. Only park and unpark race, and each is one
// compare-exchange. The owner's transitions (start_running, stop_running,
// finish, set_priority) race with nothing, by this invariant:
//   a task that has announced itself to a waker parks before it yields or
//   ends (join and every wait list do so from runtime code, with nothing in
//   between), and park clears "woken" before the task can run again;
// so they are plain stores. Debug builds check the invariant with a CAS.
class TaskWordCell {
 public:
  static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

  // relaxed: whoever reads the word outside the CASes below got the task
  // through a queue or a CAS that already ordered it.
  TaskWord load() const noexcept { return TaskWord::from_bits(bits_.load(std::memory_order_relaxed)); }
  void store(TaskWord w) noexcept { bits_.store(w.bits(), std::memory_order_relaxed); }  // before the task is shared
  void init(TaskState s, int priority, bool small) noexcept { store(TaskWord(s, priority, small)); }  // (spawn)
  TaskState state() const noexcept { return load().state(); }
  int priority() const noexcept { return load().priority(); }
  bool small_stack() const noexcept { return load().small_stack(); }
  bool named() const noexcept { return load().named(); }
  void set_named() noexcept { store(TaskWord::from_bits(load().bits() | TaskWord::kNamedMask)); }  // before the task is shared

  void set_priority(int p) noexcept {
    owner_update(TaskState::Running, [p](TaskWord w) { return w.with_priority(p); }, "set_priority off its task");
  }
  // The latency sample (dispatcher.hpp's mark_runnable): set by whoever
  // made the task Ready and owns it until it queues it (relaxed: the queue
  // push publishes it); start_running takes it off and says whether it was there.
  void set_sampled() noexcept { store(load().with_sampled(true)); }
  bool start_running() noexcept {
    return owner_update(TaskState::Ready, [](TaskWord w) { return w.with_state(TaskState::Running).with_sampled(false); },
                        "a task was resumed twice, or while it was still running")
        .sampled();
  }
  void stop_running() noexcept {
    owner_update(TaskState::Running, [](TaskWord w) { return w.with_state(TaskState::Ready); }, "yield of a task not running");
  }
  void finish() noexcept {
    owner_update(TaskState::Running, [](TaskWord w) { return w.with_state(TaskState::Done); }, "end of a task not running");
  }

  // On the loop, once the task has switched out to park. True: it is Waiting
  // until an unpark. False: a wake-up came first; it is Ready, queue it.
  bool park() noexcept {
    // BEGIN SOLUTION
    std::uint32_t old = bits_.load(std::memory_order_relaxed);
    for (;;) {
      TaskWord w = TaskWord::from_bits(old);
      GREEN_CHECK(w.state() == TaskState::Running, "park of a task that is not running");
      TaskWord next = w.woken() ? w.with_woken(false).with_state(TaskState::Ready) : w.with_state(TaskState::Waiting);
      // acq_rel. Release: the waker whose CAS reads Waiting then sees the
      // context the task saved as it switched out (it queues the task next).
      // Acquire: pairs with unpark's release when it set woken, so the task
      // resumes seeing what its waker wrote.
      if (bits_.compare_exchange_weak(old, next.bits(), std::memory_order_acq_rel, std::memory_order_relaxed))
        return !w.woken();
    }
    // STUB: unimplemented("stage 4: TaskWordCell::park is yours to write (include/green/detail/task_word.hpp)");
    // END SOLUTION
  }
  // By the waker, once per park. True: the task is Ready and the caller must
  // queue it. False: it had not finished parking; its park will not sleep.
  bool unpark() noexcept {
    // BEGIN SOLUTION
    std::uint32_t old = bits_.load(std::memory_order_relaxed);
    for (;;) {
      TaskWord w = TaskWord::from_bits(old);
      bool parked = w.state() == TaskState::Waiting;
      GREEN_CHECK(parked || (w.state() == TaskState::Running && !w.woken()),
                  "unpark of a task that is neither parked nor parking (two wake-ups for one park?)");
      TaskWord next = parked ? w.with_state(TaskState::Ready) : w.with_woken(true);
      // acq_rel: the mirror of park's. Acquire: pairs with park's release
      // (the saved context). Release: publishes this side's writes to the
      // task through woken, read by park's acquire.
      if (bits_.compare_exchange_weak(old, next.bits(), std::memory_order_acq_rel, std::memory_order_relaxed))
        return parked;
    }
    // STUB: unimplemented("stage 4: TaskWordCell::unpark is yours to write (include/green/detail/task_word.hpp)");
    // END SOLUTION
  }

 private:
  // The owner's transition. relaxed: see load(); what follows it (a queue
  // push, a switch) orders it for the next reader.
  template <class F>
  TaskWord owner_update(TaskState from, F change, [[maybe_unused]] const char* misuse) noexcept {  // returns the old word
    TaskWord old = load();
    GREEN_CHECK(old.state() == from && !old.woken(), misuse);
#if GREEN_DEBUG
    std::uint32_t seen = old.bits();
    GREEN_CHECK(bits_.compare_exchange_strong(seen, change(old).bits(), std::memory_order_relaxed),
                "a wake-up raced the task's own transition (woken while not parking?)");
#else
    (void)from;
    bits_.store(change(old).bits(), std::memory_order_relaxed);
#endif
    return old;
  }

  std::atomic<std::uint32_t> bits_{0};
};

}  // namespace green::detail
