// The task-block cache: a spawn costs no malloc, and every task's block can
// be found (by dump_tasks and the gdb extension). (Stage 1's task_block.cpp
// took every block from operator new.)
//
// Small blocks come in six size classes. A task's block (Task + TaskExtra
// + its name if any + callable, 72 bytes and the callable) takes 96 bytes
// when its callable is up to 24 bytes (a lambda with three references or
// values), else 128, 192, 256 or 512: at 10^6 parked or queued tasks each
// 32 bytes is 32 MB. Phase 6's jobs (a closure and three words) take 64 or
// 96.
// Larger or over-aligned blocks are "large": operator new, with a header
// that keeps them on one list.
//
// Three levels, as Go keeps its goroutine descriptors (a per-P free list
// that spills half of itself to a global one, and allgs, every descriptor
// ever made):
//  - Per thread, per class: the list being used (`head`, up to kBatch
//    blocks) and one full batch in reserve (`spare`). Nearly every spawn and
//    every free is a push or a pop here, with no atomic operation.
//  - The depot, per class, for the whole process: batches under a spin
//    lock. A thread whose list fills up while its spare is full hands the
//    spare over; a thread whose list and spare are empty takes a batch. A
//    batch moves as one pointer, so the lock is taken once per kBatch spawns
//    or frees at most.
//  - Chunks: when the depot is empty too, the thread carves a new chunk of
//    kBatch blocks and pushes it on a process-wide list (g_chunks), which
//    only grows. Chunks are never freed, so every small block that exists
//    is in one, and a walk over the chunks finds every task (for_each_block).
// Why the depot: a block goes back to the cache of the thread that drops the
// task's last reference, which is usually not the one that spawned it (a
// thief runs the task). Without it, one thread's cache overflowed into
// free() while the spawner's ran dry and came to malloc for every block:
// a spawn cost 850 ns where one from the cache costs ~100.
//
// Bound: the memory of small blocks is the program's peak of blocks live at
// once, rounded up to chunks, kept for reuse (as Go keeps every goroutine
// descriptor it ever made, and malloc keeps its arenas).
//
// Invariants: a block on class k's lists is in a chunk of class k, and a
// block's class is a function of (size, align) alone, which free_task passes
// back exactly as allocate_task computed them. A list is linked through each
// block's first word; a batch in the depot is a list whose first block's
// second word links the next batch and third word holds its length (every
// class has room for three words). Callers hold preemption off (task.cpp),
// so a task is never switched out, or moved to another thread, while it
// holds these.
#include <green/detail/block_registry.hpp>
#include <green/detail/spin_lock.hpp>
#include <green/detail/task.hpp>
#include <green/detail/unimplemented.hpp>

#include <cstring>
#include <mutex>
#include <new>

// The registry, with C names so that a debugger finds them without types
// (block_registry.hpp). g_chunks: push-only; release on push, pairs with the
// walker's acquire, so a chunk is seen whole.
extern "C" {
std::atomic<green::detail::Chunk*> green_block_chunks{nullptr};
green::detail::LargeBlock* green_large_blocks = nullptr;  // guarded by g_large_lock
}

