// The two futex calls: sleep while a 32-bit word holds a value, and wake the
// sleepers on it. A FUTEX_WAIT that finds another value returns at once, so a
// wake that lands between a check and the wait is never lost.
#pragma once
#include <atomic>
#include <cstdint>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace green::detail {

// Sleeps while word == expected, at most until `deadline` on CLOCK_MONOTONIC
// (nullptr: no limit). Returns early on a wake, a signal or spuriously:
// callers re-check their condition.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const timespec* deadline = nullptr) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
          deadline ? FUTEX_WAIT_BITSET_PRIVATE : FUTEX_WAIT_PRIVATE, expected, deadline, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

inline void futex_wake(std::atomic<std::uint32_t>& word, int n = 1) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

}  // namespace green::detail
