// The stack source: every stack guarded. See include/green/detail/stack_source.hpp.
#include <green/detail/stack.hpp>

#include <new>

namespace green::detail {

std::size_t round_stack_size(std::size_t bytes) noexcept { return bytes ? round_to_pages(bytes) : kPageSize; }

Stack stack_map(std::size_t size) {
  Stack s = map_guarded(size);
  if (!s) throw std::bad_alloc();  // out of mappings: stage 4 makes room for more
  return s;
}

void stack_unmap(const Stack& s) noexcept { unmap_guarded(s); }

}  // namespace green::detail