namespace green::detail {

static_assert(kTaskHeader + 24 <= 96 || kUcontextBackend,
              "a task whose callable is up to 24 bytes must fit a 96-byte block");
static constexpr std::size_t kBatch = 256;  // blocks per batch and per chunk

// BEGIN SOLUTION
namespace {

SpinLock g_large_lock;

void*& next_block(void* p) { return static_cast<void**>(p)[0]; }
void*& next_batch(void* p) { return static_cast<void**>(p)[1]; }
std::size_t& batch_length(void* p) { return reinterpret_cast<std::size_t*>(p)[2]; }

struct Depot {
  SpinLock lock;
  void* batches = nullptr;  // guarded by lock
  std::size_t blocks = 0;   // on all of them; guarded by lock
};

// Never destroyed: threads give their lists back as they exit, which may be
// after static destructors have run.
Depot* depots() {
  static Depot* const d = new Depot[kBlockClasses];
  return d;
}

// Takes a batch from class k's depot: its first block, its length in *n;
// nullptr if the depot is empty.
void* depot_take(int k, std::size_t* n) noexcept {
  Depot& d = depots()[k];
  std::lock_guard g(d.lock);
  void* b = d.batches;
  if (b) {
    d.batches = next_batch(b);
    *n = batch_length(b);
    d.blocks -= *n;
  }
  return b;
}

// Gives a list of n > 0 blocks to class k's depot as a batch.
void depot_put(int k, void* b, std::size_t n) noexcept {
  Depot& d = depots()[k];
  batch_length(b) = n;
  std::lock_guard g(d.lock);
  next_batch(b) = d.batches;
  d.batches = b;
  d.blocks += n;
}

// A new chunk of class k, published on green_block_chunks; returns its
// blocks as a list of kBatch.
void* carve(int k) {
  const std::size_t size = kBlockClass[k];
  auto* c = static_cast<Chunk*>(::operator new(sizeof(Chunk) + kBatch * size, std::align_val_t{alignof(Chunk)}));
  // Zeroed: a walker reads every block, and a block never used yet must read
  // as no task (TaskExtra::live 0), not as whatever malloc left there.
  std::memset(static_cast<void*>(c), 0, sizeof(Chunk) + kBatch * size);
  c->block_size = static_cast<std::uint32_t>(size);
  c->blocks = static_cast<std::uint32_t>(kBatch);
  std::byte* first = c->first_block();
  for (std::size_t i = 0; i < kBatch; ++i)
    next_block(first + i * size) = i + 1 < kBatch ? first + (i + 1) * size : nullptr;
  // release: pairs with for_each_block's acquire; the walker sees the header.
  c->next = green_block_chunks.load(std::memory_order_relaxed);
  while (!green_block_chunks.compare_exchange_weak(c->next, c, std::memory_order_release, std::memory_order_relaxed)) {}
  return first;
}

// The thread's lists. Trivially destructible, so reaching them is one
// %fs-relative address with no first-use guard (a thread_local with a
// destructor is reached through a check and a call on every use); the
// CacheReturn below gives their blocks back as the thread exits.
struct BlockCache {
  struct List {
    void* head = nullptr;   // free blocks in use, linked through their first word
    std::size_t count = 0;  // blocks on head, at most kBatch
    void* spare = nullptr;  // a full batch, or nullptr
  } lists[kBlockClasses];
};
thread_local BlockCache tl_blocks;

// Armed by the slow paths (a list that was empty, or full) before a thread's
// lists first hold a block, so every thread whose lists hold blocks gives
// them to the depots at its exit.
struct CacheReturn {
  bool armed = false;
  ~CacheReturn() {
    for (int k = 0; k < kBlockClasses; ++k) {
      BlockCache::List& l = tl_blocks.lists[k];
      if (l.spare) depot_put(k, l.spare, kBatch);
      if (l.head) depot_put(k, l.head, l.count);
      l = BlockCache::List{};  // a block freed later by another thread-exit destructor still finds a list
    }
  }
};
thread_local CacheReturn tl_return;

// Large blocks: a LargeBlock header right below the block, aligned to the
// block's alignment.
std::size_t large_header(std::size_t align) noexcept { return align > sizeof(LargeBlock) ? align : sizeof(LargeBlock); }

[[gnu::noinline]] void* new_large(std::size_t size, std::size_t align) {
  const std::size_t head = large_header(align);
  void* raw = align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? ::operator new(head + size)
                                                       : ::operator new(head + size, std::align_val_t{align});
  auto* h = reinterpret_cast<LargeBlock*>(static_cast<std::byte*>(raw) + head) - 1;
  h->size = size;
  h->prev = nullptr;
  std::lock_guard g(g_large_lock);
  h->next = green_large_blocks;
  if (h->next) h->next->prev = h;
  green_large_blocks = h;
  return h + 1;
}

[[gnu::noinline]] void delete_large(void* p, std::size_t align) noexcept {
  auto* h = static_cast<LargeBlock*>(p) - 1;
  {
    std::lock_guard g(g_large_lock);
    (h->prev ? h->prev->next : green_large_blocks) = h->next;
    if (h->next) h->next->prev = h->prev;
  }
  void* raw = static_cast<std::byte*>(p) - large_header(align);
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) ::operator delete(raw);
  else ::operator delete(raw, std::align_val_t{align});
}

}  // namespace

std::size_t depot_blocks(std::size_t size) noexcept {
  for (int k = 0; k < kBlockClasses; ++k)
    if (size <= kBlockClass[k]) {
      Depot& d = depots()[k];
      std::lock_guard g(d.lock);
      return d.blocks;
    }
  return 0;
}

