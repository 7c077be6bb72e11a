// The task-block cache: a spawn costs no malloc. (Stage 1's task_block.cpp
// took every block from operator new.)
//
// Small blocks come in four size classes. A task's block (Task + TaskExtra
// + callable, at least 176 bytes) takes 256 bytes when its callable is small
// (nearly always), else 512: at 10^6 parked tasks that halving is a quarter
// of a kilobyte each. Phase 6's jobs (a closure and three words) take 64 or
// 128. Larger or over-aligned blocks go straight to operator new.
//
// Two levels, as Go keeps its goroutine descriptors (a per-P free list that
// spills half of itself to a global one):
//  - Per thread, per class: the list being used (`head`, up to kBatch
//    blocks) and one full batch in reserve (`spare`). Nearly every spawn and
//    every free is a push or a pop here, with no atomic operation.
//  - The depot, per class, for the whole process: full batches of kBatch
//    blocks under a spin lock. A thread whose list fills up while its spare
//    is full hands the spare over; a thread whose list and spare are empty
//    takes a batch. A batch moves as one pointer, so the lock is taken once
//    per kBatch spawns or frees at most.
// Why the depot: a block goes back to the cache of the thread that drops the
// task's last reference, which is usually not the one that spawned it (a
// thief runs the task). Before the depot, one thread's cache overflowed into
// free() while the spawner's ran dry and came to malloc for every block;
// glibc then gave the pages back to the kernel between bursts and faulted
// them in again: a spawn cost 850 ns where one from the cache costs ~130.
//
// Bound: the depot keeps at most kDepotBytes per class; past that a batch
// goes back to operator delete. So blocks are kept for reuse up to the
// program's peak of live tasks (as Go keeps every descriptor it ever made),
// never more than kDepotBytes + 2 batches per thread, per class. A thread's
// lists go to the depot (or to operator delete) when the thread exits.
//
// Invariants: a block on class k's lists was allocated as kBlockClass[k]
// bytes, and a block's class is a function of (size, align) alone, which
// free_task passes back exactly as allocate_task computed them. A list is
// linked through each block's first word; a batch in the depot is a list of
// exactly kBatch blocks, and the depot links batches through their first
// block's second word. Callers hold preemption off (task.cpp), so a task is
// never switched out, or moved to another thread, while it holds these.
#include <green/detail/spin_lock.hpp>
#include <green/detail/task.hpp>
#include <green/detail/unimplemented.hpp>

#include <mutex>
#include <new>

namespace green::detail {

static constexpr std::size_t kBlockClass[] = {64, 128, 256, 512};
static constexpr int kBlockClasses = 4;
static constexpr std::size_t kBatch = 256;                 // blocks per batch
static constexpr std::size_t kDepotBytes = std::size_t{32} << 20;  // per class

// Blocks of size's class now in the depot (0 for a size with no class). For tests.
std::size_t depot_blocks(std::size_t size) noexcept;

// BEGIN SOLUTION
[[maybe_unused]] static void*& next_block(void* p) { return *static_cast<void**>(p); }
[[maybe_unused]] static void*& next_batch(void* p) { return static_cast<void**>(p)[1]; }

namespace {

struct Depot {
  SpinLock lock;
  void* batches = nullptr;  // guarded by lock
  std::size_t count = 0;    // batches held; guarded by lock
};

// Never destroyed: threads give their lists back as they exit, which may be
// after static destructors have run.
Depot* depots() {
  static Depot* const d = new Depot[kBlockClasses];
  return d;
}

void delete_batch(void* b) noexcept {
  while (b) {
    void* next = next_block(b);
    ::operator delete(b);
    b = next;
  }
}

// Takes a full batch (kBatch blocks) from class k's depot; nullptr if none.
void* depot_take(int k) noexcept {
  Depot& d = depots()[k];
  std::lock_guard g(d.lock);
  void* b = d.batches;
  if (b) {
    d.batches = next_batch(b);
    --d.count;
  }
  return b;
}

// Gives a full batch to class k's depot, or back to operator delete if the
// depot is at its bound.
void depot_put(int k, void* b) noexcept {
  Depot& d = depots()[k];
  {
    std::lock_guard g(d.lock);
    if (d.count < kDepotBytes / (kBatch * kBlockClass[k])) {
      next_batch(b) = d.batches;
      d.batches = b;
      ++d.count;
      return;
    }
  }
  delete_batch(b);
}

}  // namespace

std::size_t depot_blocks(std::size_t size) noexcept {
  for (int k = 0; k < kBlockClasses; ++k)
    if (size <= kBlockClass[k]) {
      Depot& d = depots()[k];
      std::lock_guard g(d.lock);
      return d.count * kBatch;
    }
  return 0;
}

namespace {

struct BlockCache {
  struct List {
    void* head = nullptr;   // free blocks in use, linked through their first word
    std::size_t count = 0;  // blocks on head, at most kBatch
    void* spare = nullptr;  // a full batch, or nullptr
  } lists[kBlockClasses];
  ~BlockCache() {
    for (int k = 0; k < kBlockClasses; ++k) {
      List& l = lists[k];
      if (l.spare) depot_put(k, l.spare);
      if (l.count == kBatch) depot_put(k, l.head);
      else delete_batch(l.head);
      l = List{};  // a block freed later by another thread-exit destructor still finds a list
    }
  }
};
thread_local BlockCache tl_blocks;

}  // namespace
// STUB: std::size_t depot_blocks(std::size_t) noexcept { return 0; }
// END SOLUTION

// The small class of a block, or -1 if it is not small.
[[maybe_unused]] static int block_class(std::size_t size, std::size_t align) {
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return -1;
  for (int k = 0; k < kBlockClasses; ++k)
    if (size <= kBlockClass[k]) return k;
  return -1;
}

void* new_block(std::size_t size, std::size_t align) {
  // BEGIN SOLUTION
  if (int k = block_class(size, align); k >= 0) {
    BlockCache::List& l = tl_blocks.lists[k];
    if (!l.head) {
      if (l.spare) {
        l.head = l.spare;
        l.spare = nullptr;
      } else if (!(l.head = depot_take(k))) {
        return ::operator new(kBlockClass[k]);
      }
      l.count = kBatch;
    }
    void* p = l.head;
    l.head = next_block(p);
    --l.count;
    return p;
  }
  return align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? ::operator new(size) : ::operator new(size, std::align_val_t{align});
  // STUB: (void)size, (void)align;
  // STUB: unimplemented("stage 4: new_block (task_block.cpp) is yours to write");
  // END SOLUTION
}

void delete_block(void* p, std::size_t size, std::size_t align) noexcept {
  // BEGIN SOLUTION
  if (int k = block_class(size, align); k >= 0) {
    BlockCache::List& l = tl_blocks.lists[k];
    if (l.count == kBatch) {  // the list is a full batch: it becomes the spare
      if (l.spare) depot_put(k, l.spare);
      l.spare = l.head;
      l.head = nullptr;
      l.count = 0;
    }
    next_block(p) = l.head;
    l.head = p;
    ++l.count;
  } else if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p);
  } else {
    ::operator delete(p, std::align_val_t{align});
  }
  // STUB: (void)p, (void)size, (void)align;
  // STUB: unimplemented("stage 4: delete_block (task_block.cpp) is yours to write");
  // END SOLUTION
}

}  // namespace green::detail
