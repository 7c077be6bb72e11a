// Stacks for tasks: mmap'd, committed by the kernel on first touch, reused
// through a per-thread cache (stack.cpp).
//
// Where a stack comes from is the stack source's business
// (stack_source.hpp): in this stage, every stack is guarded (below), so an
// overflow faults at once and the SIGSEGV handler reports it
// (signal_stack.hpp). Stage 4 replaces the source to fit a million tasks.
//
// Pages are committed on first touch (MAP_NORESERVE), so a big stack costs
// address space, not memory, until it is used.
#pragma once
#include <cstddef>
#include <cstdint>

namespace green::detail {

// x86-64 Linux pages; stack_source.cpp checks it against sysconf at startup.
inline constexpr std::size_t kPageSize = 4096;

struct Stack {
  std::byte* lo = nullptr;   // lowest usable byte; the stack grows down toward it
  std::size_t size = 0;      // usable bytes: round_stack_size() of the request
  std::uintptr_t origin = 0; // the source's note of where it came from
                             // (0: a guarded mapping of its own)
  unsigned valgrind_id = 0;  // VALGRIND_STACK_REGISTER id (0 when not under Valgrind)

  std::byte* hi() const noexcept { return lo + size; }
  explicit operator bool() const noexcept { return lo != nullptr; }
};

inline std::size_t page_size() noexcept { return kPageSize; }
inline std::size_t round_to_pages(std::size_t bytes) noexcept { return (bytes + kPageSize - 1) & ~(kPageSize - 1); }

// A stack of round_stack_size(size) usable bytes, from this thread's cache if
// one of that size is there, else from the source. Throws std::bad_alloc when
// the kernel refuses the memory. Callers hold PreemptOff (the cache is the
// thread's).
Stack stack_allocate(std::size_t size);
// Gives a stack back: to this thread's cache, or to the source when the cache
// is full.
void stack_release(Stack s) noexcept;

// A guarded stack: a mapping of its own with a PROT_NONE page below `lo`, so
// an overflow faults at once. The mprotect splits the mapping, so each costs
// two of the kernel mappings the whole process may have (vm.max_map_count,
// 65,530 by default; malloc and thread stacks need them too): {} when they
// have run out, std::bad_alloc without memory. (Stage 4 rations them.)
Stack map_guarded(std::size_t size);
void unmap_guarded(const Stack& s) noexcept;

}  // namespace green::detail

#include <green/detail/stack_source.hpp>
