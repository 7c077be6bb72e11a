// ChaseLevDeque against a model: with 2 to 8 threads, every pushed item is
// taken exactly once (by the owner's pop or a thief's steal); nothing is lost
// or duplicated. Owner-only order (LIFO) is checked single-threaded.
#include <green/detail/chase_lev_deque.hpp>
#include <green/detail/sanitizers.hpp>
#include <deque_model.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

namespace {

using green::detail::ChaseLevDeque;
using green::test::model_check;
using green::test::scaled;

TEST(ChaseLevDeque, OwnerIsLifoThiefIsFifo) {
  static int items[4];
  ChaseLevDeque<int*, 4> d;
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
  for (int& i : items) EXPECT_TRUE(d.push(&i));
  EXPECT_FALSE(d.push(&items[0])) << "full: refuse, never overwrite";
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.steal(), &items[0]);  // oldest
  EXPECT_EQ(d.pop(), &items[3]);    // newest
  EXPECT_EQ(d.pop(), &items[2]);
  EXPECT_EQ(d.steal(), &items[1]);
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_TRUE(d.empty());
}

TEST(ChaseLevDeque, WrapsAround) {
  static int items[3];
  ChaseLevDeque<int*, 4> d;
  for (int round = 0; round < 100000; ++round) {
    for (int& i : items) ASSERT_TRUE(d.push(&i));
    ASSERT_EQ(d.steal(), &items[0]);
    ASSERT_EQ(d.pop(), &items[2]);
    ASSERT_EQ(d.pop(), &items[1]);
  }
}

// 10^6 pushes, in TSan too (scaled() would take 10x off there; this is the
// test TSan is for).
const long kPushes = scaled(GREEN_TSAN ? 10'000'000 : 1'000'000, 5000);
TEST(ChaseLevDeque, ModelWith2Threads) {
  ChaseLevDeque<long*, 64> d;
  model_check(d, 1, kPushes);
}
TEST(ChaseLevDeque, ModelWith4Threads) {
  ChaseLevDeque<long*, 64> d;
  model_check(d, 3, kPushes);
}
TEST(ChaseLevDeque, ModelWith8Threads) {
  ChaseLevDeque<long*, 64> d;
  model_check(d, 7, kPushes);
}

}  // namespace
