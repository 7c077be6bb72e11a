// CondVar: a condition variable over green::Mutex (phase 4). No lost
// wake-ups: a waiter is queued before it releases the mutex, so a notify
// that follows the release finds it. Spurious wake-ups may happen; the
// predicate overloads loop. Timed waits return std::cv_status::timeout when
// the deadline passed first. Notify from tasks or plain threads.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>
#include <green/mutex.hpp>
#include <green/sleep.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace green {

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // lk must hold its mutex (else std::system_error, operation_not_permitted).
  void wait(std::unique_lock<Mutex>& lk) { wait_until_ns(lk, detail::kNever); }
  template <class P>
  void wait(std::unique_lock<Mutex>& lk, P pred) {
    while (!pred()) wait(lk);
  }
  template <class R, class P>
  std::cv_status wait_for(std::unique_lock<Mutex>& lk, std::chrono::duration<R, P> d) {
    if (d <= d.zero()) return std::cv_status::timeout;
    return wait_until_ns(lk, detail::now_ns() + detail::saturated_ns(d)) ? std::cv_status::no_timeout
                                                                          : std::cv_status::timeout;
  }
  template <class C, class D>
  std::cv_status wait_until(std::unique_lock<Mutex>& lk, std::chrono::time_point<C, D> tp) {
    auto now = C::now();
    if (now >= tp) return std::cv_status::timeout;
    bool woken = wait_until_ns(lk, detail::now_ns() + detail::saturated_ns(tp - now));
    // Another clock may have moved differently: its own word decides.
    return woken && C::now() < tp ? std::cv_status::no_timeout : std::cv_status::timeout;
  }
  template <class R, class Per, class P>
  bool wait_for(std::unique_lock<Mutex>& lk, std::chrono::duration<R, Per> d, P pred) {
    return wait_until(lk, std::chrono::steady_clock::now() + d, std::move(pred));
  }
  template <class C, class D, class P>
  bool wait_until(std::unique_lock<Mutex>& lk, std::chrono::time_point<C, D> tp, P pred) {
    while (!pred())
      if (wait_until(lk, tp) == std::cv_status::timeout) return pred();
    return true;
  }

  void notify_one();
  void notify_all();

 private:
  // False if `deadline` (now_ns() units) passed before a notify.
  bool wait_until_ns(std::unique_lock<Mutex>& lk, std::int64_t deadline);

  detail::SpinLock guard_;
  detail::WaitList waiters_{"green::CondVar", this};  // guarded by guard_
};

}  // namespace green
