// Timer-signal preemption: the design, and the handler with its switch.
//
// Design. Each worker thread owns a POSIX timer that sends it a signal every
// time slice while the worker is awake. The handler decides whether the
// running task must go: it has run for a whole slice (the worker's switch
// count has not moved since the previous tick), or its scheduler says that a
// Ready task outranks it (Scheduler::outranked). If so, and the task is at a
// safe point, it is switched out as if it had called yield(), and later
// resumes, on any worker, exactly where the signal stopped it; meanwhile it
// waits where its scheduler puts it (Scheduler::submit_preempted). Those two
// answers are scheduling policy and live with the rest of it, in each
// stage's worker_loop.cpp. This phase is the mechanism, in three files:
//   preempt_timer.cpp  the timers: one per worker, armed while it is awake;
//                      the retry timer of an owed preemption; the statistics;
//   safe_points.cpp    where a task may be switched out: the preempt-disable
//                      count, the table of preemptible code, owed preemptions;
//   preempt.cpp        (this file) the handler and its switch: the tick, the
//                      frame copy, the C side of the trampoline
//                      (preempt_x86_64.S), NoPreempt's end.
// What they share is in detail/preempt_internal.hpp.
//
// The signal: SIGURG. Its default action is to ignore it, so a tick that
// arrives after a worker stopped (or at a thread that is not ours) is
// harmless; programs rarely use it (only for sockets given an owner with
// F_SETOWN); SIGALRM belongs to alarm() and setitimer(), which user code
// does use. A SIGURG that is not one of our ticks goes to the handler that
// was installed before ours. Go made the same choice for the same reasons.
//
// The signal path. The handler runs on the worker's signal stack (the one
// stage 1 set up for stack overflows): a task's own stack may be too small
// for a signal frame (with AVX-512 it is about 3.5 KiB; a small stack may be
// 2 KiB), and a frame that does not fit cannot be refused once the kernel
// has written it. So the handler first checks the room, then copies the
// kernel's frame onto the task's stack and jumps to green_preempt_trampoline
// (preempt_x86_64.S) on that stack, which calls green_preempt_switch (a park
// whose callback hands the task to its scheduler, see requeue_preempted),
// and when the task is resumed, does the rt_sigreturn itself on the copy.
// The kernel restores everything from it: all general registers, flags, the
// x87/SSE/AVX state and the signal mask, on whatever thread that is. Two
// fields of the copy are fixed first: the pointer to its FP state (moved
// with it) and the saved signal stack (the new thread's own, or sigreturn
// would give this thread the old thread's signal stack).
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
//
// Rejected alternatives. Until Go 1.14 a goroutine could be switched out
// only at a function call; Go's design notes for fixing that (proposal
// 24543, "non-cooperative goroutine preemption") weigh the options below,
// and so do we.
//   - Cooperative checks at loop back-edges, inserted by the compiler: Go
//     tried them first (issue 10958) and found them too slow in exactly the
//     tight loops that need them; we have no compiler to insert them at all.
//     Explicit yields stay the cooperative path.
//   - A signal, switching out only where compiler metadata vouches for the
//     state: Go's choice. Its proposal first asked for stack and register
//     maps at every instruction; Go 1.14 shipped with the compiler marking
//     the unsafe points and the interrupted frame scanned conservatively.
//     Both serve Go's collector, which must find every pointer. We have no
//     collector (the whole register file travels in the copied frame) and no
//     metadata, and what makes a point unsafe here is a lock held by code we
//     do not control; so our safe points are a count and an allowlist of
//     code (safe_points.cpp). A tick that finds none is retried later, as
//     Go's is.
//   - Handing a blocked worker's queue to a spare thread (Go's sysmon takes
//     the P of an M blocked in a system call): an answer to blocking, not to
//     running. For a worker blocked on an OS lock that a preempted task
//     holds, HANDOUT 6.4 and os_locks.cpp say why we hold preemption off
//     instead.
//   - One monitor thread that signals the workers whose task has overstayed
//     (Go's sysmon: it wakes every 20 us to 10 ms, and preempts a goroutine
//     that has run for 10 ms). It reads every worker's state from another
//     thread, its own wake-ups bound how short a slice can be, and it needs
//     a CPU exactly when every worker is busy. Go has sysmon for other work
//     anyway, and must be portable. With a timer per worker the kernel is
//     the monitor: each tick arrives on the thread it concerns, the handler
//     decides there from thread-local state, and a slice can be as short as
//     50 us. The price: ticks that find a task switched since the last one
//     cost a signal for nothing (bench/preempt measures it), and
//     SIGEV_THREAD_ID is Linux's.
//   - A CPU-time clock: see "The clock" in preempt_timer.cpp.
#include <green/detail/preempt_internal.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/sanitizers.hpp>
#include <green/no_preempt.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <ucontext.h>
#include <valgrind/libvex_guest_amd64.h>
#include <valgrind/valgrind.h>

extern "C" {
[[noreturn]] void green_preempt_trampoline(void* frame, void* uc, int task_errno);  // preempt_x86_64.S
void green_preempt_switch(ucontext_t* uc, int task_errno);
}

