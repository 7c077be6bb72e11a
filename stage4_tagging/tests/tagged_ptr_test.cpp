// TaggedPtr and AtomicTaggedPtr: every tag with many pointers, the atomic
// operations, and pointer and tag changing together under contention.
#include <green/detail/tagged_ptr.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using green::detail::AtomicTaggedPtr;
using green::detail::TaggedPtr;

struct alignas(8) Node8 {
  int v;
};
struct alignas(64) Node64 {
  int v;
};
static_assert(alignof(Node8) <= 64 && alignof(Node64) <= 64, "sample_pointers' powers of two start at 64");

static_assert(sizeof(TaggedPtr<Node8, 3>) == sizeof(void*));
static_assert(sizeof(AtomicTaggedPtr<Node8, 3>) == sizeof(void*));
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);

// Pointers across the whole user address space: null, low, arena-like, the
// top of the 47-bit space, every one aligned to the type.
template <class T>
std::vector<T*> sample_pointers() {
  std::vector<T*> v{nullptr};
  for (std::uintptr_t a : {std::uintptr_t{alignof(T)}, std::uintptr_t{0x1000}, std::uintptr_t{0x55'5555'5000},
                           std::uintptr_t{0x7fff'ffff'f000}, (std::uintptr_t{1} << 47) - alignof(T)})
    v.push_back(reinterpret_cast<T*>(a));
  for (int shift = 6; shift < 47; ++shift) v.push_back(reinterpret_cast<T*>(std::uintptr_t{1} << shift));  // every high bit
  T real[4];
  for (auto& r : real) v.push_back(&r);  // real objects, on this stack
  return v;
}

template <class T, unsigned Bits>
void round_trip_all() {
  using TP = TaggedPtr<T, Bits>;
  for (T* p : sample_pointers<T>())
    for (unsigned tag = 0; tag < TP::kTags; ++tag) {
      TP t(p, tag);
      ASSERT_EQ(t.ptr(), p) << "pointer lost with tag " << tag;
      ASSERT_EQ(t.tag(), tag) << "tag lost with pointer " << p;
      ASSERT_EQ(TP::from_bits(t.bits()), t);
      AtomicTaggedPtr<T, Bits> a(t);
      ASSERT_EQ(a.load(std::memory_order_relaxed), t);
    }
}

TEST(TaggedPtr, EveryTagWithEveryPointerRoundTrips) {
  round_trip_all<Node8, 1>();
  round_trip_all<Node8, 2>();
  round_trip_all<Node8, 3>();
  round_trip_all<Node64, 6>();
}

TEST(TaggedPtr, DefaultIsNullWithTagZero) {
  TaggedPtr<Node8, 3> t;
  EXPECT_EQ(t.ptr(), nullptr);
  EXPECT_EQ(t.tag(), 0u);
  AtomicTaggedPtr<Node8, 3> a;
  EXPECT_EQ(a.load(std::memory_order_relaxed), t);
}

TEST(TaggedPtr, EqualityComparesPointerAndTag) {
  Node8 n[2];
  EXPECT_EQ((TaggedPtr<Node8, 3>(&n[0], 5)), (TaggedPtr<Node8, 3>(&n[0], 5)));
  EXPECT_NE((TaggedPtr<Node8, 3>(&n[0], 5)), (TaggedPtr<Node8, 3>(&n[0], 4)));
  EXPECT_NE((TaggedPtr<Node8, 3>(&n[0], 5)), (TaggedPtr<Node8, 3>(&n[1], 5)));
}

TEST(AtomicTaggedPtr, ExchangeAndCompareExchangeChangeBoth) {
  Node8 a, b;
  using TP = TaggedPtr<Node8, 3>;
  AtomicTaggedPtr<Node8, 3> w(TP(&a, 1));
  EXPECT_EQ(w.exchange(TP(&b, 2), std::memory_order_acq_rel), TP(&a, 1));
  TP expected(&b, 3);  // right pointer, wrong tag: must fail
  EXPECT_FALSE(w.compare_exchange_strong(expected, TP(&a, 7), std::memory_order_acq_rel, std::memory_order_acquire));
  EXPECT_EQ(expected, TP(&b, 2)) << "a failed CAS reports the current value";
  expected = TP(&a, 2);  // right tag, wrong pointer: must fail
  EXPECT_FALSE(w.compare_exchange_strong(expected, TP(&a, 7), std::memory_order_acq_rel, std::memory_order_acquire));
  EXPECT_TRUE(w.compare_exchange_strong(expected, TP(&a, 7), std::memory_order_acq_rel, std::memory_order_acquire));
  EXPECT_EQ(w.load(std::memory_order_acquire), TP(&a, 7));
  TP e2(&a, 7);
  while (!w.compare_exchange_weak(e2, TP(nullptr, 0), std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
  EXPECT_EQ(w.load(std::memory_order_relaxed), TP());
}

// Threads advance one shared word from (nodes[i], i % 8) to (nodes[i+1],
// (i+1) % 8) by CAS. If pointer and tag did not change together, some load
// would see a pointer with the wrong tag.
TEST(AtomicTaggedPtr, PointerAndTagNeverTear) {
  const long steps = green::test::scaled(400'000, 2'000);
  static Node8 nodes[64];
  using TP = TaggedPtr<Node8, 3>;
  AtomicTaggedPtr<Node8, 3> w(TP(&nodes[0], 0));
  std::atomic<long> done{0}, torn{0};
  auto worker = [&] {
    for (;;) {
      // acquire/acq_rel: the word is the only shared data; orders are for form.
      TP cur = w.load(std::memory_order_acquire);
      long i = cur.ptr() - nodes;
      if (static_cast<unsigned>(i % 8) != cur.tag()) torn.fetch_add(1);
      if (done.load(std::memory_order_relaxed) >= steps) return;
      TP next(&nodes[(i + 1) % 64], static_cast<unsigned>((i + 1) % 8));
      if (w.compare_exchange_weak(cur, next, std::memory_order_acq_rel, std::memory_order_acquire))
        done.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back(worker);
  for (auto& t : ts) t.join();
  EXPECT_EQ(torn.load(), 0) << "a load saw a pointer with another value's tag";
  EXPECT_GE(done.load(), steps);
}

// A thread blocked in wait() wakes when the word changes.
TEST(AtomicTaggedPtr, WaitReturnsWhenTheWordChanges) {
  Node8 n;
  using TP = TaggedPtr<Node8, 2>;
  AtomicTaggedPtr<Node8, 2> w(TP(nullptr, 1));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w.store(TP(&n, 3), std::memory_order_release);  // release: pairs with the waiter's acquire
    w.notify_all();
  });
  while (w.load(std::memory_order_acquire) == TP(nullptr, 1)) w.wait(TP(nullptr, 1), std::memory_order_acquire);
  EXPECT_EQ(w.load(std::memory_order_acquire), TP(&n, 3));
  t.join();
}

#if GREEN_DEBUG
TEST(TaggedPtrDeathTest, MisalignedPointerIsCaughtInDebugBuilds) {
  alignas(8) char buf[16];
  auto* bad = reinterpret_cast<Node8*>(buf + 4);
  EXPECT_DEATH((TaggedPtr<Node8, 3>(bad, 0)), "green: TaggedPtr: pointer is not aligned enough");
  EXPECT_DEATH((TaggedPtr<Node8, 3>(nullptr, 8)), "green: TaggedPtr: tag does not fit in its bits");
}
#endif

}  // namespace
