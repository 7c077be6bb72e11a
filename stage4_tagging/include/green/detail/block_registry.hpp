// Every block the task-block cache has made, for whoever must find every
// task: green::dump_tasks and the gdb extension (task_block.cpp).
//
// Small blocks live in chunks that are never freed, on a push-only list;
// large ones carry a LargeBlock header on a locked list. Both heads have C
// names (green_block_chunks, green_large_blocks) so that a debugger reading
// a core dump finds them by symbol; the layouts below are what it reads.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace green::detail {

// The sizes of small blocks (task_block.cpp says why these): a block of up
// to 512 bytes, aligned to 16 at most, takes the first class that holds it.
inline constexpr std::size_t kBlockClass[] = {64, 96, 128, 192, 256, 512};
inline constexpr int kBlockClasses = 6;

// A chunk: this header, then `blocks` blocks of `block_size` bytes.
struct alignas(64) Chunk {
  Chunk* next;               // the chunk made before this one; fixed once published
  std::uint32_t block_size;  // one of kBlockClass
  std::uint32_t blocks;
  std::byte* first_block() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
};
static_assert(sizeof(Chunk) == 64, "gdb/green.py reads a chunk's blocks at +64");

// Right below a large block.
struct LargeBlock {
  LargeBlock* prev;
  LargeBlock* next;
  std::size_t size;  // the block's, not counting this header
  std::size_t pad;
};
static_assert(sizeof(LargeBlock) == 32, "gdb/green.py reads a large block at +32");

// Calls fn(block, size, arg) for every block that exists, free or in use,
// of every class (a block's size is its class's, or a large block's own).
// Blocks may be handed out and freed meanwhile: fn reads them as a debugger
// would. try_only (a signal handler): skips the large blocks, and returns
// false, if their lock is held; else true.
using BlockFn = void (*)(void* block, std::size_t size, void* arg);
bool for_each_block(BlockFn fn, void* arg, bool try_only = false) noexcept;

// Calls fn(t, arg) for every block that holds a task now (its TaskExtra::
// live is kTaskLive, detail/task.hpp); try_only as for for_each_block. fn
// reads the task while its workers may change it, as a debugger does: mark
// it GREEN_RACY_READER, which tells TSan not to report those reads (they may
// be stale, never unsafe: blocks are never unmapped).
struct Task;
using TaskFn = void (*)(Task* t, void* arg);
bool for_each_task(TaskFn fn, void* arg, bool try_only = false) noexcept;
#define GREEN_RACY_READER __attribute__((no_sanitize_thread))

// Blocks of size's class now in the depot (0 for a size with no class). For tests.
std::size_t depot_blocks(std::size_t size) noexcept;

}  // namespace green::detail

extern "C" {
extern std::atomic<green::detail::Chunk*> green_block_chunks;
extern green::detail::LargeBlock* green_large_blocks;
}
