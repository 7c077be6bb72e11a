// What a preempted task gets back: every register (integer, x87/SSE/AVX,
// MXCSR's rounding mode), its errno, its identity; and what the worker keeps:
// its signal mask and its own signal stack. Also the hazard that remains for
// user code: a task can move to another thread between any two instructions.
#include <green/detail/preempt_signal.hpp>
#include <green/detail/task.hpp>
#include <green/green.hpp>
#include <test_util.hpp>

#include <gtest/gtest.h>
#include <immintrin.h>

#include <atomic>
#include <cerrno>
#include <cfenv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using green::detail::preempt_stats;
using green::test::scaled;
using Clock = std::chrono::steady_clock;

long real_tid() { return syscall(SYS_gettid); }

// Each kernel keeps its working values in registers for thousands of
// iterations; a preemption that lost or mixed up any register would change
// the result. The reference is the same function run on a plain thread.
[[gnu::noinline]] std::uint64_t int_kernel(std::uint64_t x, int n) {
  std::uint64_t a = x, b = x * 3 + 1, c = ~x, d = x ^ 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < n; ++i) {
    a ^= a << 13, a ^= a >> 7, a ^= a << 17;
    b += a * 0xff51afd7ed558ccdULL;
    c = (c << 5 | c >> 59) ^ b;
    d += c ^ (d >> 3);
  }
  return a ^ b ^ c ^ d;
}

[[gnu::noinline]] double fp_kernel(double x, int n) {
  double a = x, b = 1.0 / (x + 1), c = 0.5, d = 0;
  for (int i = 0; i < n; ++i) {
    a = a * 0.999999 + b;
    b = b * 1.000001 - c * 1e-9;
    c = c * c * 0.5 + 0.25;
    d += a / (1 + b * b);
  }
  return a + b + c + d;
}

[[gnu::noinline]] double sse_kernel(double x, int n) {
  __m128 f = _mm_set_ps(static_cast<float>(x), 1.5f, -2.25f, 3.0f);
  __m128d g = _mm_set_pd(x, 0.75);
  __m128i h = _mm_set_epi32(1, 2, 3, static_cast<int>(x));
  for (int i = 0; i < n; ++i) {
    f = _mm_add_ps(_mm_mul_ps(f, _mm_set1_ps(0.9999f)), _mm_set1_ps(0.001f));
    g = _mm_sqrt_pd(_mm_add_pd(_mm_mul_pd(g, g), _mm_set1_pd(1e-3)));
    h = _mm_add_epi32(_mm_xor_si128(h, _mm_slli_epi32(h, 3)), _mm_set1_epi32(i));
  }
  alignas(16) float fs[4];
  alignas(16) double gs[2];
  alignas(16) std::int32_t hs[4];
  _mm_store_ps(fs, f);
  _mm_store_pd(gs, g);
  _mm_store_si128(reinterpret_cast<__m128i*>(hs), h);
  return fs[0] + fs[1] + fs[2] + fs[3] + gs[0] + gs[1] + hs[0] + hs[1] + hs[2] + hs[3];
}

[[gnu::noinline, gnu::target("avx2")]] double avx_kernel(double x, int n) {
  __m256d a = _mm256_set_pd(x, 1.0, 2.0, 3.0);
  __m256d b = _mm256_set1_pd(0.5);
  __m256i c = _mm256_set1_epi64x(static_cast<long long>(x));
  for (int i = 0; i < n; ++i) {
    a = _mm256_add_pd(_mm256_mul_pd(a, _mm256_set1_pd(0.99999)), b);
    b = _mm256_sqrt_pd(_mm256_add_pd(b, _mm256_set1_pd(1e-6)));
    c = _mm256_add_epi64(_mm256_xor_si256(c, _mm256_slli_epi64(c, 7)), _mm256_set1_epi64x(i));
  }
  alignas(32) double as[4], bs[4];
  alignas(32) long long cs[4];
  _mm256_store_pd(as, a);
  _mm256_store_pd(bs, b);
  _mm256_store_si256(reinterpret_cast<__m256i*>(cs), c);
  _mm256_zeroupper();
  return as[0] + as[1] + as[2] + as[3] + bs[0] + bs[3] + static_cast<double>(cs[0] ^ cs[3]);
}

// The thread this copy belongs to. Atomic only because the test reads
// another thread's copy on purpose (that is the hazard) and TSan would
// rightly call it a race.
thread_local std::atomic<long> tl_owner;
std::atomic<int> spin_sink{0};

