// Task dumps (green/dump.hpp): a walk over every block the task-block cache
// has made (block_registry.hpp), printing those that hold a task
// (TaskExtra::live).
//
// One formatter serves both callers. It appends to a buffer on the stack and
// writes it with write(2), calling nothing a signal handler may not call;
// only dump_tasks, outside a handler, also looks up the symbol a task will
// resume in (dladdr and the demangler allocate).
#include <green/detail/block_registry.hpp>
#include <green/detail/task.hpp>
#include <green/dump.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dlfcn.h>
#include <unistd.h>

namespace green {
namespace {

using detail::Task;
using detail::TaskExtra;
using detail::TaskState;

// Appends text to a fixed buffer, written out when full and at the end.
class Out {
 public:
  explicit Out(int fd) : fd_(fd) {}
  ~Out() { flush(); }
  Out& str(const char* s, std::size_t n) {
    while (n) {
      if (len_ == sizeof buf_) flush();
      std::size_t k = n < sizeof buf_ - len_ ? n : sizeof buf_ - len_;
      std::memcpy(buf_ + len_, s, k);
      len_ += k, s += k, n -= k;
    }
    return *this;
  }
  Out& str(const char* s) { return str(s, std::strlen(s)); }
  Out& num(std::uint64_t v, unsigned base = 10) {
    char d[24];
    int i = sizeof d;
    do d[--i] = "0123456789abcdef"[v % base]; while (v /= base);
    return str(d + i, sizeof d - static_cast<std::size_t>(i));
  }
  Out& inum(std::int64_t v) { return v < 0 ? str("-").num(-static_cast<std::uint64_t>(v)) : num(static_cast<std::uint64_t>(v)); }
  void flush() {
    for (std::size_t off = 0; off < len_;) {
      ssize_t w = ::write(fd_, buf_ + off, len_ - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    len_ = 0;
  }

 private:
  int fd_;
  std::size_t len_ = 0;
  char buf_[2048];
};

const char* state_name(TaskState s) {
  switch (s) {
    case TaskState::Ready: return "runnable";
    case TaskState::Running: return "running";
    case TaskState::Waiting: return "waiting";
    case TaskState::Done: return "done";
  }
  return "?";
}

// Where a switched-out task resumes: the return address its switch saved
// (the last word of the saved frame, context.hpp).
GREEN_RACY_READER void* resume_pc(const Task& t) {
#if GREEN_CONTEXT_UCONTEXT
  return reinterpret_cast<void*>(t.ctx.uc.uc_mcontext.gregs[REG_RIP]);
#else
  auto* f = static_cast<const detail::SavedFrame*>(t.ctx.sp);  // context_sp, read here (TSan: see above)
  return f ? f->ret : nullptr;
#endif
}

struct Walk {
  Out* out;
  bool symbols;  // not in a signal handler
  std::uint64_t now;
  unsigned count = 0;
};

GREEN_RACY_READER void print_task(Walk& w, Task& t) {
  TaskExtra& x = t.extra();
  Out& o = *w.out;
  TaskState st = t.state();
  // Its TaskRun lies on its stack from its first run to its end.
  detail::TaskRun* run = st == TaskState::Done ? nullptr : t.run;
  o.str("task ").num(x.id);
  if (t.word.named()) {
    const char* name = task_name(&t);
    o.str(" \"").str(name, strnlen(name, 64)).str("\"");
  }
  o.str(" [").str(state_name(st));
  const detail::WaitInfo* wi = st == TaskState::Waiting && run ? run->waiting : nullptr;
  if (wi) {
    o.str(": ").str(wi->what);
    if (wi->arg) {
      o.str(" ");
      if (wi->arg > 0xffffffffLL) o.str("0x").num(static_cast<std::uint64_t>(wi->arg), 16);  // an address
      else o.inum(wi->arg);
    }
    std::uint64_t ms = w.now > wi->since ? (w.now - wi->since) / 1'000'000 : 0;
    o.str(", ").num(ms / 1000).str(".").num(ms / 100 % 10).str(" s");
  }
  o.str("] priority ").num(static_cast<std::uint64_t>(t.word.priority()));
  if (!run && st != TaskState::Done) o.str(", not started");
  o.str(":\n");
  void* pc = st == TaskState::Running || !run ? nullptr : resume_pc(t);
  if (pc) {
    o.str("    resumes at 0x").num(reinterpret_cast<std::uintptr_t>(pc), 16);
    Dl_info info;
    if (w.symbols && dladdr(pc, &info)) {
      if (info.dli_sname) {  // an exported symbol (a shared library's, or -rdynamic)
        int status = 0;
        char* name = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
        o.str(" in ").str(status == 0 && name ? name : info.dli_sname);
        o.str("+0x").num(reinterpret_cast<std::uintptr_t>(pc) - reinterpret_cast<std::uintptr_t>(info.dli_saddr), 16);
        std::free(name);
      } else if (info.dli_fname) {  // for addr2line -e <file> <offset>
        const char* base = std::strrchr(info.dli_fname, '/');
        o.str(" (").str(base ? base + 1 : info.dli_fname).str("+0x");
        o.num(reinterpret_cast<std::uintptr_t>(pc) - reinterpret_cast<std::uintptr_t>(info.dli_fbase), 16).str(")");
      }
    }
    o.str("\n");
  }
  o.str("\n");
  ++w.count;
}

unsigned dump(int fd, bool symbols) {
  Out out(fd);
  Walk w{&out, symbols, detail::coarse_now_ns()};
  bool whole = detail::for_each_task([](Task* t, void* arg) GREEN_RACY_READER { print_task(*static_cast<Walk*>(arg), *t); },
                                     &w, !symbols);
  out.str("green: ").num(w.count).str(w.count == 1 ? " task" : " tasks");
  if (!whole) out.str(" (tasks with large blocks skipped: their list was busy)");
  out.str("\n");
  return w.count;
}

void on_signal(int) {
  int saved = errno;
  dump(STDERR_FILENO, false);
  errno = saved;
}

}  // namespace

unsigned dump_tasks(std::FILE* f) {
  std::fflush(f);
  return dump(fileno(f), true);
}

void dump_tasks_on_signal(int signo) {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(signo, &sa, nullptr);
}

}  // namespace green
