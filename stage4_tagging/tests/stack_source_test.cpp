// The stack source of stage 4: guarded stacks up to the budget, slabs past it
// (zero canary gaps, fences, sub-page sizes, slab sizing), and the overflows
// each kind must still catch.
#include <green/detail/sanitizers.hpp>
#include <green/detail/stack.hpp>
#include <green/detail/task.hpp>
#include <green/local_scheduler.hpp>
#include <green/runtime.hpp>
#include <green/this_task.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <sys/mman.h>
#include <vector>

namespace {

using namespace green::detail;
using green::test::is_guard_page;
using green::test::recurse;

// Sets the guard budget for one test, and puts it back.
struct BudgetScope {
  std::size_t saved = guard_budget();
  explicit BudgetScope(std::size_t n) { set_guard_budget(n); }
  ~BudgetScope() { set_guard_budget(saved); }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
};

// Guarded stacks are rationed so that they never take the mappings the rest
// of the process needs: past the budget, map_guarded_in_budget refuses.
TEST(StackSource, GuardedStacksStopAtTheBudget) {
  EXPECT_GT(guard_budget(), 1000u);
  EXPECT_LT(guard_budget(), 65530u / 2) << "guarded stacks would use up the kernel's mappings";
  const std::size_t live = guarded_stacks_live();
  BudgetScope budget(live + 2);
  Stack a = map_guarded_in_budget(page_size()), b = map_guarded_in_budget(page_size());
  ASSERT_TRUE(a && b) << "two guarded stacks fit a budget of two more";
  EXPECT_EQ(guarded_stacks_live(), live + 2);
  EXPECT_FALSE(map_guarded_in_budget(page_size())) << "a third one is past the budget";
  Stack both[] = {a, b};
  unmap_guarded_batch(both, 2);
  EXPECT_EQ(guarded_stacks_live(), live);
}

// Freed together, guarded stacks go in as few munmaps as they can: here the
// mapped ranges are checked gone, whatever order they came in.
TEST(StackSource, GuardedStacksUnmapTogether) {
  const std::size_t live = guarded_stacks_live();
  BudgetScope budget(live + 8);
  Stack v[8];
  for (Stack& s : v) ASSERT_TRUE(s = map_guarded_in_budget(page_size()));
  std::swap(v[0], v[5]);  // not in address order
  std::vector<std::byte*> los;
  for (const Stack& s : v) los.push_back(s.lo);
  unmap_guarded_batch(v, 8);
  EXPECT_EQ(guarded_stacks_live(), live);
  for (std::byte* lo : los) {
    EXPECT_EQ(green::test::mapping_of(lo), "") << "a stack is still mapped";
    EXPECT_EQ(green::test::mapping_of(lo - page_size()), "") << "a stack's guard page is still mapped";
  }
}

TEST(StackSource, WithinTheBudgetAStackIsGuarded) {
  BudgetScope b(guarded_stacks_live() + 1000);
  Stack s = stack_allocate(68 * 1024);  // a size no other test uses
  ASSERT_TRUE(is_guarded(s));
  EXPECT_TRUE(is_guard_page(s.lo - 1)) << "the page below lo must be PROT_NONE";
  stack_release(s);
}

// A stack given back waits in the depot and is the next one handed out.
TEST(StackSource, AStackGivenBackIsReusedFromTheDepot) {
  BudgetScope b(guarded_stacks_live() + 10);
  Stack s = stack_map(88 * 1024);  // a size no other test uses
  stack_unmap(s);
  EXPECT_GE(depot_stacks(), 1u) << "stack_unmap should keep the stack in the depot";
  Stack t = stack_map(88 * 1024);
  EXPECT_EQ(t.lo, s.lo) << "stack_map should hand out the stack in the depot before mapping a fresh one";
  stack_unmap(t);
}

// Emptying the depot unmaps its guarded stacks a batch at a time, and with
// the last batch those that wait for a retire batch to fill: none is left.
TEST(StackSource, GuardedStacksGivenBackAreUnmappedInBatches) {
  const std::size_t live = guarded_stacks_live();
  BudgetScope b(live + 1000);
  std::vector<Stack> v;
  for (int i = 0; i < 600; ++i) {
    v.push_back(stack_map(76 * 1024));  // a size no other test uses
    ASSERT_TRUE(is_guarded(v.back()));
  }
  for (const Stack& s : v) stack_unmap(s);
  EXPECT_EQ(guarded_stacks_live(), live + 600) << "the depot should hold them, still mapped";
  int batches = 1;
  while (give_back_stacks(1000)) ++batches;
  EXPECT_GE(batches, 3) << "600 stacks should take at least three batches of at most 256";
  EXPECT_LE(guarded_stacks_live(), live) << "an empty depot leaves no given-back stack mapped";
  EXPECT_EQ(depot_stacks(), 0u);
}

// A worker about to sleep empties the depot (its sleep hook).
TEST(StackSource, AnIdleWorkerEmptiesTheDepot) {
  BudgetScope b(guarded_stacks_live() + 1000);
  std::vector<Stack> v;
  for (int i = 0; i < 600; ++i) v.push_back(stack_map(92 * 1024));  // a size no other test uses
  for (const Stack& s : v) stack_unmap(s);
  ASSERT_GE(depot_stacks(), 600u);
  green::Runtime rt({.workers = 1});  // no task: its worker goes idle at once
  auto t0 = std::chrono::steady_clock::now();
  while (depot_stacks() != 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(depot_stacks(), 0u) << "an idle worker should give the depot's stacks back";
}

// The workers' stack caches empty into the depot as their threads exit, and
// each exiting worker then empties the depot: a runtime that is gone leaves
// no stacks behind (no idle worker would ever give them back).
TEST(StackSource, ARuntimeLeavesNoStacksInTheDepot) {
  const long n = green::test::scaled(5000, 100);
  {
    green::Runtime rt({.workers = 2, .stack_size = 100 * 1024});  // a size no other test uses
    std::atomic<long> started{0};
    rt.run([&] {
      std::vector<green::TaskHandle> hs;
      for (long i = 0; i < n; ++i)
        hs.push_back(green::spawn([&] {  // all live at once: n stacks
          started.fetch_add(1);
          while (started.load() < n) green::this_task::yield();
        }));
      for (auto& h : hs) h.join();
    });
  }
  EXPECT_EQ(depot_stacks(), 0u) << "stacks left in the depot after their runtime was destroyed";
}

TEST(StackSource, PastTheGuardBudgetStacksComeFromSlabsWithAZeroCanaryGap) {
  BudgetScope b(guarded_stacks_live());  // no new guarded stacks
  const std::size_t n = 2 * slab_stacks(20 * 1024) + 1;  // three slabs
  std::vector<Stack> v;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(stack_allocate(20 * 1024));
    ASSERT_FALSE(is_guarded(v.back())) << "the guard budget is used up: stack " << i << " must come from a slab";
    ASSERT_TRUE(stack_intact(v.back())) << "a fresh slab stack's canary gap must read as zeros (stack " << i << ")";
  }
  // Stacks and their canary gaps, [lo - kCanaryGap, hi), do not overlap.
  std::vector<std::pair<std::byte*, std::byte*>> spans;
  for (const Stack& s : v) spans.emplace_back(s.lo - kCanaryGap, s.hi());
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    EXPECT_LE(spans[i - 1].second, spans[i].first) << "a slab stack overlaps the next stack's canary gap or stack";
  // An overflow lands first at the top of the gap; the check sees any of its
  // top kCanaryWords words written. (The bottom word of the stack is the
  // stack's own: writing it is no overflow.)
  Stack& s = v[n / 2];
  auto* gap_top = reinterpret_cast<volatile std::uint64_t*>(s.lo) - 1;
  if (is_fenced(s)) {  // the gap is a guard region (stack_source.hpp, "Fenced"): StackSourceDeathTest.FencedGap...
    *reinterpret_cast<volatile std::uint64_t*>(s.lo) = 0x1234;
    EXPECT_TRUE(stack_intact(s)) << "the stack's own lowest word is usable";
    for (Stack& x : v) stack_release(x);
    return;
  }
  auto* gap_checked_low = reinterpret_cast<volatile std::uint64_t*>(s.lo) - kCanaryWords;
  *reinterpret_cast<volatile std::uint64_t*>(s.lo) = 0x1234;
  EXPECT_TRUE(stack_intact(s)) << "the stack's own lowest word is usable";
  *gap_top = 0x7fff'dead'beefULL;  // a return address, say
  EXPECT_FALSE(stack_intact(s)) << "a write just below lo (top of the canary gap) must be seen";
  *gap_top = 0;
  *gap_checked_low = 1;
  EXPECT_FALSE(stack_intact(s)) << "a write to the lowest checked word of the gap must be seen";
  *gap_checked_low = 0;
  EXPECT_TRUE(stack_intact(s));
  for (Stack& x : v) stack_release(x);
}

TEST(StackSource, SubPageSizesAreHonoured) {
  EXPECT_EQ(round_stack_size(0), kMinStackSize);
  EXPECT_EQ(round_stack_size(1), 2048u);
  EXPECT_EQ(round_stack_size(2048), 2048u);
  EXPECT_EQ(round_stack_size(2049), 3072u) << "below a page, sizes round up to 1 KiB";
  EXPECT_EQ(round_stack_size(3072), 3072u);
  EXPECT_EQ(round_stack_size(3073), 4096u);
  EXPECT_EQ(round_stack_size(4096), 4096u);
  EXPECT_EQ(round_stack_size(4097), 8192u) << "from a page up, sizes round up to pages";

  BudgetScope b(1000);  // guarded stacks available: sub-page ones still come from slabs
  for (std::size_t want : {std::size_t{2048}, std::size_t{3000}}) {
    Stack s = stack_allocate(want);
    EXPECT_EQ(s.size, round_stack_size(want)) << "a " << want << "-byte stack must not be rounded up to a page";
    EXPECT_FALSE(is_guarded(s)) << "a guard page would cost more than the stack itself";
    EXPECT_TRUE(stack_intact(s));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.hi()) % 16, 0u) << "hi must be 16-byte aligned for the ABI";
    s.hi()[-1] = std::byte{1};  // the top is usable
    // The canary is the word at lo.
    auto* w = reinterpret_cast<volatile std::uint64_t*>(s.lo);
    *w = 0;
    EXPECT_FALSE(stack_intact(s)) << "a clobbered sub-page canary must be seen";
    *w = kStackCanary;
    stack_release(s);
  }
}

