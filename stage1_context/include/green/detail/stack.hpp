// Stacks for tasks: mmap'd, lazily committed, guarded where the kernel allows,
// reused through a per-thread cache.
//
// Two kinds, one descriptor:
//  - Guarded: a mapping of its own with a PROT_NONE page below `lo`. An
//    overflow faults on the guard page; the SIGSEGV handler (on an alternate
//    signal stack) prints "green: stack overflow in task <id> "<name>"" and
//    aborts. Each costs two kernel mappings (VMAs), and the kernel allows
//    vm.max_map_count (65530 by default) per process, so guarded stacks are
//    rationed: at most guard_budget() of them live at once.
//  - Slab: carved from a shared mapping of kSlabStacks stacks, no guard page,
//    a canary word at `lo` instead. Overflow is detected when the task next
//    switches (canary or saved stack pointer out of bounds), or at once if it
//    faults just below the stack. This is what lets 100,000+ tasks live at once.
//
// Pages are committed by the kernel on first touch (MAP_NORESERVE), so a big
// stack costs address space, not memory, until used.
#pragma once
#include <cstddef>
#include <cstdint>

namespace green::detail {

struct Slab;

struct Stack {
  std::byte* lo = nullptr;  // lowest usable byte; the stack grows down toward it
  std::size_t size = 0;     // usable bytes, a multiple of the page size
  Slab* slab = nullptr;     // nullptr: a guarded mapping of its own
  unsigned valgrind_id = 0; // VALGRIND_STACK_REGISTER id (0 when not under Valgrind)

  std::byte* hi() const noexcept { return lo + size; }
  bool guarded() const noexcept { return slab == nullptr; }
  explicit operator bool() const noexcept { return lo != nullptr; }
};

inline constexpr std::uint64_t kStackCanary = 0x6772'6565'6e21'5354ULL;  // "green!ST"
inline constexpr std::size_t kSlabStacks = 32;

std::size_t page_size() noexcept;
std::size_t round_to_pages(std::size_t bytes) noexcept;

// A stack of at least `size` usable bytes (rounded up to pages), from this
// thread's cache if one of that size is there. Throws std::bad_alloc when the
// kernel refuses the memory.
Stack stack_allocate(std::size_t size);
// Gives a stack back: to this thread's cache, or to the kernel when the cache is full.
void stack_release(Stack s) noexcept;

// True if the stack's canary is intact (always true for guarded stacks, whose
// guard page does that job).
inline bool stack_canary_ok(const Stack& s) noexcept {
  return s.guarded() || *reinterpret_cast<const std::uint64_t*>(s.lo) == kStackCanary;
}

// How many guarded stacks may be live at once (default: a quarter of
// vm.max_map_count, leaving the rest of the mappings to the program).
std::size_t guard_budget() noexcept;
void set_guard_budget(std::size_t n) noexcept;   // for tests and tuning
std::size_t guarded_stacks_live() noexcept;

// Installs the SIGSEGV handler (once per process) and an alternate signal
// stack for the calling thread (once per thread). Every thread that runs tasks
// calls this before it runs the first one.
void install_overflow_handler();

// Reports an overflow of the running task's stack and aborts. Async-signal-safe.
[[noreturn]] void report_stack_overflow(std::uint64_t id, const char* name) noexcept;

}  // namespace green::detail
