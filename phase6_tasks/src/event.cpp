// Event: see include/green/detail/event.hpp.
#include <green/detail/event.hpp>

#include <green/detail/futex.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/task.hpp>
#include <green/detail/waiter.hpp>
#include <green/detail/unimplemented.hpp>

#include <limits>

namespace green::detail {

void Event::wait() {
  // BEGIN SOLUTION
  if (is_set()) return;
  if (Task* self = current_task()) {
    // Announce, then park, with nothing in between that could switch
    // (TaskWordCell's invariant): an unpark that comes first sets woken.
    PreemptOff no_preempt;
    std::uintptr_t expected = 0;
    // acq_rel: release so set() sees a whole waiter; acquire on failure
    // pairs with set()'s release (expected is kSet: the setter's writes are
    // ours).
    if (!word_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(self), std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      return;
    Waiting waiting(self, "task group or future", 0);
    park_current(nullptr, nullptr);
    // set() made us Ready; its exchange's release pairs with the park's
    // acquire (task_word.hpp), so we see what it published.
    return;
  }
  Parker* p = thread_parker();
  std::uintptr_t expected = 0;
  if (!word_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(p) | kThread,
                                     std::memory_order_acq_rel, std::memory_order_acquire))
    return;
  for (;;) {
    // acquire: pairs with set()'s release bump of gen. gen is read before
    // the word, so a set() this misses bumps gen after, and the futex wait
    // returns at once.
    std::uint32_t gen = p->gen.load(std::memory_order_acquire);
    if (is_set()) return;
    futex_wait(p->gen, gen);
  }
  // STUB: unimplemented("phase 6: Event::wait (event.cpp) is yours to write");
  // END SOLUTION
}

void Event::set() noexcept {
  // BEGIN SOLUTION
  // acq_rel: release publishes the setter's writes (a result, a count) to
  // the waiter's acquire; acquire pairs with the waiter's CAS, so the
  // sleeper found here is seen whole.
  std::uintptr_t old = word_.exchange(kSet, std::memory_order_acq_rel);
  if (old == 0 || old == kSet) return;
  if (old & kThread) {
    Parker* p = reinterpret_cast<Parker*>(old & ~kThread);
    p->gen.fetch_add(1, std::memory_order_release);  // pairs with wait()'s acquire load of gen
    futex_wake(p->gen, std::numeric_limits<int>::max());
  } else {
    unpark(reinterpret_cast<Task*>(old));
  }
  // STUB: unimplemented("phase 6: Event::set (event.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