// Busy work with an atomic load in it: ThreadSanitizer runs signal handlers
// only at its own interception points (atomics among them), so without one
// a tick could never land inside the loop there.
void busy(int n) {
  for (int i = 0; i < n; ++i) (void)spin_sink.load(std::memory_order_relaxed);
}

// One round of every kernel under a rounding mode, as bits.
struct Round {
  std::uint64_t i;
  double f, s, v;
  bool operator==(const Round&) const = default;
};
const int kRoundingModes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
const bool kAvx2 = __builtin_cpu_supports("avx2");

Round run_round(int seed, int n) {
  Round r;
  r.i = int_kernel(static_cast<std::uint64_t>(seed), n);
  r.f = fp_kernel(seed, n);
  r.s = sse_kernel(seed, n);
  r.v = kAvx2 ? avx_kernel(seed, n) : 0;
  return r;
}

// 5 x 10^4 preemptions (scaled) of tasks doing the four kinds of arithmetic,
// each round checked; the tasks also keep their rounding mode and errno.
TEST(PreemptState, RegistersSurviveManyPreemptions) {
  constexpr int kTasks = 6, kIters = 3000, kSeeds = 16;
  const long want = scaled(50'000, 200);
  // References, on this plain thread, for every (seed, rounding mode).
  std::map<std::pair<int, int>, Round> ref;
  for (int s = 0; s < kSeeds; ++s)
    for (int m : kRoundingModes) {
      std::fesetround(m);
      ref[{s, m}] = run_round(s, kIters);
    }
  std::fesetround(FE_TONEAREST);

  green::Runtime rt({.workers = 2, .time_slice = 50us});
  const std::uint64_t p0 = preempt_stats().preemptions;
  std::atomic<long> rounds{0}, wrong{0}, errno_lost{0}, mode_lost{0};
  auto give_up = Clock::now() + 120s;
  auto enough = [&] {
    return static_cast<long>(preempt_stats().preemptions - p0) >= want || Clock::now() > give_up;
  };
  std::vector<green::TaskHandle> hs;
  for (int k = 0; k < kTasks; ++k)
    hs.push_back(rt.spawn([&, k] {
      const int mode = kRoundingModes[k % 4];
      std::fesetround(mode);
      for (int r = 0; !enough(); ++r) {
        const int seed = (k * 7 + r) % kSeeds;
        // errno is the task's across any number of preemptions in between.
        // Set and read it under NoPreempt: &errno is the thread's, and a
        // preemption between computing it and using it would use the old
        // thread's (the hazard tested below; glibc even declares
        // __errno_location const, so the compiler may keep it for long).
        {
          green::this_task::NoPreempt np;
          *green::detail::errno_location() = 1000 + k;
        }
        Round got = run_round(seed, kIters);
        if (!(got == ref[{seed, mode}])) wrong.fetch_add(1);
        {
          green::this_task::NoPreempt np;
          if (*green::detail::errno_location() != 1000 + k) errno_lost.fetch_add(1);
        }
        if (std::fegetround() != mode) mode_lost.fetch_add(1);
        rounds.fetch_add(1, std::memory_order_relaxed);
      }
      std::fesetround(FE_TONEAREST);
    }));
  for (auto& h : hs) h.join();
  const long preemptions = static_cast<long>(preempt_stats().preemptions - p0);
  EXPECT_GE(preemptions, want) << "too few preemptions in the time allowed";
  EXPECT_EQ(wrong.load(), 0) << "rounds with a wrong result, of " << rounds.load();
  EXPECT_EQ(errno_lost.load(), 0) << "rounds whose errno changed";
  EXPECT_EQ(mode_lost.load(), 0) << "rounds whose rounding mode changed";
  std::printf("  %ld preemptions over %ld checked rounds (avx2: %s)\n", preemptions, rounds.load(), kAvx2 ? "yes" : "no");
}

// The worker keeps its signal mask (the tick's signal unblocked) and its own
// signal stack after any number of preemptions, though a preempted task
// resumes (and returns from the signal) on another thread.
TEST(PreemptState, WorkersKeepTheirSignalMaskAndSignalStack) {
  green::Runtime rt({.workers = 2, .time_slice = 50us});
  std::mutex m;
  std::map<long, void*> alt_of;  // worker thread -> its signal stack
  std::atomic<long> blocked{0}, shared{0};
  const std::uint64_t p0 = preempt_stats().preemptions;
  const std::uint64_t want = static_cast<std::uint64_t>(scaled(500, 20));
  auto give_up = Clock::now() + 60s;
  std::vector<green::TaskHandle> hs;
  for (int k = 0; k < 4; ++k)
    hs.push_back(rt.spawn(
        [&] {
          while (preempt_stats().preemptions - p0 < want && Clock::now() < give_up) {
            busy(5000);  // where the ticks land
            green::this_task::NoPreempt np;  // the three reads below from one thread
            long tid = real_tid();
            sigset_t cur;
            pthread_sigmask(SIG_BLOCK, nullptr, &cur);
            if (sigismember(&cur, green::detail::preempt_signal())) blocked.fetch_add(1);
            stack_t ss{};
            sigaltstack(nullptr, &ss);
            std::lock_guard lk(m);
            auto [it, fresh] = alt_of.emplace(tid, ss.ss_sp);
            if (!fresh && it->second != ss.ss_sp) shared.fetch_add(1);
          }
        },
        {.priority = 7}));  // non-default: each preempted task goes through the global queue
  for (auto& h : hs) h.join();
  EXPECT_GE(preempt_stats().preemptions - p0, want) << "too few preemptions in the time allowed";
  EXPECT_EQ(blocked.load(), 0) << "the tick signal was left blocked on a worker";
  EXPECT_EQ(shared.load(), 0) << "a worker's signal stack changed (another thread's was installed)";
  std::set<void*> distinct;
  for (auto& [tid, sp] : alt_of) distinct.insert(sp);
  EXPECT_EQ(distinct.size(), alt_of.size()) << "two workers share one signal stack";
}

// The hazard: between any two instructions of preemptible code a task may
// move to another thread, so an address or value cached from thread-local
// state (a thread_local's address, pthread_self(), the CPU) can go stale
// without a yield in sight. The runtime's own state is re-read safely; user
// code that must not move holds NoPreempt.
TEST(PreemptState, ThreadLocalCachingAcrossMigrationIsTheHazard) {
  green::Runtime rt({.workers = 2, .time_slice = 50us});
  const long want = scaled(50, 3);
  auto give_up = Clock::now() + 60s;
  std::atomic<long> moved_while_running{0}, stale_cached{0}, moved_in_no_preempt{0}, wrong_identity{0};
  std::vector<green::TaskHandle> hs;
  for (int k = 0; k < 4; ++k)
    hs.push_back(rt.spawn(
        [&] {
          const green::TaskId me = green::this_task::id();
          // Until enough moves were seen (and at least a while), or a watchdog.
          auto at_least = Clock::now() + std::chrono::milliseconds(scaled(300, 20));
          while ((moved_while_running.load() < want || Clock::now() < at_least) && Clock::now() < give_up) {
            // Unprotected: cache the thread_local's address, spin, compare.
            tl_owner.store(real_tid(), std::memory_order_relaxed);
            std::atomic<long>* volatile cached = &tl_owner;  // what a compiler may legally keep in a register
            long before = real_tid();
            busy(20000);
            if (long now = real_tid(); now != before) {
              moved_while_running.fetch_add(1);
              // Other tasks on the old thread write that thread's id there.
              if (cached->load(std::memory_order_relaxed) == before) stale_cached.fetch_add(1);
            }
            if (green::this_task::id() != me) wrong_identity.fetch_add(1);
            // Protected: the same under NoPreempt never moves.
            {
              green::this_task::NoPreempt np;
              long t = real_tid();
              busy(20000);
              if (real_tid() != t) moved_in_no_preempt.fetch_add(1);
            }
          }
        },
        {.priority = 7}));
  for (auto& h : hs) h.join();
  EXPECT_GT(moved_while_running.load(), 0) << "no task ever moved between two instructions (nothing was tested)";
  // Nearly always equal. Rarely another task, which itself moved between
  // computing its id and storing it, wrote a third thread's id there: the
  // same hazard once more.
  EXPECT_GT(stale_cached.load(), 0) << "after a move, a cached thread_local address should still point at "
                                       "the old thread's copy";
  EXPECT_EQ(moved_in_no_preempt.load(), 0) << "a task moved inside NoPreempt";
  EXPECT_EQ(wrong_identity.load(), 0) << "this_task::id() gave another task's id after a move";
}

}  // namespace
