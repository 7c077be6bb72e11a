// The task-block cache (task_block.cpp): small blocks recycled per thread.
#include <green/detail/task.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
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

// Two classes: a block of up to 256 bytes costs 256, one of up to 512 costs
// 512; a block from one class never serves the other.
TEST(TaskBlock, SmallBlocksComeInTwoClasses) {
  void* small = new_block(200, 16);
  delete_block(small, 200, 16);
  void* large = new_block(400, 16);
  EXPECT_NE(large, small) << "a 400-byte block must not reuse a 256-byte one";
  static_cast<char*>(large)[399] = 1;
  void* small2 = new_block(256, 16);
  EXPECT_EQ(small2, small) << "the 256-byte class should still hold the block freed first";
  delete_block(large, 400, 16);
  delete_block(small2, 256, 16);
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
  for (int i = 0; i < 1000; ++i) freed.push_back(new_block(100, 16));
  for (void* p : freed) delete_block(p, 100, 16);
  std::set<void*> before(freed.begin(), freed.end()), after;
  std::vector<void*> again;
  for (int i = 0; i < 1000; ++i) again.push_back(new_block(250, 16));
  after.insert(again.begin(), again.end());
  EXPECT_EQ(before, after) << "the 1,000 blocks freed should serve the next 1,000 of the same class";
  for (void* p : again) delete_block(p, 250, 16);
}

}  // namespace