TEST(StackSource, SubPageStacksAreDenseAndTakeFewMappings) {
  auto mappings = [] {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    std::size_t n = 0;
    while (std::getline(maps, line)) ++n;
    return n;
  };
  const std::size_t per_slab = slab_stacks(2048);
  EXPECT_EQ(per_slab, kSlabTargetBytes / 2048);
  const std::size_t n = per_slab + 1;  // two slabs
  std::vector<Stack> v;
  v.reserve(n);
  std::size_t maps_before = mappings();
  for (std::size_t i = 0; i < n; ++i) v.push_back(stack_allocate(2048));
  std::size_t maps_after = mappings();
  std::set<Slab*> slabs;
  for (const Stack& s : v) slabs.insert(slab_of(s));
  // The thread cache may hold stacks from slabs made by earlier tests: allow one more.
  EXPECT_LE(slabs.size(), 3u) << n << " 2 KiB stacks should fit in 2 slabs of " << per_slab;
  // (Under TSan its runtime maps memory of its own meanwhile: the count is
  // exact only without it.)
  if (!GREEN_TSAN) {
    EXPECT_LE(maps_after, maps_before + 2 * 3) << "each slab should be two mappings (its guard page and its stacks)";
  }
  std::sort(v.begin(), v.end(), [](const Stack& a, const Stack& b) { return a.lo < b.lo; });
  std::size_t adjacent = 0;
  for (std::size_t i = 1; i < n; ++i) {
    ASSERT_LE(v[i - 1].hi(), v[i].lo) << "two live sub-page stacks overlap";
    adjacent += v[i - 1].hi() == v[i].lo;
  }
  EXPECT_GT(adjacent, n / 2) << "sub-page stacks should be packed back to back, two to a page";
  // At least one of them is a slab's first stack (n is more than a slab), and
  // a slab's first stack has a PROT_NONE page below it.
  std::size_t firsts = 0;
  for (std::size_t i = 0; i < n; ++i)
    if ((i == 0 || v[i - 1].hi() != v[i].lo) && is_guard_page(v[i].lo - 1)) ++firsts;
  EXPECT_GE(firsts, 1u) << "a slab should start with a guard page, to stop a runaway recursion there";
  for (Stack& s : v) stack_release(s);
}

