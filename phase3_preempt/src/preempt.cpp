// Timer-signal preemption.
//
// Design. Each worker thread owns a POSIX timer that sends it (and only it:
// SIGEV_THREAD_ID) a signal every time slice while the worker is awake. The
// handler decides whether the running task must go: it has run for a whole
// slice (the worker's switch count has not moved since the previous tick), or
// a task of higher priority is Ready. If so, and the task is at a safe point,
// it is switched out as if it had called yield(), and later resumes, on any
// worker, exactly where the signal stopped it.
//
// The signal: SIGURG. Its default action is to ignore it, so a tick that
// arrives after a worker stopped (or at a thread that is not ours) is
// harmless; programs rarely use it (only for sockets given an owner with
// F_SETOWN); SIGALRM belongs to alarm() and setitimer(), which user code
// does use. A SIGURG that is not one of our ticks goes to the handler that
// was installed before ours. Go made the same choice for the same reasons.
//
// The clock: CLOCK_MONOTONIC. A CPU-time clock would charge only the time
// the worker actually ran, but the kernel checks CPU-time timers only at its
// scheduler tick (1-4 ms), far too coarse for a 1 ms or 50 us slice. The
// timer is disarmed while the worker sleeps for lack of work, so an idle
// runtime still takes no signals and uses no CPU.
//
// Safe points. A task may be switched out only if all of these hold:
//   - the preempt-disable count is 0 (detail/preempt.hpp): the runtime is
//     not in its own code on the task's behalf, the task is not inside
//     this_task::NoPreempt, and it holds no OS lock (os_locks.cpp);
//   - the interrupted pc is in code that may be preempted (preemptible_pc):
//     the main program's or an opted-in library's, never another library
//     (libc, libstdc++, a malloc replacement, any .so), which may hold an
//     internal lock that another task on this worker could then wait for
//     forever; not our own trampoline;
//   - the interrupted stack pointer is on the task's stack, with room for a
//     copy of the signal frame plus the switch below the red zone.
// Otherwise the preemption is owed: the pending flag is set (NoPreempt takes
// it when it ends), and the next tick tries again, since the switch count
// still has not moved. A second, one-shot timer brings that tick forward (a
// quarter slice, within 50 us..1 ms): code that spends most of its time in
// libc, or a tick that landed in the runtime's own code, then costs a
// fraction of a slice, not a whole one.
//
// The signal path. The handler runs on the worker's signal stack (the one
// stage 1 set up for stack overflows): a task's own stack may be too small
// for a signal frame (with AVX-512 it is about 3.5 KiB; a small stack may be
// 2 KiB), and a frame that does not fit cannot be refused once the kernel
// has written it. So the handler first checks the room, then copies the
// kernel's frame onto the task's stack and jumps to green_preempt_trampoline
// (preempt_x86_64.S) on that stack, which calls green_preempt_switch (a park
// that requeues the task, see requeue_preempted), and when the task is
// resumed, does the rt_sigreturn itself on the copy. The kernel restores everything from it: all general registers,
// flags, the x87/SSE/AVX state and the signal mask, on whatever thread that
// is. Two fields of the copy are fixed first: the pointer to its FP state
// (moved with it) and the saved signal stack (the new thread's own, or
// sigreturn would give this thread the old thread's signal stack).
//
// Reentrancy and the signal mask. The kernel blocks the signal while its
// handler runs, so ticks never nest (with slices of tens of microseconds and
// a slow handler, under a debugger or Valgrind, nested frames would pile up
// on the signal stack). A preemption leaves the handler without returning
// from it, so before switching out, green_preempt_switch gives the thread
// back the mask the task was interrupted with (the copy's uc_sigmask); the
// final rt_sigreturn sets that same mask on whatever thread resumes the task.
// From the claim until the task is resumed, the count is 1: a tick that
// arrives then only records itself.
//
// Valgrind emulates signal delivery, and Memcheck reads the jump from the
// signal stack to a task's stack as the stack shrinking over whatever lies
// between. Under Valgrind the handler therefore runs on the task's stack (no
// SA_ONSTACK) and preempts in place, as under TSan below; and since Valgrind's
// rt_sigreturn restores the thread pointer it saved, the frame gets the
// resuming thread's (fix_valgrind_thread_pointer).
//
// ThreadSanitizer delivers asynchronous signals late, from inside its own
// interceptors and atomic operations, with a copy of the context: there the
// handler already runs on the task's stack, and preempts in place (the same
// switch, called from inside the handler) instead of moving the frame.
#include <green/detail/os_locks.hpp>
#include <green/detail/preempt_signal.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/no_preempt.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <link.h>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <ucontext.h>
#include <unistd.h>
#include <valgrind/libvex_guest_amd64.h>
#include <valgrind/valgrind.h>

