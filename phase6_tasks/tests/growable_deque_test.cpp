// GrowableDeque: order, growth, and stage 3's model check (every item taken
// exactly once) with a deque that starts at 2 slots, so that it grows while
// thieves steal from the rings it leaves behind.
#include <green/detail/growable_deque.hpp>
#include <green/detail/sanitizers.hpp>
#include <deque_model.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace {

using green::detail::GrowableDeque;
using green::test::model_check;
using green::test::scaled;

TEST(GrowableDeque, GrowsAndKeepsItsOrder) {
  std::vector<long> items(1000);
  GrowableDeque<long*> d(2);
  EXPECT_EQ(d.capacity(), 2u);
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
  for (long& i : items) ASSERT_TRUE(d.push(&i));
  EXPECT_EQ(d.capacity(), 1024u) << "doubled from 2 until 1,000 fit";
  EXPECT_EQ(d.steal(), &items[0]) << "thieves take the oldest";
  EXPECT_EQ(d.pop(), &items[999]) << "the owner takes the newest";
  for (long i = 998; i >= 500; --i) ASSERT_EQ(d.pop(), &items[static_cast<std::size_t>(i)]);
  for (long i = 1; i < 500; ++i) ASSERT_EQ(d.steal(), &items[static_cast<std::size_t>(i)]);
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
}

TEST(GrowableDeque, GrowsAcrossTheWrapOfItsRing) {
  // top and bottom far from 0 when it grows: the copy must follow indices,
  // not slots.
  std::vector<long> items(64);
  GrowableDeque<long*> d(4);
  for (int round = 0; round < 1001; ++round) {
    ASSERT_TRUE(d.push(&items[0]) && d.push(&items[1]) && d.push(&items[2]));
    ASSERT_EQ(d.steal(), &items[0]);
    ASSERT_EQ(d.steal(), &items[1]);
    ASSERT_EQ(d.steal(), &items[2]);
  }
  for (long& i : items) ASSERT_TRUE(d.push(&i));
  for (long& i : items) ASSERT_EQ(d.steal(), &i);
}

const long kPushes = scaled(GREEN_TSAN ? 4'000'000 : 1'000'000, 5000);
TEST(GrowableDeque, ModelWith2Threads) {
  GrowableDeque<long*> d(2);
  model_check(d, 1, kPushes);
  EXPECT_GT(d.capacity(), 2u) << "it never grew: the test did not exercise growth";
}
TEST(GrowableDeque, ModelWith4Threads) {
  GrowableDeque<long*> d(2);
  model_check(d, 3, kPushes);
  EXPECT_GT(d.capacity(), 2u);
}

}  // namespace
