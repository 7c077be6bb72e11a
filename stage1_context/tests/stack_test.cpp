// Stacks: guard pages, slabs past the guard budget, the cache, overflow reports.
#include <green/detail/stack.hpp>
#include <green/detail/task.hpp>
#include <green/local_scheduler.hpp>
#include <green/this_task.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace {

using namespace green::detail;

// Restores the guard budget after a test that changes it.
struct BudgetScope {
  std::size_t saved = guard_budget();
  explicit BudgetScope(std::size_t n) { set_guard_budget(n); }
  ~BudgetScope() { set_guard_budget(saved); }
};

// Is [p, p+1) mapped PROT_NONE? Read from /proc/self/maps.
bool is_guard_page(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  while (std::getline(maps, line)) {
    std::uintptr_t lo, hi;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) == 3 && lo <= a && a < hi)
      return std::string(perms).substr(0, 3) == "---";
  }
  return false;
}

TEST(Stack, SizeIsRoundedUpToPages) {
  Stack s = stack_allocate(10000);
  EXPECT_EQ(s.size % page_size(), 0u);
  EXPECT_GE(s.size, 10000u);
  s.lo[0] = std::byte{1};           // usable at both ends
  s.hi()[-1] = std::byte{1};
  stack_release(s);
}

TEST(Stack, GuardedStackHasAProtNonePageBelow) {
  BudgetScope b(1000);
  Stack s = stack_allocate(64 * 1024);
  ASSERT_TRUE(s.guarded());
  EXPECT_TRUE(is_guard_page(s.lo - 1)) << "the page below lo must be PROT_NONE";
  EXPECT_FALSE(is_guard_page(s.lo));
  stack_release(s);
}

TEST(Stack, CacheReusesReleasedStacks) {
  Stack a = stack_allocate(64 * 1024);
  std::byte* lo = a.lo;
  stack_release(a);
  Stack b = stack_allocate(64 * 1024);
  EXPECT_EQ(b.lo, lo) << "a released stack should be reused by the next allocation of its size";
  stack_release(b);
}

TEST(Stack, PastTheGuardBudgetStacksComeFromSlabsWithACanary) {
  BudgetScope b(guarded_stacks_live());  // no new guarded stacks
  std::vector<Stack> v;
  std::set<std::byte*> los;
  for (std::size_t i = 0; i < 3 * kSlabStacks; ++i) {
    v.push_back(stack_allocate(20 * 1024));
    EXPECT_FALSE(v.back().guarded());
    EXPECT_TRUE(stack_canary_ok(v.back()));
    EXPECT_TRUE(los.insert(v.back().lo).second) << "two live stacks share memory";
  }
  // Stacks do not overlap.
  for (std::size_t i = 1; i < v.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      EXPECT_TRUE(v[i].hi() <= v[j].lo || v[j].hi() <= v[i].lo);
  *reinterpret_cast<std::uint64_t*>(v[0].lo) = 0;
  EXPECT_FALSE(stack_canary_ok(v[0])) << "a clobbered canary must be seen";
  *reinterpret_cast<std::uint64_t*>(v[0].lo) = kStackCanary;
  for (Stack& s : v) stack_release(s);
}

TEST(Stack, GuardBudgetIsAFractionOfTheMapLimit) {
  EXPECT_GT(guard_budget(), 1000u);
  EXPECT_LT(guard_budget(), 65530u / 2) << "guarded stacks would use up the kernel's mappings";
}

// ---- Overflow: death tests ------------------------------------------------

[[gnu::noinline]] int recurse(int n) {
  volatile char pad[256];
  pad[0] = static_cast<char>(n);
  return n == 0 ? pad[0] : recurse(n - 1) + pad[0];
}

TEST(StackDeathTest, GuardPageOverflowIsReportedWithTaskIdAndName) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn([] { recurse(1 << 20); }, {.name = "deep"});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"deep\"");
}

TEST(StackDeathTest, SmallStackOverflowIsReportedToo) {
  EXPECT_DEATH(
      {
        green::LocalScheduler s;
        s.spawn([] { recurse(1 << 20); }, {.name = "small", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"small\"");
}

// Without a guard page, an overflow that stays within the stack's neighbourhood
// is caught by the canary when the task next switches.
TEST(StackDeathTest, UnguardedOverflowIsCaughtAtTheNextSwitch) {
  EXPECT_DEATH(
      {
        set_guard_budget(0);
        green::LocalScheduler s(256 * 1024, 16 * 1024);
        s.spawn([] {}, {.small_stack = true});  // a neighbour in the slab
        s.spawn(
            [] {
              // An overflow that reached the bottom word of the stack, as a
              // deep frame would: the canary there is gone.
              *reinterpret_cast<volatile std::uint64_t*>(green::detail::current_task()->stack_lo) = 0;
              green::this_task::yield();
            },
            {.name = "unguarded", .small_stack = true});
        s.run();
      },
      "green: stack overflow in task [0-9]+ \"unguarded\"");
}

}  // namespace
