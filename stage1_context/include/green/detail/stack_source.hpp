// The stack source: where stacks come from and how they go back
// (stack_source.cpp). The extension point stage 4 shadows.
//
// Here every stack is guarded (stack.hpp), whole pages. An overflow faults on
// the guard page at once, so stack_intact has nothing to check. When the
// process is out of mappings (about 32,000 live stacks), stack_map throws
// std::bad_alloc, and the task that needed it ends so.
#pragma once
#include <green/detail/stack.hpp>

namespace green::detail {

// The usable size a request for `bytes` gets: whole pages, at least one.
std::size_t round_stack_size(std::size_t bytes) noexcept;
// A fresh stack of size bytes (already rounded). Throws std::bad_alloc.
Stack stack_map(std::size_t size);
void stack_unmap(const Stack& s) noexcept;
// Did the task stay on s? Checked at every switch-out, so it must be a few
// loads at most. A guard page catches every overflow the moment it happens.
inline bool stack_intact(const Stack&) noexcept { return true; }

}  // namespace green::detail