extern "C" {
__thread int green_preempt_off = 0;      // see detail/preempt.hpp
__thread int green_preempt_pending = 0;
}

extern "C" {
extern char green_preempt_begin[], green_preempt_end[];  // preempt_x86_64.S
[[noreturn]] void green_preempt_trampoline(void* frame, void* uc, int task_errno);
void green_preempt_switch(ucontext_t* uc, int task_errno);
}

namespace green::detail {

namespace {

constexpr int kSignal = SIGURG;
constexpr std::size_t kRedZone = 128;  // below sp, owned by the interrupted function (ABI)
// Stack the trampoline and the switch need below the frame copy.
constexpr std::size_t kSwitchRoom = GREEN_ASAN || GREEN_TSAN ? 16 * 1024 : 1024;

// ---- Code that may be preempted -------------------------------------------
// An allowlist: only code known to be the program's own may be preempted, the
// main executable's and that of the libraries its runtime names
// (RuntimeOptions::preemptible_libraries, and GREEN_PREEMPT_LIBS for every
// runtime). Any other library may hold a lock of its own that another task
// on this worker could then wait for forever: libc's malloc arenas, a malloc
// replacement's (jemalloc, tcmalloc), libstdc++'s, OpenSSL's, any user .so.
// Code loaded after the worker started is not in its table, and so not
// preemptible either.
//
// Each worker makes its own table when it starts (so each runtime's options
// apply to its own workers) and frees it when it stops; only the worker's
// thread and its signal handler read it.
struct CodeRange {
  std::uintptr_t lo, hi;
};
struct RangeTable {  // the preemptible code; anything else is not
  static constexpr int kMax = 64;
  int n = 0;
  CodeRange r[kMax];
  bool static_runtime = false;  // libc or libstdc++ is linked into the executable
};

bool name_starts(const char* path, std::string_view prefix) {
  const char* name = std::strrchr(path, '/');
  name = name ? name + 1 : path;
  return !prefix.empty() && std::string_view(name).starts_with(prefix);
}

struct Scan {
  RangeTable* table;
  const std::vector<std::string>* libs;  // the runtime's opted-in libraries
  std::string_view env;                  // GREEN_PREEMPT_LIBS: more, ':'-separated
  bool first = true, libc = false, libstdcxx = false;
};

// Does the main program itself need libc.so and libstdc++.so (its DT_NEEDED
// entries)? If not, their code is linked into it. (Whether they are loaded
// says nothing: a sanitizer runtime may load libstdc++.so for itself.)
void read_needed(const dl_phdr_info* info, Scan& scan) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
    std::uintptr_t strtab = 0;
    for (auto* d = dyn; d->d_tag != DT_NULL; ++d)
      if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
    if (!strtab) return;
    if (strtab < info->dlpi_addr) strtab += info->dlpi_addr;  // ld.so relocates it in place, or not
    for (auto* d = dyn; d->d_tag != DT_NULL; ++d) {
      if (d->d_tag != DT_NEEDED) continue;
      const char* name = reinterpret_cast<const char*>(strtab + d->d_un.d_val);
      scan.libc |= name_starts(name, "libc.so");
      scan.libstdcxx |= name_starts(name, "libstdc++.so");
    }
  }
}

