// The stack source, for a million tasks: guarded mappings up to a budget,
// then slabs of stacks with canaries; sub-page stacks (stack_source.cpp).
// It replaces stage 1's, where every stack was a guarded mapping of its own.
//
// Sizes. A request is rounded up to a page multiple if it is a page or more;
// below a page it is rounded up to a multiple of kSubPageGranule (1 KiB), at
// least kMinStackSize (2 KiB), and honoured as such: two 2 KiB stacks share a
// page, which is what brings a parked task near Go's figure.
//
// Two kinds, one descriptor (Stack::origin, below):
//  - Guarded (stage 1's map_guarded), while the guard budget lasts (below).
//    Only page-sized stacks are ever guarded (a guard page would cost more
//    than a sub-page stack).
//  - Slab: carved from a shared mapping of slab_stacks(size) stacks, no guard
//    page between them (one below the whole slab). Overflow is detected when
//    the task next switches (canary or saved stack pointer out of bounds), or
//    at once if it faults below the stack (a recursion that runs off the
//    slab's low end faults on that page).
//    The canary differs by size:
//      page-sized: a canary region of kCanaryGap bytes (one page) below each
//        stack, inside the slab, that nothing ever writes. The check reads its
//        top kCanaryWords words (nearest the stack, where an overflow lands
//        first) and wants zeros. A never-written anonymous page that is only
//        read maps the kernel's shared zero page: the canary costs no
//        resident memory, so a parked task's stack costs only the page its
//        frames are on.
//      sub-page: the word kStackCanary written at `lo` (that page is resident
//        anyway, shared with the neighbouring stacks).
//      Fenced: where the kernel has guard regions (MADV_GUARD_INSTALL, Linux
//        6.13), a page-sized slab stack's canary gap is made one instead: a
//        page that faults on any access like a guard page, but with no
//        mapping of its own and no memory. The overflow is then caught at
//        once, and nothing reads the gap. Some kernels never map the zero
//        page (a VM's pvm_no_zero_page), where a read canary would cost a
//        resident page per stack: fencing is what keeps it free there.
//    Slabs are what let 1,000,000 tasks live at once.
//
// Stack::origin is a tagged pointer (tagged_ptr.hpp's idea): 0 for a guarded
// stack, else the Slab it was carved from, with bit 0 set if its gap is
// fenced (a Slab is 8-byte aligned, so bit 0 is free).
#pragma once
#include <green/detail/stack.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace green::detail {

struct Slab;

inline constexpr std::size_t kMinStackSize = 2048;    // smallest stack handed out
inline constexpr std::size_t kSubPageGranule = 1024;  // sub-page sizes are multiples of this
// Sub-page slab stacks: the word at `lo`.
inline constexpr std::uint64_t kStackCanary = 0x6772'6565'6e21'5354ULL;  // "green!ST"
// Page-sized slab stacks: [lo - kCanaryGap, lo) is never written; the check
// reads [lo - kCanaryWords * 8, lo), one cache line.
inline constexpr std::size_t kCanaryGap = kPageSize;
inline constexpr std::size_t kCanaryWords = 8;
// A slab holds max(kSlabMinStacks, kSlabTargetBytes / slot) stacks, where a
// slot is a stack plus its canary gap, above one PROT_NONE page (2 mappings a
// slab): few enough that 1,000,000 16 KiB slab stacks need about 4,800
// mappings (plus the guarded stacks' 2 x budget, 32,764 by default).
inline constexpr std::size_t kSlabMinStacks = 32;
inline constexpr std::size_t kSlabTargetBytes = std::size_t{8} << 20;
inline constexpr std::uintptr_t kFencedBit = 1;

inline bool is_guarded(const Stack& s) noexcept { return s.origin == 0; }
inline bool is_fenced(const Stack& s) noexcept { return (s.origin & kFencedBit) != 0; }
inline Slab* slab_of(const Stack& s) noexcept { return reinterpret_cast<Slab*>(s.origin & ~kFencedBit); }
inline bool is_sub_page(const Stack& s) noexcept { return s.size < kPageSize; }

// ---- Guarded stacks, rationed (guard_budget.cpp) ----------------------------
// Each guarded stack costs two of the mappings the whole process may have
// (vm.max_map_count), so at most guard_budget() are live at once: by default
// a quarter of the limit, half the mappings, the other half left to the
// program. Past it a page-sized stack comes from a slab instead.
Stack map_guarded_in_budget(std::size_t size);  // {} past the budget or out of mappings;
                                                // std::bad_alloc without memory
// Unmaps n guarded stacks, sorted by address in place first: neighbours (one's
// mapping ends where the next one's begins, as mmap tends to place them) go
// in one munmap, so one system call and one TLB shootdown for the run.
void unmap_guarded_batch(Stack* s, std::size_t n) noexcept;
std::size_t guard_budget() noexcept;
void set_guard_budget(std::size_t n) noexcept;  // for tests and tuning
std::size_t guarded_stacks_live() noexcept;

// The usable size a request for `bytes` gets (see "Sizes" above).
std::size_t round_stack_size(std::size_t bytes) noexcept;
// How many stacks of round_stack_size(size) bytes one slab holds.
std::size_t slab_stacks(std::size_t size) noexcept;
// A stack of size bytes (already rounded): one given back earlier if the
// depot has one, else a fresh one, guarded while the budget lasts
// (page-sized only), else from a slab. Throws std::bad_alloc.
Stack stack_map(std::size_t size);
// Into the depot (stack_source.cpp, "The depot"), or back to where it came
// from if the depot holds kDepotMax.
void stack_unmap(const Stack& s) noexcept;
inline constexpr std::size_t kDepotMax = std::size_t{1} << 17;
// Gives up to n stacks (at most a batch) from the depot back; true if some
// are left. When the depot is empty, guarded stacks waiting for a batch go too.
bool give_back_stacks(std::size_t n) noexcept;
std::size_t depot_stacks() noexcept;  // how many the depot holds

// A worker about to sleep (its sleep hook) empties the depot, a batch at a
// time, until it is woken or poked (its wake word leaves 0).
inline void give_back_stacks_while_idle(const std::atomic<std::uint32_t>& wake) noexcept {
  // relaxed: only a hint to stop early; the worker's sleep reads it properly.
  while (wake.load(std::memory_order_relaxed) == 0 && give_back_stacks(256)) {}
}

// Called as a worker starts: when its thread exits, the depot is emptied,
// after the thread's stack cache has emptied into it (that cache is made
// later, at the thread's first task, so it is destroyed first). A runtime
// that is gone leaves no stacks behind for idle workers it no longer has.
inline void give_back_stacks_at_thread_exit() noexcept {
  struct Drain {
    ~Drain() {
      while (give_back_stacks(256)) {}
    }
  };
  static thread_local Drain drain;
  (void)drain;
}

// True if the stack's canary is intact (always true for guarded and fenced
// stacks, whose guard page does that job). Called at every switch-out: a few loads.
inline bool stack_intact(const Stack& s) noexcept {
  if (is_guarded(s) || is_fenced(s)) return true;
  if (is_sub_page(s)) return *reinterpret_cast<const std::uint64_t*>(s.lo) == kStackCanary;
  const auto* w = reinterpret_cast<const std::uint64_t*>(s.lo) - kCanaryWords;
  std::uint64_t any = 0;
#pragma GCC unroll 8  // straight-line loads and ors: no loop on every switch
  for (std::size_t i = 0; i < kCanaryWords; ++i) any |= w[i];
  return any == 0;
}

}  // namespace green::detail