// Tasks on slab stacks, page-sized and sub-page, switch many times: every
// switch-out checks the canary (the zero gap's words, or the word at lo), under
// Valgrind's and the sanitizers' eyes too.
TEST(StackSource, TasksRunAndSwitchOnSlabStacks) {
  BudgetScope b(guarded_stacks_live());  // no new guarded stacks
  std::vector<std::size_t> smalls{36 * 1024};  // a size no other test uses: only slabs serve it
  if (!GREEN_ASAN) smalls.push_back(2048);  // ASan's frames do not fit 2 KiB
  for (std::size_t small : smalls) {
    green::LocalScheduler s(256 * 1024, small);
    int done = 0, on_slab = 0;
    for (int i = 0; i < 100; ++i)
      s.spawn(
          [&] {
            const Stack& st = current_task()->run->stack;
            on_slab += !is_guarded(st) && st.size == round_stack_size(small);
            for (int k = 0; k < 5; ++k) green::this_task::yield();
            ++done;
          },
          {.small_stack = true});
    s.run();
    EXPECT_EQ(done, 100) << "small stacks of " << small << " bytes";
    EXPECT_EQ(on_slab, 100) << "every task should have run on a " << small << "-byte slab stack";
  }
}

TEST(StackSource, AMillionSmallStacksFitTheDefaultMapLimit) {
  // 1,000,000 live 16 KiB stacks: the guarded ones take 2 mappings each, the
  // rest come from slabs. That must leave a good part of vm.max_map_count's
  // default (65530) to the program.
  const std::size_t kDefaultMaxMaps = 65530, n = 1'000'000;
  const std::size_t guarded = kDefaultMaxMaps / 4;  // the default budget
  const std::size_t slabs = (n - guarded + slab_stacks(16 * 1024) - 1) / slab_stacks(16 * 1024);
  EXPECT_LT(2 * guarded + 2 * slabs, kDefaultMaxMaps * 2 / 3)
      << "slabs of " << slab_stacks(16 * 1024) << " 16 KiB stacks: " << slabs << " slabs (2 mappings each) + "
      << 2 * guarded << " guarded mappings";
}