int add_ranges(dl_phdr_info* info, std::size_t, void* arg) {
  auto& scan = *static_cast<Scan*>(arg);
  const char* path = info->dlpi_name ? info->dlpi_name : "";
  bool ours = std::exchange(scan.first, false);  // the first object is the main program
  if (ours) read_needed(info, scan);
  for (const std::string& lib : *scan.libs) ours |= name_starts(path, lib);
  for (std::string_view v = scan.env; !v.empty();) {
    std::size_t colon = std::min(v.find(':'), v.size());
    ours |= name_starts(path, v.substr(0, colon));
    v.remove_prefix(std::min(colon + 1, v.size()));
  }
  // Under TSan the handler runs from TSan's own safe points (see the top),
  // so a tick that landed in its atomics or instrumentation is preemptible.
  // A test-build concession: TSan's runtime is called from libraries too, so
  // under TSan an instrumented library can be preempted inside.
  ours |= GREEN_TSAN && name_starts(path, "libtsan");
  if (!ours) return 0;
  RangeTable& t = *scan.table;
  for (int i = 0; i < info->dlpi_phnum && t.n < RangeTable::kMax; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    t.r[t.n++] = {lo, lo + ph.p_memsz};
  }
  return 0;
}

std::unique_ptr<RangeTable> make_ranges(const std::vector<std::string>& libs) {
  auto t = std::make_unique<RangeTable>();
  const char* env = std::getenv("GREEN_PREEMPT_LIBS");
  Scan scan{t.get(), &libs, env ? env : ""};
  dl_iterate_phdr(&add_ranges, &scan);
  t->static_runtime = !scan.libc || !scan.libstdcxx;
  return t;
}

// ---- Per worker thread ------------------------------------------------------
// Touched only by its own thread: the worker's loop (start, pause, resume,
// stop) and its signal handler. worker is set last and cleared first, with
// a signal fence, so the handler sees either no worker or a complete state.
struct PreemptState {
  Worker* worker = nullptr;
  timer_t timer{};                      // periodic, every slice
  timer_t retry_timer{};                // one-shot, armed by a deferral (see owe)
  itimerspec slice{};
  itimerspec retry{};                   // how soon to try again after a deferral
  std::uint64_t seen_switches = ~0ull;  // the worker's switch count at the previous tick
  char* alt_lo = nullptr;               // this thread's signal stack
  char* alt_hi = nullptr;
  RangeTable* ranges = nullptr;         // code this worker may preempt (make_ranges)
};
constinit thread_local PreemptState tl_state;

std::once_flag g_setup;
std::atomic<bool> g_static{false};  // a worker found libc or libstdc++ linked statically
struct sigaction g_previous{};  // the SIGURG action before ours: non-tick signals go there
std::atomic<std::uint64_t> g_ticks{0}, g_retries{0}, g_preemptions{0}, g_deferred{0};  // relaxed: statistics

// A preemption this tick could not take: remember it, and bring the next
// tick forward (see "Safe points").
void owe(PreemptState& ps) noexcept {
  set_preempt_pending(1);
  g_deferred.fetch_add(1, std::memory_order_relaxed);
  timer_settime(ps.retry_timer, 0, &ps.retry, nullptr);
}

// Does a Ready task outrank t? Non-default priorities always go through the
// global queue, whose bitmap says what is there; default-priority tasks sit
// in the worker's own deque. Both loads are hints, which is all a tick needs.
bool outranked(Worker& w, Task& t) noexcept {
  int p = t.word.priority();
  if (w.rt->global.maybe_above(p)) return true;
  return p < kDefaultPriority && w.local.nonempty_sc();
}

// Copies the frame with one uninstrumented instruction: the source is the
// signal stack, which the sanitizers do not track.
void copy_bytes(void* to, const void* from, std::size_t n) noexcept {
  asm volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
}

void chain(int sig, siginfo_t* si, void* uc) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, si, uc);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
    g_previous.sa_handler(sig);
  }
}

constexpr int kRegular = 0, kRetry = 1;  // sigev_value of the two timers

