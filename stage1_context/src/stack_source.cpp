// The stack source: one guarded mapping per stack. See
// include/green/detail/stack_source.hpp.
#include <green/detail/stack.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <sys/mman.h>
#include <unistd.h>

namespace green::detail {

// x86-64 Linux pages are 4 KiB (kPageSize); checked once at startup rather
// than asked on every spawn.
[[maybe_unused]] static const bool page_size_checked = [] {
  if (static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) != kPageSize) {
    std::fputs("green: this build assumes 4 KiB pages\n", stderr);
    std::abort();
  }
  return true;
}();

std::size_t round_stack_size(std::size_t bytes) noexcept { return bytes ? round_to_pages(bytes) : kPageSize; }

Stack stack_map(std::size_t size) {
  // BEGIN SOLUTION
  void* base = mmap(nullptr, kPageSize + size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  if (mprotect(base, kPageSize, PROT_NONE) != 0) {  // ENOMEM: out of mappings
    munmap(base, kPageSize + size);
    throw std::bad_alloc();
  }
  return Stack{static_cast<std::byte*>(base) + kPageSize, size};
  // STUB: (void)size;
  // STUB: unimplemented("stage 1: stack_map (stack_source.cpp) is yours to write");
  // END SOLUTION
}

void stack_unmap(const Stack& s) noexcept { munmap(s.lo - kPageSize, kPageSize + s.size); }

}  // namespace green::detail