// Reading a never-written anonymous page maps the kernel's zero page: the
// canary gap of a page-sized slab stack must cost no resident memory, even
// once checked. (Under TSan every load writes shadow memory, under ASan
// every store does; under Valgrind the RSS is Valgrind's.)
long resident_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<long>(page_size());
}

// Does reading never-written anonymous memory cost nothing (the kernel maps
// its shared zero page)? Not on every kernel.
bool kernel_maps_zero_page() {
  const std::size_t n = 64 * page_size();
  void* m = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return true;
  long r0 = resident_bytes();
  for (std::size_t i = 0; i < n; i += page_size()) (void)*static_cast<volatile char*>(static_cast<char*>(m) + i);
  long grew = resident_bytes() - r0;
  munmap(m, n);
  return grew < static_cast<long>(n / 2);
}

TEST(StackSourceNoValgrind, ZeroCanaryCostsNoResidentMemory) {
#if GREEN_TSAN
  GTEST_SKIP() << "TSan writes shadow memory for every load";
#elif GREEN_ASAN
  // Where its shadow is fresh (a slab at addresses never used before) it is
  // most of a page per stack more, for the top pages' shadow alone.
  GTEST_SKIP() << "ASan's shadow of each touched top page is resident memory too";
#endif
  auto rss = resident_bytes;
  BudgetScope b(guarded_stacks_live());
  const std::size_t n = 512, size = 24 * 1024;  // a size no other test uses: fresh slots
  {
    Stack probe = stack_allocate(size);
    bool fenced = is_fenced(probe);
    stack_release(probe);
    if (!fenced && !kernel_maps_zero_page())
      GTEST_SKIP() << "this kernel never maps the shared zero page (a VM's pvm_no_zero_page) and has no "
                      "guard regions (MADV_GUARD_INSTALL): a canary gap costs a resident page per stack here";
  }
  std::vector<Stack> v;
  v.reserve(n);
  long r0 = rss();
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(stack_allocate(size));
    v.back().hi()[-1] = std::byte{1};  // a task's frames: the top page
  }
  long r1 = rss();
  bool ok = true;
  for (const Stack& s : v) ok &= stack_intact(s);
  long r2 = rss();
  EXPECT_TRUE(ok);
  const long page = static_cast<long>(page_size()), pages = static_cast<long>(n);
  EXPECT_GE(r1 - r0, pages * page / 2) << "touching each stack's top page should show in the RSS (else this test sees nothing)";
  EXPECT_LT(r2 - r0, pages * page * 5 / 4) << n << " slab stacks, their top page touched and their canary checked, made "
                                           << (r2 - r0) / page << " pages resident: the canary gaps should cost none";
  for (Stack& s : v) stack_release(s);
}

