// The task-block cache (task_block.cpp): small blocks recycled per thread.
#include <green/detail/block_registry.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace {

using namespace green::detail;

TEST(TaskBlock, AFreedSmallBlockIsTheNextOneHandedOut) {
  for (std::size_t size : {100u, 256u, 300u, 512u}) {
    void* a = new_block(size, 16);
    delete_block(a, size, 16);
    void* b = new_block(size, 16);
    EXPECT_EQ(a, b) << "a " << size << "-byte block freed on this thread should be reused by the next spawn";
    delete_block(b, size, 16);
  }
}

// Six classes, 64, 96, 128, 192, 256 and 512 bytes: a block of up to 96
// bytes (a task with a callable of up to 24 bytes) costs 96, one of up to
// 192 costs 192, and a block from one class never serves another.
TEST(TaskBlock, SmallBlocksComeInSixClasses) {
  void* small = new_block(200, 16);
  delete_block(small, 200, 16);
  void* large = new_block(400, 16);
  EXPECT_NE(large, small) << "a 400-byte block must not reuse a 256-byte one";
  static_cast<char*>(large)[399] = 1;
  void* task = new_block(180, 16);
  EXPECT_NE(task, small) << "a 180-byte block must not take a 256-byte one: its class is 192";
  static_cast<char*>(task)[179] = 1;
  void* tiny = new_block(64, 16);
  EXPECT_NE(tiny, small) << "a 64-byte block must not take a 256-byte one";
  void* medium = new_block(100, 16);
  EXPECT_NE(medium, small) << "a 100-byte block must not take a 256-byte one";
  static_cast<char*>(medium)[99] = 1;
  void* small2 = new_block(256, 16);
  EXPECT_EQ(small2, small) << "the 256-byte class should still hold the block freed first";
  delete_block(tiny, 64, 16);
  void* tiny2 = new_block(10, 16);
  EXPECT_EQ(tiny2, tiny) << "a 10-byte block should reuse the 64-byte block just freed";
  delete_block(tiny2, 10, 16);
  delete_block(task, 180, 16);
  void* task2 = new_block(192, 16);
  EXPECT_EQ(task2, task) << "a 192-byte block should reuse the 180-byte block just freed";
  delete_block(task2, 192, 16);
  void* fine = new_block(90, 16);
  EXPECT_NE(fine, medium) << "a 90-byte block must not take a 128-byte one: its class is 96";
  EXPECT_NE(fine, tiny) << "a 90-byte block must not take a 64-byte one";
  static_cast<char*>(fine)[89] = 1;
  delete_block(fine, 90, 16);
  void* fine2 = new_block(96, 16);
  EXPECT_EQ(fine2, fine) << "a 96-byte block should reuse the 90-byte block just freed";
  delete_block(fine2, 96, 16);
  delete_block(medium, 100, 16);
  delete_block(large, 400, 16);
  delete_block(small2, 256, 16);
}

// A task that has not started costs the 72 bytes of Task and TaskExtra and
// its callable (task.hpp): a lambda of three references takes a 96-byte
// block, one of four a 128-byte one.
std::size_t block_size_of(green::TaskId id) {
  struct Find {
    green::TaskId id;
    std::size_t size = 0;
  } f{id};
  for_each_block(
      [](void* block, std::size_t size, void* arg) {
        auto* t = static_cast<Task*>(block);
        auto* f = static_cast<Find*>(arg);
        if (size >= kTaskHeader && t->extra().live == kTaskLive && t->extra().id == f->id) f->size = size;
      },
      &f);
  return f.size;
}

TEST(TaskBlock, AQueuedTaskIsItsHeaderAndItsCallable) {
  static_assert(kTaskHeader == 72, "Task (32 bytes) and TaskExtra (40)");
  green::LocalScheduler s;
  long a = 0, b = 1, c = 2, d = 3;
  green::TaskHandle three = s.spawn([&a, &b, &c] { a += b + c; });
  green::TaskHandle four = s.spawn([&a, &b, &c, &d] { a += b + c + d; });
  EXPECT_EQ(block_size_of(three.id()), 96u) << "72 bytes and a 24-byte lambda";
  EXPECT_EQ(block_size_of(four.id()), 128u) << "72 bytes and a 32-byte lambda";
  s.run();
  three.join();
  four.join();
  EXPECT_EQ(a, 9);
  EXPECT_EQ(block_size_of(three.id()), 0u) << "a joined task's block holds no task";
}

