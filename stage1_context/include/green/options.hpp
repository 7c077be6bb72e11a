// Public vocabulary shared by every scheduler: task ids, priorities, spawn options.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace green {

using TaskId = std::uint64_t;  // unique per process, never reused; 0 = none

// Higher runs first (16 levels: stage 4 packs a priority into 4 bits).
inline constexpr int kMinPriority = 0, kMaxPriority = 15, kDefaultPriority = 8;

struct SpawnOptions {
  std::string_view name = {};  // copied
  int priority = kDefaultPriority;  // out of range: std::invalid_argument
  bool small_stack = false;    // use the small stack class
  std::size_t stack_size = 0;  // 0: the class default; else rounded up to pages (from
                               // stage 4, below a page: to 1 KiB, at least 2 KiB)
};

// Largest stack a task may ask for; more is refused with std::invalid_argument.
inline constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;  // 1 GiB

}  // namespace green