// One tick on a worker. Returns normally unless it preempts through the
// trampoline (which never returns here).
[[gnu::no_sanitize_address]] void tick(PreemptState& ps, siginfo_t* si, ucontext_t* uc, int task_errno) {
  (si->si_value.sival_int == kRetry ? g_retries : g_ticks).fetch_add(1, std::memory_order_relaxed);
  Worker& w = *ps.worker;
  if (this_dispatcher() != static_cast<Dispatcher*>(&w)) return;  // something else runs tasks here now
  Task* t = current_task();
  if (!t) return;  // the loop: nothing to preempt
  std::uint64_t sw = w.switches.v.load(std::memory_order_relaxed);  // written by this thread only
  bool whole_slice = sw == ps.seen_switches;
  ps.seen_switches = sw;
  if (!whole_slice && !outranked(w, *t)) return;
  if (preempt_count() != 0) return owe(ps);
  set_preempt_count(1);  // claimed: a nested tick now only records itself
  auto refuse = [&ps] {  // not a safe point after all
    set_preempt_count(0);
    owe(ps);
  };

  auto* sp = reinterpret_cast<std::byte*>(uc->uc_mcontext.gregs[REG_RSP]);
  const void* pc = reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]);
  std::byte* lo = t->stack_lo;
  std::byte* hi = lo ? t->extra().stack.hi() : nullptr;
  if (!lo || sp <= lo || sp > hi || !preemptible_pc(pc)) return refuse();
  // The kernel's frame starts with the return address the handler would
  // return through, right below the lower of uc and si.
  char* frame = std::min(reinterpret_cast<char*>(uc), reinterpret_cast<char*>(si)) - sizeof(void*);
  if (frame >= ps.alt_lo && frame < ps.alt_hi) {
    std::size_t size = static_cast<std::size_t>(ps.alt_hi - frame);
    // The copy keeps the frame's alignment mod 64 (its FP state must stay
    // 64-byte aligned for XRSTOR) and ends below the red zone.
    auto limit = reinterpret_cast<std::uintptr_t>(sp) - kRedZone;
    std::uintptr_t at = ((limit - size) & ~std::uintptr_t{63}) | (reinterpret_cast<std::uintptr_t>(frame) & 63);
    if (at + size > limit) at -= 64;
    if (at < reinterpret_cast<std::uintptr_t>(lo) + kSwitchRoom) return refuse();  // a small or deep stack
    char* copy = reinterpret_cast<char*>(at);
    copy_bytes(copy, frame, size);
    std::ptrdiff_t delta = copy - frame;
    auto* moved = reinterpret_cast<ucontext_t*>(reinterpret_cast<char*>(uc) + delta);
    auto* fp = reinterpret_cast<char*>(uc->uc_mcontext.fpregs);
    if (fp >= frame && fp < ps.alt_hi) moved->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(fp + delta);
    g_preemptions.fetch_add(1, std::memory_order_relaxed);
#if GREEN_ASAN
    __asan_handle_no_return();  // we leave the signal stack for good: unpoison it
#endif
    green_preempt_trampoline(copy, moved, task_errno);
  }
  // Not on the signal stack: TSan running us late, or Valgrind, on the
  // task's own stack (see the top). Preempt in place if there is room.
  auto* here = static_cast<std::byte*>(__builtin_frame_address(0));
  if (here <= lo + kSwitchRoom || here > hi) return refuse();
  g_preemptions.fetch_add(1, std::memory_order_relaxed);
  green_preempt_switch(uc, task_errno);
  set_preempt_count(0);
}

void on_signal(int sig, siginfo_t* si, void* uc) {
  const int saved_errno = *errno_location();
  PreemptState& ps = tl_state;
  if (si->si_code != SI_TIMER || !ps.worker) chain(sig, si, uc);
  else tick(ps, si, static_cast<ucontext_t*>(uc), saved_errno);
  *errno_location() = saved_errno;  // maybe another thread's errno now (in-place preemption)
}