namespace green::detail {

namespace {

constexpr std::size_t kRedZone = 128;  // below sp, owned by the interrupted function (ABI)
// Stack the trampoline and the switch need below the frame copy.
constexpr std::size_t kSwitchRoom = GREEN_ASAN || GREEN_TSAN ? 16 * 1024 : 1024;

std::once_flag g_setup;
struct sigaction g_previous{};  // the SIGURG action before ours: non-tick signals go there

// BEGIN SOLUTION
// Copies the frame with one uninstrumented instruction: the source is the
// signal stack, which the sanitizers do not track.
void copy_bytes(void* to, const void* from, std::size_t n) noexcept {
  asm volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
}
// END SOLUTION

void chain(int sig, siginfo_t* si, void* uc) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, si, uc);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
    g_previous.sa_handler(sig);
  }
}

// One tick on a worker. Returns normally unless it preempts through the
// trampoline (which never returns here).
[[gnu::no_sanitize_address]] void tick(PreemptState& ps, siginfo_t* si, ucontext_t* uc, int task_errno) {
  // BEGIN SOLUTION
  PreemptCounters& c = g_counters;
  (si->si_value.sival_int == kRetry ? c.retries : c.ticks).fetch_add(1, std::memory_order_relaxed);
  Worker& w = *ps.worker;
  Dispatcher& d = w;
  if (this_dispatcher() != &d) return;  // something else runs tasks here now
  Task* t = current_task();
  if (!t) return;  // the loop: nothing to preempt
  std::uint64_t sw = w.switches.v.load(std::memory_order_relaxed);  // written by this thread only
  bool whole_slice = sw == ps.seen_switches;
  ps.seen_switches = sw;
  if (!whole_slice && !d.sched->outranked(d, *t)) return;
  if (preempt_count() != 0) return owe(ps);
  set_preempt_count(1);  // claimed: a nested tick now only records itself
  auto refuse = [&ps] {  // not a safe point after all
    set_preempt_count(0);
    owe(ps);
  };

  auto* sp = reinterpret_cast<std::byte*>(uc->uc_mcontext.gregs[REG_RSP]);
  const void* pc = reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]);
  std::byte* lo = t->run ? t->run->stack.lo : nullptr;  // (a running task has its TaskRun)
  std::byte* hi = lo ? t->run->stack.hi() : nullptr;
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
    c.preemptions.fetch_add(1, std::memory_order_relaxed);
    w.preemptions.inc();  // ticks do not nest: this thread's only writer of it
#if GREEN_ASAN
    __asan_handle_no_return();  // we leave the signal stack for good: unpoison it
#endif
    green_preempt_trampoline(copy, moved, task_errno);
  }
  // Not on the signal stack: TSan running us late, or Valgrind, on the
  // task's own stack (see the top). Preempt in place if there is room.
  auto* here = static_cast<std::byte*>(__builtin_frame_address(0));
  if (here <= lo + kSwitchRoom || here > hi) return refuse();
  c.preemptions.fetch_add(1, std::memory_order_relaxed);
  w.preemptions.inc();
  green_preempt_switch(uc, task_errno);
  set_preempt_count(0);
  // STUB: (void)ps, (void)si, (void)uc, (void)task_errno;
  // STUB: unimplemented("phase 3: tick, the handler's decision and switch (preempt.cpp), is yours to write");
  // END SOLUTION
}

void on_signal(int sig, siginfo_t* si, void* uc) {
  const int saved_errno = *errno_location();
  PreemptState& ps = tl_state;
  if (si->si_code != SI_TIMER || !ps.worker) {
    chain(sig, si, uc);
  } else if (ps.sleeping) {  // counted, so that a runtime whose idle ticks never stop shows it
    (si->si_value.sival_int == kRetry ? g_counters.retries : g_counters.ticks).fetch_add(1, std::memory_order_relaxed);
    idle_tick(ps);
  } else {
    tick(ps, si, static_cast<ucontext_t*>(uc), saved_errno);
  }
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

// The park callback of a preemption: runs on the loop of the thread the
// task parked on, once it has switched out (park_current's callback), so
// nobody can run it before. Where it goes is its scheduler's call.
void requeue_preempted(Task* t, void*) {
  if (!t->word.unpark()) return;
  mark_runnable(t, Ready::Preempt);
  Dispatcher& d = *this_dispatcher();
  d.sched->submit_preempted(d, t);
}

}  // namespace

int preempt_signal() noexcept { return kSignal; }

void handler_start(PreemptState& ps) {
  std::call_once(g_setup, setup_once);
  stack_t ss{};
  sigaltstack(nullptr, &ss);
  ps.alt_lo = static_cast<char*>(ss.ss_sp);
  ps.alt_hi = ps.alt_lo + ss.ss_size;
}

}  // namespace green::detail

// Valgrind's rt_sigreturn restores the whole guest state it saved with the
// frame, the FS base (the thread pointer, which makes thread_local work)
// included; the kernel's leaves the FS base alone. A task resumed on another
// worker would come back with the old worker's thread pointer. So under
// Valgrind, find that saved state in the copied frame (it is the one whose
// saved rip and rsp are the interrupted ones) and give it this thread's.
static void fix_valgrind_thread_pointer(const ucontext_t* uc, const std::byte* limit) noexcept {
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

// Called on the task's own stack, with the preempt-disable count at 1 (the
// handler's claim): the preemption proper. Returns, with the count still 1,
// when the task has been resumed, maybe on another thread.
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
  fix_valgrind_thread_pointer(uc, current_task()->run->stack.hi());
}

green::this_task::NoPreempt::~NoPreempt() {
  green::detail::preempt_enable_no_yield();
  green::detail::pay_owed_preemption(nullptr);
}
