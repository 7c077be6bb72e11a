// The stack source for a million tasks: guarded stacks while the budget lasts
// (guard_budget.cpp), then slabs with canaries and fences. The design is
// explained in include/green/detail/stack_source.hpp.
#include <green/detail/stack.hpp>
#include <green/detail/unimplemented.hpp>

#include <mutex>
#include <new>
#include <span>
#include <vector>
#include <sys/mman.h>

namespace green::detail {

// BEGIN SOLUTION
std::size_t round_stack_size(std::size_t bytes) noexcept {
  if (bytes <= kMinStackSize) return kMinStackSize;
  if (bytes >= kPageSize) return round_to_pages(bytes);
  return (bytes + kSubPageGranule - 1) & ~(kSubPageGranule - 1);  // at most a page
}

// The canary gap below a slab stack: a page for page-sized stacks, none for
// sub-page ones (they carry a canary word). A slot is the gap and the stack.
static std::size_t canary_gap(std::size_t size) noexcept { return size < kPageSize ? 0 : kCanaryGap; }
static std::size_t slab_slot(std::size_t size) noexcept { return canary_gap(size) + size; }

std::size_t slab_stacks(std::size_t size) noexcept {
  std::size_t n = kSlabTargetBytes / slab_slot(round_stack_size(size));
  return n > kSlabMinStacks ? n : kSlabMinStacks;
}

namespace {

void* map_pages(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

}  // namespace

// ---- Slabs --------------------------------------------------------------
// A slab is one mapping cut into `capacity` slots of one stack size, above a
// PROT_NONE page; a slot is the canary gap (page-sized stacks only, see
// stack.hpp) and the stack above it. Slots are handed out in address order the
// first time (`carved`), so a slot never used is never touched; freed ones are
// linked through their stack's top word, on a page the stack's frames already
// made resident. Slabs with a free slot sit on their size's partial list; an
// empty slab is unmapped. All slab state (every field of every Slab, and
// g_partial) is guarded by g_slab_mutex: slabs are the fallback past the guard
// budget and the thread caches absorb most traffic, so one lock is enough.
//
// Invariants: used = carved - (stacks on `free`); a slab is on its partial
// list exactly when used < capacity; outside the lock, no slab has used == 0.
//
// Slab sizing (slab_stacks): max(kSlabMinStacks, kSlabTargetBytes / slot). At
// 8 MiB a slab, 1,000,000 16 KiB stacks take about 2,400 slabs, 4,800
// mappings (each slab's guard page splits it in two).

struct Slab {
  std::byte* base;            // the slots, capacity * slot bytes, a page above the mapping's start
  std::size_t stack_size;     // usable bytes per stack
  std::size_t gap;            // canary gap below each stack (0 for sub-page stacks)
  unsigned capacity;          // slots
  unsigned used = 0;          // stacks handed out
  unsigned carved = 0;        // slots [0, carved) have been handed out at least once
  bool fenced = false;        // every carved slot's gap is a guard region (fence())
  std::byte* free = nullptr;  // lo of freed stacks, linked through their top word
  Slab* prev = nullptr;       // partial list links
  Slab* next = nullptr;

