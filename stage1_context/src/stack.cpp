// Guarded stacks, the per-thread stack cache, and telling Valgrind and ASan
// where stacks are.
// See include/green/detail/stack.hpp.
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

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

// ---- Guarded stacks -----------------------------------------------------------

Stack map_guarded(std::size_t size) {
  // BEGIN SOLUTION
  void* base = mmap(nullptr, kPageSize + size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  if (mprotect(base, kPageSize, PROT_NONE) != 0) {  // ENOMEM: the mapping would split, and
    munmap(base, kPageSize + size);                 // the process is out of mappings
    return {};
  }
  return Stack{static_cast<std::byte*>(base) + kPageSize, size};
  // STUB: (void)size;
  // STUB: unimplemented("stage 1: map_guarded (stack.cpp) is yours to write");
  // END SOLUTION
}

void unmap_guarded(const Stack& s) noexcept { munmap(s.lo - kPageSize, kPageSize + s.size); }

// ---- The per-thread cache -----------------------------------------------------

namespace {

// Stacks freed on this thread, by size, ready for the next spawn. Only the
// owning thread touches it. At thread exit everything goes back to the source.
struct StackCache {
  static constexpr std::size_t kClasses = 4, kMaxPerClass = 1024;
  struct Class {
    std::size_t size = 0;
    std::size_t count = 0;
    Stack items[kMaxPerClass];
  } classes[kClasses];

  Class* find(std::size_t size) noexcept {
    for (auto& c : classes)
      if (c.size == size) return &c;
    for (auto& c : classes)
      if (c.count == 0) {
        c.size = size;
        return &c;
      }
    return nullptr;
  }
  ~StackCache() {
    for (auto& c : classes)
      while (c.count) stack_unmap(c.items[--c.count]);
  }
};

// Heap-allocated so that threads pay no static TLS for it (it is ~128 KiB).
StackCache& cache() {
  static thread_local std::unique_ptr<StackCache> c{new StackCache};
  return *c;
}

}  // namespace

Stack stack_allocate(std::size_t size) {
  size = round_stack_size(size);
  StackCache::Class* c = cache().find(size);
  Stack s = c && c->count ? c->items[--c->count] : stack_map(size);
  s.valgrind_id = VALGRIND_STACK_REGISTER(s.lo, s.hi());
  return s;
}

void stack_release(Stack s) noexcept {
  VALGRIND_STACK_DEREGISTER(s.valgrind_id);
  s.valgrind_id = 0;
#if GREEN_ASAN
  // A task's last frames never return, so ASan's poisoning of their locals is
  // still there: clear it before the memory serves another task.
  __asan_unpoison_memory_region(s.lo, s.size);
#endif
  StackCache::Class* c = cache().find(s.size);
  if (c && c->count < StackCache::kMaxPerClass) {
    c->items[c->count++] = s;
    return;
  }
  stack_unmap(s);
}

}  // namespace green::detail
