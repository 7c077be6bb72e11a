// The signal stack and the SIGSEGV handler that reports an overflow of a task's
// stack (stage 1's file had neither: see include/green/detail/signal_stack.hpp).
//
// Stage 1 needed none: a guard page turns every overflow into a fault at
// once, and a fault is unmistakable. A slab stack (stack_source.cpp) has no
// guard page: its overflow runs into its neighbour or the slab's end, where
// the fault, if there is one, is far from any guard page and the process
// would just die. The handler tells an overflow from any other fault by
// where the fault is: near the running task's stack, or near its stack
// pointer when that has already left the stack.
//
// Two things make it work:
//   - the handler runs on an alternate signal stack (SA_ONSTACK): the task's
//     stack has no room left for the kernel's signal frame;
//   - it claims only faults near the task's stack; any other goes to the
//     handler that was there before (a crash reporter, ASan's), or to the
//     default action, as if we were not there.
#include <green/detail/signal_stack.hpp>
#include <green/detail/task.hpp>
#include <green/detail/unimplemented.hpp>

#include <csignal>
#include <cstdint>
#include <mutex>
#include <new>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

namespace green::detail {

namespace {

// Appends s to buf (async-signal-safe helpers for the report).
char* put(char* p, const char* end, const char* s) {
  while (*s && p < end) *p++ = *s++;
  return p;
}
char* put_u64(char* p, const char* end, std::uint64_t v) {
  char digits[20];
  int n = 0;
  do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) != 0);
  while (n && p < end) *p++ = digits[--n];
  return p;
}

struct sigaction g_previous_segv;

// A fault below the running task's stack is an overflow if it is within reach
// of the stack (just below lo: a guard page, or a slab stack's first frame
// past its end) or of the stack pointer, when that has left the stack already
// (a slab stack's recursion that ran down through its neighbours and off the
// slab). Anything else is not ours: restore the previous handler and return,
// so the fault repeats and goes where it would have gone without us.
void on_segv(int sig, siginfo_t* info, void* uctx) {
  Task* t = current_task();
  if (t) {
    // BEGIN SOLUTION
    const Stack& s = t->run->stack;
    auto* addr = static_cast<std::byte*>(info->si_addr);
    auto* sp = reinterpret_cast<std::byte*>(static_cast<ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
    constexpr std::size_t kReach = 64 * 1024;  // how far below lo (or sp) a frame may land
    bool near_lo = addr < s.lo && addr + kReach >= s.lo;
    bool near_sp = sp < s.lo && addr < s.lo && addr + kReach >= sp && addr <= sp + kReach;
    if (near_lo || near_sp) report_stack_overflow(t->extra().id, task_name(t));
    // STUB: (void)info, (void)uctx;
    // STUB: unimplemented("stage 4: on_segv (signal_stack.cpp) must tell a task's overflow from other faults");
    // END SOLUTION
  }
  if (g_previous_segv.sa_flags & SA_SIGINFO && g_previous_segv.sa_sigaction) {
    g_previous_segv.sa_sigaction(sig, info, uctx);
    return;
  }
  sigaction(SIGSEGV, &g_previous_segv, nullptr);
}

// The thread's signal stack, a mapping of its own, made the first time the
// thread needs it and kept until the thread ends. prev: what the thread had
// before ours went in, while ours is in.
struct AltStack {
  static constexpr std::size_t size = 64 * 1024;
  static_assert(size >= kMinSignalStack);
  void* mem = nullptr;
  bool installed = false;
  stack_t prev{};
  ~AltStack() {
    if (!mem) return;
    stack_t cur{};
    sigaltstack(nullptr, &cur);
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_sp == mem) {
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, nullptr);
    }
    munmap(mem, size);
  }
};
thread_local AltStack tl_alt;
}  // namespace

void report_stack_overflow(std::uint64_t id, const char* name) noexcept {
  char buf[256] = {};
  char* end = buf + sizeof buf - 1;
  char* p = put(buf, end, "green: stack overflow in task ");
  p = put_u64(p, end, id);
  p = put(p, end, " \"");
  p = put(p, end, name);
  p = put(p, end, "\"\n");
  [[maybe_unused]] ssize_t r = write(STDERR_FILENO, buf, static_cast<std::size_t>(p - buf));
  std::abort();
}

void install_signal_stack() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
  });
  // BEGIN SOLUTION
  AltStack& a = tl_alt;
  stack_t cur{};
  sigaltstack(nullptr, &cur);
  if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= kMinSignalStack) return;  // the thread's own will do
  if (!a.mem) {
    void* m = mmap(nullptr, AltStack::size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    a.mem = m;
  }
  stack_t ss{};
  ss.ss_sp = a.mem;
  ss.ss_size = AltStack::size;
  if (sigaltstack(&ss, &a.prev) == 0) a.installed = true;
  // STUB: // No signal stack yet: the handler cannot run on an overflowed stack, and
  // STUB: // the kernel kills the process instead (signal_stack_test.cpp says so).
  // END SOLUTION
}

void restore_signal_stack() noexcept {
  AltStack& a = tl_alt;
  if (!a.installed) return;
  a.installed = false;
  // A disabled stack is put back as disabled (sigaltstack ignores its other fields then).
  sigaltstack(&a.prev, nullptr);
}

}  // namespace green::detail