void setup_once() {
  struct sigaction sa{};
  sa.sa_sigaction = &on_signal;
  // SA_ONSTACK: see "The signal path" (not under Valgrind, see "Valgrind");
  // no SA_NODEFER: see "Reentrancy"; SA_RESTART: a tick must not make the
  // task's system calls fail with EINTR.
  sa.sa_flags = SA_SIGINFO | SA_RESTART | (RUNNING_ON_VALGRIND ? 0 : SA_ONSTACK);
  sigemptyset(&sa.sa_mask);
  sigaction(kSignal, &sa, &g_previous);
}

void arm(PreemptState& ps) noexcept {
  ps.seen_switches = ~0ull;  // the first tick after (re)arming never preempts
  timer_settime(ps.timer, 0, &ps.slice, nullptr);
}

}  // namespace

int preempt_signal() noexcept { return kSignal; }

// relaxed: a flag that only goes from false to true and publishes nothing
// (the warning is printed by whoever sets it).
bool preemption_refused_static() noexcept { return g_static.load(std::memory_order_relaxed); }

void pay_owed_preemption(const void* caller) noexcept {
  if (preempt_count() != 0 || !preempt_pending() || !current_task()) return;
  if (caller && !preemptible_pc(caller)) return;  // the retry tick will take it
  yield_current();                                // and the switch clears the flag
}

bool preemptible_pc(const void* pc) noexcept {
  const RangeTable* t = tl_state.ranges;
  if (!t || (pc >= green_preempt_begin && pc < green_preempt_end)) return false;
  auto a = reinterpret_cast<std::uintptr_t>(pc);
  for (int i = 0; i < t->n; ++i)
    if (a >= t->r[i].lo && a < t->r[i].hi) return true;
  return false;
}

void preempt_start(Worker& w) {
  auto slice = w.rt->time_slice;
  if (slice.count() <= 0) return;
  PreemptState& ps = tl_state;
  auto ranges = make_ranges(w.rt->preemptible_libraries);
  if (ranges->static_runtime) {
    if (!g_static.exchange(true, std::memory_order_relaxed))  // relaxed: one warning, whoever prints it
      std::fputs("green: libc or libstdc++ is linked statically; tasks are not preempted (cooperative only)\n",
                 stderr);
    return;
  }
  os_locks_init();
  std::call_once(g_setup, setup_once);
  stack_t ss{};
  sigaltstack(nullptr, &ss);
  ps.alt_lo = static_cast<char*>(ss.ss_sp);
  ps.alt_hi = ps.alt_lo + ss.ss_size;
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = kSignal;
  ev._sigev_un._tid = gettid();  // glibc 2.36 has no sigev_notify_thread_id
  auto make = [&](timer_t* t, int which) {
    ev.sigev_value.sival_int = which;
    return timer_create(CLOCK_MONOTONIC, &ev, t) == 0;
  };
  bool ok = make(&ps.timer, kRegular);
  if (ok && !make(&ps.retry_timer, kRetry)) {
    timer_delete(ps.timer);
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "green: worker %u cannot run a preemption timer (%s); it stays cooperative\n", w.index,
                 std::strerror(errno));
    return;
  }
  long us = static_cast<long>(slice.count());
  ps.slice.it_value = ps.slice.it_interval = timespec{us / 1'000'000, (us % 1'000'000) * 1000};
  long retry_us = std::clamp(us / 4, 50L, 1000L);
  ps.retry.it_value = timespec{0, retry_us * 1000};  // one shot
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, kSignal);
  pthread_sigmask(SIG_UNBLOCK, &s, nullptr);  // the thread that made the runtime may have blocked it
  ps.ranges = ranges.release();
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the state is complete before the handler may use it
  ps.worker = &w;
  arm(ps);
}

void preempt_pause() noexcept {
  PreemptState& ps = tl_state;
  if (!ps.worker) return;
  itimerspec off{};
  timer_settime(ps.timer, 0, &off, nullptr);
  timer_settime(ps.retry_timer, 0, &off, nullptr);
}

void preempt_resume() noexcept {
  PreemptState& ps = tl_state;
  if (ps.worker) arm(ps);
}

void preempt_stop() noexcept {
  PreemptState& ps = tl_state;
  if (!ps.worker) return;
  ps.worker = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the handler stops before the timer goes
  timer_delete(ps.timer);
  timer_delete(ps.retry_timer);
  delete std::exchange(ps.ranges, nullptr);
}