  std::size_t slot() const noexcept { return gap + stack_size; }
  std::size_t bytes() const noexcept { return capacity * slot(); }
};

namespace {

std::mutex g_slab_mutex;
struct PartialList {
  std::size_t stack_size;
  Slab* head;
};
PartialList g_partial[8];  // one per stack size in use; guarded by g_slab_mutex

std::byte*& free_link(std::byte* lo, std::size_t size) { return *reinterpret_cast<std::byte**>(lo + size - sizeof(void*)); }

Slab*& partial_head(std::size_t size) {
  for (auto& p : g_partial)
    if (p.stack_size == size || p.stack_size == 0) {
      p.stack_size = size;
      return p.head;
    }
  throw std::bad_alloc();  // more than 8 distinct slab sizes: refuse rather than degrade
}

void unlink(Slab*& head, Slab* s) {
  (s->prev ? s->prev->next : head) = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
}

// Makes [p, p + n) a guard region (stack_source.hpp, "Fenced"). The first refusal
// (an older kernel, or Valgrind) turns fencing off for every later slab.
// Under g_slab_mutex.
bool g_fencing = true;
constexpr int kGuardInstall = 102, kGuardRemove = 103;  // MADV_GUARD_*: newer than our headers
bool fence(std::byte* p, std::size_t n) noexcept {
  if (madvise(p, n, kGuardInstall) == 0) return true;
  g_fencing = false;
  return false;
}
// A slab that could not fence a fresh slot goes back to canaries: its gaps
// must be readable again. Stacks already handed out keep fenced = true and go
// unchecked; the rest are read as canaries.
void unfence(Slab* s) noexcept {
  madvise(s->base, s->bytes(), kGuardRemove);
  s->fenced = false;
}

// The mapping is a PROT_NONE page, then the slots. The page bounds the damage
// of a runaway recursion on a slab stack to its own slab (it faults there, and
// on_segv reports it), where it would otherwise run on into whatever mapping
// lies below. It costs one more kernel mapping per slab; if mprotect fails
// (out of mappings), the slab goes without.
Slab* new_slab(std::size_t size) {
  auto* s = new Slab{nullptr, size, canary_gap(size), static_cast<unsigned>(slab_stacks(size))};
  std::byte* map;
  try {
    map = static_cast<std::byte*>(map_pages(kPageSize + s->bytes()));
  } catch (...) {
    delete s;
    throw;
  }
  mprotect(map, kPageSize, PROT_NONE);
  s->base = map + kPageSize;
  // Slabs are megabytes: where transparent huge pages are "always", one touch
  // would commit 2 MiB. Advice only; it may fail harmlessly.
  madvise(s->base, s->bytes(), MADV_NOHUGEPAGE);
  s->fenced = s->gap != 0 && g_fencing;
  return s;
}

Stack slab_allocate(std::size_t size) {
  std::lock_guard lock(g_slab_mutex);
  Slab*& head = partial_head(size);
  Slab* s = head;
  if (!s) {
    s = new_slab(size);
    head = s;
  }
  std::byte* lo;
  bool fresh = !s->free;
  if (!fresh) {
    lo = s->free;
    s->free = free_link(lo, size);
  } else {
    lo = s->base + s->slot() * s->carved++ + s->gap;
  }
  if (++s->used == s->capacity) unlink(head, s);
  // Sub-page: write the canary. Page-sized: fence the gap if it is fresh (a
  // guard region stays when its slot is reused), or else the gap below lo is
  // zero unless an overflow wrote it, and that was reported.
  if (s->gap == 0) *reinterpret_cast<std::uint64_t*>(lo) = kStackCanary;
  else if (fresh && s->fenced && !fence(lo - s->gap, s->gap)) unfence(s);
  return Stack{lo, size, reinterpret_cast<std::uintptr_t>(s) | (s->fenced ? kFencedBit : 0)};
}

void slab_release(const Stack& st) noexcept {
  std::lock_guard lock(g_slab_mutex);
  Slab* s = slab_of(st);
  Slab*& head = partial_head(s->stack_size);
  if (s->used-- == s->capacity) {  // was full: back on the partial list
    s->next = head;
    if (head) head->prev = s;
    head = s;
  }
  if (s->used == 0) {
    unlink(head, s);
    munmap(s->base - kPageSize, kPageSize + s->bytes());
    delete s;
    return;
  }
  free_link(st.lo, st.size) = s->free;
  s->free = st.lo;
}

}  // namespace

// A fresh stack: guarded while the budget lasts, else from a slab.
static Stack fresh_stack(std::size_t size) {
  Stack s;
  if (size >= kPageSize) s = map_guarded_in_budget(size);  // sub-page stacks: slabs only
  return s ? s : slab_allocate(size);
}

// Guarded stacks given back are unmapped a batch at a time, not one by one.
// Once a second thread has run, each munmap is a TLB shootdown (an interrupt
// to every other CPU the process ran on): some 50 us on a virtual machine, so
// 15,000 tasks ending together stalled their workers for most of a second.
// A batch holds the stacks of every thread, so neighbours from the same
// burst of spawns are in it together and go in one call (unmap_guarded_batch).
// Until then a retired stack still counts against the guard budget: it is
// still two mappings.
namespace {
constexpr std::size_t kRetireBatch = 256;
std::mutex g_retire_mutex;
Stack g_retired[kRetireBatch];  // guarded by g_retire_mutex
std::size_t g_nretired = 0;     // guarded by g_retire_mutex
}  // namespace

static void give_back(const Stack& s) noexcept {
  if (!is_guarded(s)) return slab_release(s);
  std::lock_guard lock(g_retire_mutex);
  g_retired[g_nretired++] = s;
  if (g_nretired == kRetireBatch) {
    unmap_guarded_batch(g_retired, g_nretired);  // under the lock: others wait a few munmaps, not one each
    g_nretired = 0;
  }
}

// ---- The depot ------------------------------------------------------------
// Giving a stack back is a munmap or a slab's bookkeeping (an empty slab is
// a munmap too), and on a virtual machine every page-table change is dear:
// 100,000 sleepers ending together spent a third of their time there, and
// on two workers each munmap also interrupted the other one. So stack_unmap
// puts the stack in the depot, stack_map takes one from there before it
// makes a fresh one (its pages are still resident: no page faults), and a
// worker that goes idle empties the depot (give_back_stacks, from its sleep
// hook) a batch at a time until it is wanted again. Past kDepotMax stacks
// the surplus goes back at once: a program that is never idle holds at most
// that many, and never more than it had live at its peak.
namespace {
struct DepotList {
  std::size_t stack_size = 0;
  std::vector<Stack> stacks;  // of stack_size bytes
};
std::mutex g_depot_mutex;
std::size_t g_depot_count = 0;  // stacks in all lists; guarded by g_depot_mutex

// One list per stack size; guarded by g_depot_mutex. Made on first use (a
// static initializer may spawn) and never destroyed: threads give their
// cached stacks back as they exit, even after static destructors, and a
// leak checker must still find the slabs of the stacks kept here.
std::span<DepotList, 8> depot() noexcept {
  static DepotList* const lists = new DepotList[8];
  return std::span<DepotList, 8>(lists, 8);
}

// The list for size: its own, or an empty one it takes over; nullptr if
// eight other sizes are waiting (then it goes back at once).
DepotList* depot_list(std::size_t size) noexcept {  // under g_depot_mutex
  for (DepotList& l : depot())
    if (l.stack_size == size) return &l;
  for (DepotList& l : depot())
    if (l.stacks.empty()) {
      l.stack_size = size;
      return &l;
    }
  return nullptr;
}
}  // namespace

Stack stack_map(std::size_t size) {
  {
    std::lock_guard lock(g_depot_mutex);
    DepotList* l = depot_list(size);
    if (l && !l->stacks.empty()) {
      Stack s = l->stacks.back();
      l->stacks.pop_back();
      --g_depot_count;
      return s;
    }
  }
  return fresh_stack(size);
}

void stack_unmap(const Stack& s) noexcept {
  {
    std::lock_guard lock(g_depot_mutex);
    if (DepotList* l = depot_list(s.size); l && g_depot_count < kDepotMax) {
      try {
        l->stacks.push_back(s);
        ++g_depot_count;
        return;
      } catch (const std::bad_alloc&) {  // no room to remember it: give it back now
      }
    }
  }
  give_back(s);
}

bool give_back_stacks(std::size_t n) noexcept {
  Stack batch[kRetireBatch];
  std::size_t got = 0;
  bool more;
  {
    std::lock_guard lock(g_depot_mutex);
    for (DepotList& l : depot())
      while (got < n && got < kRetireBatch && !l.stacks.empty()) {
        batch[got++] = l.stacks.back();
        l.stacks.pop_back();
      }
    g_depot_count -= got;
    more = g_depot_count != 0;
  }
  // Guarded ones in one go (neighbours share a munmap); slab ones one by one.
  std::size_t guarded = 0;
  for (std::size_t i = 0; i < got; ++i)
    if (is_guarded(batch[i])) batch[guarded++] = batch[i];
    else slab_release(batch[i]);
  unmap_guarded_batch(batch, guarded);
  if (!more) {  // and what waits for a retire batch to fill
    std::lock_guard lock(g_retire_mutex);
    unmap_guarded_batch(g_retired, g_nretired);
    g_nretired = 0;
  }
  return more;
}

std::size_t depot_stacks() noexcept {
  std::lock_guard lock(g_depot_mutex);
  return g_depot_count;
}

// STUB: std::size_t round_stack_size(std::size_t bytes) noexcept {
// STUB:   (void)bytes;
// STUB:   unimplemented("stage 4: round_stack_size (stack_source.cpp) is yours to write");
// STUB: }
// STUB: std::size_t slab_stacks(std::size_t size) noexcept {
// STUB:   (void)size;
// STUB:   unimplemented("stage 4: slab_stacks (stack_source.cpp) is yours to write");
// STUB: }
// STUB: Stack stack_map(std::size_t size) {
// STUB:   (void)size;
// STUB:   unimplemented("stage 4: stack_map (stack_source.cpp) is yours to write");
// STUB: }
// STUB: void stack_unmap(const Stack& s) noexcept {
// STUB:   (void)s;
// STUB:   unimplemented("stage 4: stack_unmap (stack_source.cpp) is yours to write");
// STUB: }
// STUB: bool give_back_stacks(std::size_t n) noexcept {
// STUB:   (void)n;
// STUB:   unimplemented("stage 4: give_back_stacks (stack_source.cpp) is yours to write");
// STUB: }
// STUB: std::size_t depot_stacks() noexcept {
// STUB:   unimplemented("stage 4: depot_stacks (stack_source.cpp) is yours to write");
// STUB: }
// END SOLUTION

}  // namespace green::detail
