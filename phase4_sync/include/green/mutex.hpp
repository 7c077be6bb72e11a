// Mutex: a lock that parks tasks (phase 4). Works with std::lock_guard,
// std::unique_lock and std::scoped_lock, from tasks and plain threads (which
// block on a futex). Not recursive: locking a Mutex you already hold is a
// wait-for cycle of one and throws DeadlockError.
//
// Barging, with a starvation guard: unlock() releases the lock and wakes the
// oldest waiter, which then competes with whoever comes along (a running
// task usually wins: no switch, and the lock stays warm in its cache); while
// a woken waiter has not tried yet, unlock wakes nobody else. Once
// the oldest waiter has waited kStarvation (1 ms, as Go's sync.Mutex),
// unlock() hands the lock to it directly instead.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>

namespace green {

// Thrown by a lock() or join() that would close a wait-for cycle (what()
// names every task and lock of it; detail/wait_graph.hpp), and by
// Runtime::run when every task of the runtime is blocked for good.
class DeadlockError : public std::system_error {
 public:
  explicit DeadlockError(const std::string& what)
      : std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur), what) {}
};

class Mutex;
namespace detail {
const void* holder_of(const Mutex& m) noexcept;
}

class Mutex {
 public:
  static constexpr std::int64_t kStarvation = 1'000'000;  // ns a waiter may wait before hand-off

  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock();
  bool try_lock() noexcept;
  // The caller must hold it; otherwise the process aborts with a message.
  void unlock();

 private:
  // kWaiters: waiters_ is not empty. kWoken: a waiter was woken (not handed
  // the lock) and has not tried again yet. Both change under guard_ only.
  static constexpr std::uint32_t kLocked = 1, kWaiters = 2, kWoken = 4;
  bool try_acquire() noexcept;
  void lock_slow(const void* self);
  void unlock_slow();

  std::atomic<std::uint32_t> state_{0};
  std::atomic<const void*> owner_{nullptr};  // its holder (detail::self_id), or nullptr
  friend const void* detail::holder_of(const Mutex& m) noexcept;
  detail::SpinLock guard_;                   // guards waiters_ and kWaiters
  detail::WaitList waiters_{"green::Mutex", this, [](const void* m) noexcept {
                              return detail::holder_of(*static_cast<const Mutex*>(m));
                            }};
};

}  // namespace green