PreemptStats preempt_stats() noexcept {
  return {g_ticks.load(std::memory_order_relaxed), g_retries.load(std::memory_order_relaxed),
          g_preemptions.load(std::memory_order_relaxed), g_deferred.load(std::memory_order_relaxed)};
}

// Where a preempted task goes: behind everything Ready that its worker
// would run. If the global queue holds work, to its back (as in Go): requeued
// like a yield, into the worker's yield ring, it would be picked again ahead
// of that work, which the worker serves after the ring. Otherwise like a
// yield: behind the worker's own tasks, and at once again if there are none
// (the global queue is also what the worker's fairness check prefers to its
// ring, so a preempted task put there could overtake a task that yielded to
// it). Runs on the worker's loop once the task has parked (park_current's
// callback), so nobody can run it before it has switched out.
void requeue_preempted(Task* t, void*) {
  if (!t->word.unpark()) return;
  auto* rt = static_cast<RuntimeImpl*>(t->extra().sched);
  if (rt->global.maybe_nonempty()) rt->push_global(t);
  else rt->submit_yielded(*this_dispatcher(), t);
}

}  // namespace green::detail

// Called on the task's own stack, with the preempt-disable count at 1 (the
// handler's claim): the preemption proper. Returns, with the count still 1,
// when the task has been resumed, maybe on another thread.
// Valgrind's rt_sigreturn restores the whole guest state it saved with the
// frame, the FS base (the thread pointer, which makes thread_local work)
// included; the kernel's leaves the FS base alone. A task resumed on another
// worker would come back with the old worker's thread pointer. So under
// Valgrind, find that saved state in the copied frame (it is the one whose
// saved rip and rsp are the interrupted ones) and give it this thread's.
void fix_valgrind_thread_pointer(const ucontext_t* uc, const std::byte* limit) noexcept {
  if (!RUNNING_ON_VALGRIND) return;
  auto rip = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
  auto rsp = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
  std::uint64_t fs;
  asm volatile("movq %%fs:0, %0" : "=r"(fs));  // glibc's thread pointer points at itself
  // The search reads Valgrind's frame, redzones and padding included: keep
  // Memcheck quiet while it does (this thread only).
  VALGRIND_DISABLE_ERROR_REPORTING;
  auto word = [](const std::byte* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  auto* from = reinterpret_cast<std::byte*>(const_cast<ucontext_t*>(uc));
  for (std::byte* p = from; p + sizeof(VexGuestAMD64State) <= limit; p += 8)
    if (word(p + offsetof(VexGuestAMD64State, guest_RIP)) == rip &&
        word(p + offsetof(VexGuestAMD64State, guest_RSP)) == rsp) {
      std::memcpy(p + offsetof(VexGuestAMD64State, guest_FS_CONST), &fs, sizeof fs);
      break;
    }
  VALGRIND_ENABLE_ERROR_REPORTING;
}

// uc is the interrupted context: our copy of the kernel's frame, which the
// trampoline's rt_sigreturn loads, or (in place) a sanitizer's copy.
extern "C" void green_preempt_switch(ucontext_t* uc, int task_errno) {
  using namespace green::detail;
  *errno_location() = task_errno;  // the task's errno; the switch carries it to the next thread
  // This thread's loop must run with the mask it had before the tick (see
  // "Reentrancy"), not with the tick's signal blocked.
  pthread_sigmask(SIG_SETMASK, &uc->uc_sigmask, nullptr);
  park_current(&requeue_preempted, nullptr);
  // The copied frame's signal stack is the old thread's: rt_sigreturn would
  // install it here. Give it this thread's.
  stack_t ss{};
  sigaltstack(nullptr, &ss);
  uc->uc_stack = ss;
  fix_valgrind_thread_pointer(uc, current_task()->extra().stack.hi());
}

green::this_task::NoPreempt::~NoPreempt() {
  green::detail::preempt_enable_no_yield();
  green::detail::pay_owed_preemption(nullptr);
}