TEST(TaskBlock, LargeAndOverAlignedBlocksWork) {
  void* big = new_block(100'000, 16);
  static_cast<char*>(big)[99'999] = 1;
  delete_block(big, 100'000, 16);
  void* aligned = new_block(200, 256);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 256, 0u) << "an over-aligned callable needs its alignment";
  delete_block(aligned, 200, 256);
}

// The cache keeps thousands of a class (glibc's per-thread cache keeps 7 of
// a size): a burst of 1,000 tasks that ended gives the next 1,000 spawns
// their blocks, whatever their exact size within the class.
TEST(TaskBlock, AThousandFreedBlocksAllComeBack) {
  std::vector<void*> freed;
  for (int i = 0; i < 1000; ++i) freed.push_back(new_block(200, 16));
  for (void* p : freed) delete_block(p, 200, 16);
  std::set<void*> before(freed.begin(), freed.end()), after;
  std::vector<void*> again;
  for (int i = 0; i < 1000; ++i) again.push_back(new_block(250, 16));
  after.insert(again.begin(), again.end());
  EXPECT_EQ(before, after) << "the 1,000 blocks freed should serve the next 1,000 of the same class";
  for (void* p : again) delete_block(p, 250, 16);
}

// Blocks of a size class held in the process-wide depot (task_block.cpp).
std::size_t depot_blocks_of(std::size_t size) { return green::detail::depot_blocks(size); }

// Takes every block of the class out of this thread's lists and the depot
// (earlier tests in this process leave some there), so that what comes
// back next is known. Give them back with give_back.
std::vector<void*> drain(std::size_t size) {
  std::vector<void*> held;
  for (int i = 0; i < 2 * 256; ++i) held.push_back(new_block(size, 16));  // this thread's lists
  while (depot_blocks_of(size) > 0) held.push_back(new_block(size, 16));
  return held;
}
void give_back(const std::vector<void*>& blocks, std::size_t size) {
  for (void* p : blocks) delete_block(p, size, 16);
}

// A block goes back to the cache of the thread that frees it, usually a
// thief, not the spawner. The depot carries full batches back: blocks one
// thread allocated and another freed serve the first thread's next burst
// (before the depot they went to free(), and every spawn of the next burst
// was a malloc).
TEST(TaskBlock, BlocksFreedOnAnotherThreadComeBackThroughTheDepot) {
  constexpr int kN = 20'000;
  std::vector<void*> held = drain(200);
  std::vector<void*> made;
  for (int i = 0; i < kN; ++i) made.push_back(new_block(200, 16));
  std::thread([&] {
    for (void* p : made) delete_block(p, 200, 16);
  }).join();  // the thread's exit hands its lists to the depot as well
  EXPECT_GE(depot_blocks_of(200), std::size_t{kN - 256})
      << "full batches freed on a thread that exited should be in the depot";
  std::set<void*> freed(made.begin(), made.end());
  std::vector<void*> again;
  int reused = 0;
  for (int i = 0; i < kN; ++i) {
    again.push_back(new_block(200, 16));
    reused += freed.count(again.back()) ? 1 : 0;
  }
  EXPECT_GE(reused, kN - 256) << "of " << kN << " blocks freed on another thread, only " << reused
                              << " served this thread's next " << kN << " (the depot should hand them back in batches)";
  give_back(again, 200);
  give_back(held, 200);
}

// A thread that exits gives its lists to the depot, a partial one too:
// nothing it held is lost (chunks are never freed, so a lost block would be
// memory no one could use again).
TEST(TaskBlock, AnExitingThreadsListsGoToTheDepot) {
  std::vector<void*> held = drain(180);
  std::vector<void*> made;
  for (int i = 0; i < 300; ++i) made.push_back(new_block(180, 16));
  std::thread([&] {
    for (void* p : made) delete_block(p, 180, 16);  // a full batch (the spare) and 44
  }).join();
  EXPECT_EQ(depot_blocks_of(180), 300u) << "the exiting thread's spare batch and its partial list should be in the depot";
  give_back(held, 180);
}

// Small blocks are carved from chunks that are never freed: a second burst
// of the same size reuses the first's chunks instead of making more.
std::size_t blocks_that_exist() {
  std::size_t n = 0;
  for_each_block([](void*, std::size_t, void* arg) { ++*static_cast<std::size_t*>(arg); }, &n);
  return n;
}
TEST(TaskBlock, ASecondBurstReusesTheFirstOnesChunks) {
  std::vector<void*> made;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50'000; ++i) made.push_back(new_block(180, 16));
    std::thread([&] {
      for (void* p : made) delete_block(p, 180, 16);
    }).join();
    made.clear();
    static std::size_t after_first = 0;
    if (round == 0) after_first = blocks_that_exist();
    else EXPECT_EQ(blocks_that_exist(), after_first) << "round " << round << " made new chunks";
  }
}

// The registry finds every block handed out, small, large and over-aligned,
// with its size (what dump_tasks and the gdb extension walk).
TEST(TaskBlock, TheRegistryFindsEveryBlock) {
  struct Want {
    void* p;
    std::size_t size;
    bool found = false;
  };
  std::vector<Want> want;
  for (std::size_t size : {40u, 100u, 200u, 400u, 2'000u, 100'000u}) want.push_back({new_block(size, 16), size});
  want.push_back({new_block(300, 128), 300});
  for_each_block(
      [](void* b, std::size_t size, void* arg) {
        for (Want& w : *static_cast<std::vector<Want>*>(arg))
          if (w.p == b) w.found = size >= w.size;
      },
      &want);
  for (const Want& w : want) EXPECT_TRUE(w.found) << "a block of " << w.size << " bytes was not found (or with a smaller size)";
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(want.back().p) % 128, 0u) << "an over-aligned large block needs its alignment";
  for (Want& w : want) {
    delete_block(w.p, w.size, &w == &want.back() ? 128 : 16);
    w.found = false;
  }
  for_each_block(
      [](void* b, std::size_t size, void* arg) {
        for (Want& w : *static_cast<std::vector<Want>*>(arg))
          if (w.p == b && size > 512) w.found = true;
      },
      &want);
  for (const Want& w : want) EXPECT_FALSE(w.found) << "a freed large block of " << w.size << " bytes is still listed";
}