// Where the kernel has guard regions, a page-sized slab stack's canary gap is
// one (stack_source.hpp, "Fenced"): a write there faults at once.
TEST(StackSourceDeathTest, FencedGapFaultsAtOnce) {
  BudgetScope b(guarded_stacks_live());  // no new guarded stacks: a slab stack
  Stack s = stack_allocate(20 * 1024);
  if (!is_fenced(s)) {
    stack_release(s);
    GTEST_SKIP() << "this kernel has no guard regions (MADV_GUARD_INSTALL, Linux 6.13): the gap is a canary";
  }
  auto* gap_top = reinterpret_cast<volatile std::uint64_t*>(s.lo) - 1;
  EXPECT_DEATH(*gap_top = 0x7fff'dead'beefULL, "") << "a fenced canary gap took a write";
  stack_release(s);
}

// Without a guard page, an overflow that stays within the stack's neighbourhood
// is caught by the canary when the task next switches.
TEST(StackSourceDeathTest, UnguardedOverflowIsCaughtAtTheNextSwitch) {
  EXPECT_DEATH(
      {
        set_guard_budget(0);
        green::LocalScheduler s(256 * 1024, 16 * 1024);
        s.spawn([] {}, {.small_stack = true});  // a neighbour in the slab
        s.spawn(
            [] {
              // An overflow that ran just past lo, as a frame one call too
              // deep would: it wrote a return address at the top of the
              // canary gap, then returned into the stack.
              auto* lo = green::detail::current_task()->run->stack.lo;
              reinterpret_cast<volatile std::uint64_t*>(lo)[-1] = 0x7fff'dead'beefULL;
              green::this_task::yield();
            },
            {.name = "unguarded", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"unguarded\"");
}

// Runs one death test in a freshly exec'd child (gtest's "threadsafe" style),
// so that the slabs are new and the overflowing stack's neighbour below it is
// the one the test placed there, not whatever earlier tests left in the cache.
struct FreshChildDeathTest {
  std::string saved = GTEST_FLAG_GET(death_test_style);
  FreshChildDeathTest() { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  ~FreshChildDeathTest() { GTEST_FLAG_SET(death_test_style, saved); }
};

[[gnu::noinline]] void write_frame_of(std::size_t bytes) {
  volatile char* buf = static_cast<volatile char*>(__builtin_alloca(bytes));
  for (std::size_t i = 0; i < bytes; ++i) buf[i] = 0x5a;
}

// A 2 KiB stack with a 3 KiB frame: the frame runs 1 KiB and more into the
// stack below (the neighbour, parked), over this stack's canary word at lo;
// the task returns into its stack and is caught when it switches out.
// (Under ASan, instrumented frames need about 4 KiB to switch at all: a 2 KiB
// task overflows in its first yield, so these tests would not test this.)
TEST(StackSourceDeathTest, SubPageStackOverflowIsCaughtAtTheNextSwitch) {
#if GREEN_ASAN
  GTEST_SKIP() << "ASan's frames do not fit a 2 KiB stack";
#endif
  FreshChildDeathTest fresh;
  EXPECT_DEATH(
      {
        green::LocalScheduler s(256 * 1024, 2048);
        s.spawn([] { green::this_task::yield(); }, {.small_stack = true});  // holds the slot below
        s.spawn(
            [] {
              write_frame_of(3 * 1024);
              green::this_task::yield();
            },
            {.name = "tiny", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"tiny\"");
}

// Unbounded recursion on a 2 KiB stack runs down through the slab onto the
// PROT_NONE page below it; the fault there, far below lo but near the stack
// pointer, is reported. 64 parked neighbours below it put the slab's end
// 128 KiB below lo, past the reach of the "just below lo" rule.
TEST(StackSourceDeathTest, SubPageStackRecursionIsReported) {
#if GREEN_ASAN
  GTEST_SKIP() << "ASan's frames do not fit a 2 KiB stack";
#endif
  FreshChildDeathTest fresh;
  EXPECT_DEATH(
      {
        green::LocalScheduler s(256 * 1024, 2048);
        for (int i = 0; i < 64; ++i) s.spawn([] { green::this_task::yield(); }, {.small_stack = true});
        s.spawn([] { recurse(1 << 30); }, {.name = "tiny-deep", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"tiny-deep\"");
}

// 100,000 tasks alive at the same time, default stack class, default kernel
// limits: past the guard budget, stacks come from slabs.
TEST(StackSource, HundredThousandLiveTasks) {
  // TSan maps ~1.2 MB per live fiber: 2,000 live tasks there (scaled() takes 10x).
  green::test::run_all_live_at_once(green::test::scaled(GREEN_TSAN ? 20'000 : 100'000));
  EXPECT_LE(guarded_stacks_live(), guard_budget());
}

}  // namespace