bool for_each_block(BlockFn fn, void* arg, bool try_only) noexcept {
  // acquire: pairs with carve's release.
  for (Chunk* c = green_block_chunks.load(std::memory_order_acquire); c; c = c->next)
    for (std::uint32_t i = 0; i < c->blocks; ++i) fn(c->first_block() + i * c->block_size, c->block_size, arg);
  if (try_only) {
    if (!g_large_lock.try_lock()) return false;
  } else {
    g_large_lock.lock();
  }
  for (LargeBlock* h = green_large_blocks; h; h = h->next) fn(h + 1, h->size, arg);
  g_large_lock.unlock();
  return true;
}
// STUB: std::size_t depot_blocks(std::size_t) noexcept { return 0; }
// STUB: bool for_each_block(BlockFn, void*, bool) noexcept { return true; }
// END SOLUTION

bool for_each_task(TaskFn fn, void* arg, bool try_only) noexcept {
  struct Filter {
    TaskFn fn;
    void* arg;
  } f{fn, arg};
  return for_each_block(
      [](void* block, std::size_t size, void* a) GREEN_RACY_READER {
        if (size < sizeof(Task) + sizeof(TaskExtra)) return;
        auto* t = static_cast<Task*>(block);
        auto* f = static_cast<Filter*>(a);
        if (t->extra().live == kTaskLive) f->fn(t, f->arg);
      },
      &f, try_only);
}

// The small class of a block, or -1 if it is not small.
[[maybe_unused]] static int block_class(std::size_t size, std::size_t align) {
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return -1;
  for (int k = 0; k < kBlockClasses; ++k)
    if (size <= kBlockClass[k]) return k;
  return -1;
}

// BEGIN SOLUTION
// Pops a block off l.
static void* pop_block(BlockCache::List& l) noexcept {
  void* p = l.head;
  l.head = next_block(p);
  --l.count;
  return p;
}

// Pushes p on l.
static void push_block(BlockCache::List& l, void* p) noexcept {
  next_block(p) = l.head;
  l.head = p;
  ++l.count;
}

// The slow halves, out of line and called last: a spawn's new_block and an
// end's delete_block are then a few instructions that save no register
// (with these inlined, each was a 40-instruction call, together a seventh
// of a fine-grained task's instructions).
// l is empty: fill it from the spare, the depot or a new chunk, and pop.
[[gnu::noinline]] static void* refill_and_pop(BlockCache::List& l, int k) {
  tl_return.armed = true;
  if (l.spare) {
    l.head = l.spare;
    l.spare = nullptr;
    l.count = kBatch;
  } else if (!(l.head = depot_take(k, &l.count))) {
    l.head = carve(k);
    l.count = kBatch;
  }
  return pop_block(l);
}

// l is empty or a full batch: push p, a full batch first becoming the spare
// (the spare before goes to the depot).
[[gnu::noinline]] static void spill_and_push(BlockCache::List& l, int k, void* p) noexcept {
  tl_return.armed = true;
  if (l.count == kBatch) {
    if (l.spare) depot_put(k, l.spare, kBatch);
    l.spare = l.head;
    l.head = nullptr;
    l.count = 0;
  }
  push_block(l, p);
}
// END SOLUTION

void* new_block(std::size_t size, std::size_t align) {
  // BEGIN SOLUTION
  if (int k = block_class(size, align); k >= 0) [[likely]] {
    BlockCache::List& l = tl_blocks.lists[k];
    if (!l.head) [[unlikely]] return refill_and_pop(l, k);
    return pop_block(l);
  }
  return new_large(size, align);
  // STUB: (void)size, (void)align;
  // STUB: unimplemented("stage 4: new_block (task_block.cpp) is yours to write");
  // END SOLUTION
}

void delete_block(void* p, std::size_t size, std::size_t align) noexcept {
  // BEGIN SOLUTION
  if (int k = block_class(size, align); k >= 0) [[likely]] {
    BlockCache::List& l = tl_blocks.lists[k];
    if (!l.head || l.count == kBatch) [[unlikely]] return spill_and_push(l, k, p);
    return push_block(l, p);
  }
  delete_large(p, align);
  // STUB: (void)p, (void)size, (void)align;
  // STUB: unimplemented("stage 4: delete_block (task_block.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