// Many threads allocating here and freeing there, through both classes, with
// every block's contents checked: a block handed to two owners at once (a
// depot or list race) shows as a mixed tag. Run under TSan and Valgrind.
TEST(TaskBlock, ThreadsTradingBlocksNeverShareOne) {
  constexpr int kThreads = 4, kRounds = 20'000;
  std::vector<std::atomic<void*>> slots(64);
  std::vector<std::thread> ts;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
      for (int r = 0; r < kRounds; ++r) {
        static constexpr std::size_t kSizes[] = {40, 100, 200, 400};
        std::size_t size = kSizes[rng() % 4];
        auto* p = static_cast<std::uint64_t*>(new_block(size, 16));
        const std::uint64_t tag = (static_cast<std::uint64_t>(t) << 32) | static_cast<std::uint64_t>(r);
        p[2] = size;
        for (std::size_t i = 3; i < size / 8; ++i) p[i] = tag;
        // acq_rel: the block's contents travel with it to the thread that takes it.
        void* old = slots[rng() % slots.size()].exchange(p, std::memory_order_acq_rel);
        if (!old) continue;
        auto* q = static_cast<std::uint64_t*>(old);
        for (std::size_t i = 4; i < q[2] / 8; ++i)
          if (q[i] != q[3]) errors.fetch_add(1, std::memory_order_relaxed);  // a count; join publishes it
        delete_block(old, static_cast<std::size_t>(q[2]), 16);
      }
    });
  for (auto& th : ts) th.join();
  for (auto& s : slots)
    if (void* p = s.load(std::memory_order_acquire))  // pairs with the exchanges' release (and join)
      delete_block(p, static_cast<std::size_t>(static_cast<std::uint64_t*>(p)[2]), 16);
  EXPECT_EQ(errors.load(), 0) << "a block was written by two owners at once";
}

}  // namespace
