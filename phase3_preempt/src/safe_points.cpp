// Timer-signal preemption: safe points, where a tick may switch a task out.
// (The overview is at the top of preempt.cpp.)
//
// A task may be switched out only if all of these hold:
//   - the preempt-disable count is 0 (detail/preempt.hpp): the runtime is
//     not in its own code on the task's behalf, the task is not inside
//     this_task::NoPreempt, and it holds no OS lock (os_locks.cpp);
//   - the interrupted pc is in code that may be preempted (preemptible_pc):
//     the main program's or an opted-in library's, never another library
//     (libc, libstdc++, a malloc replacement, any .so), which may hold an
//     internal lock that another task on this worker could then wait for
//     forever; not our own trampoline;
//   - the interrupted stack pointer is on the task's stack, with room for a
//     copy of the signal frame plus the switch below the red zone (checked
//     by the handler, preempt.cpp, which knows the frame's size).
// Otherwise the preemption is owed: the pending flag is set (NoPreempt and
// an OS lock's unlock pay it when the count comes down to 0, see
// pay_owed_preemption), and the next tick tries again, since the switch
// count still has not moved; the retry timer brings that tick forward
// (preempt_timer.cpp).
//
// The code that may be preempted is an allowlist: only code known to be
// the program's own, the main executable's and that of the libraries its
// runtime names (RuntimeOptions::preemptible_libraries, and
// GREEN_PREEMPT_LIBS for every runtime). Any other library may hold a lock
// of its own that another task on this worker could then wait for forever:
// libc's malloc arenas, a malloc replacement's (jemalloc, tcmalloc),
// libstdc++'s, OpenSSL's, any user .so. Code loaded after the worker started
// is not in its table, and so not preemptible either. If libc or libstdc++
// is linked into the executable, their code cannot be told from the
// program's: then the process stays cooperative.
//
// Each worker makes its own table when it starts (so each runtime's options
// apply to its own workers) and frees it when it stops; only the worker's
// thread and its signal handler read it.
#include <green/detail/unimplemented.hpp>
#include <green/detail/dispatcher.hpp>
#include <green/detail/preempt_internal.hpp>
#include <green/detail/sanitizers.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <link.h>
#include <memory>
#include <string_view>
#include <utility>

extern "C" {
__thread int green_preempt_off = 0;  // see detail/preempt.hpp
__thread int green_preempt_pending = 0;
extern char green_preempt_begin[], green_preempt_end[];  // preempt_x86_64.S
}

namespace green::detail {

struct CodeRange {
  std::uintptr_t lo, hi;
};
struct RangeTable {  // the preemptible code; anything else is not
  static constexpr int kMax = 64;
  int n = 0;
  CodeRange r[kMax];
};

namespace {

std::atomic<bool> g_static{false};  // a worker found libc or libstdc++ linked statically

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
  // Under TSan the handler runs from TSan's own safe points (preempt.cpp,
  // "ThreadSanitizer"), so a tick that landed in its atomics or
  // instrumentation is preemptible. A test-build concession: TSan's runtime
  // is called from libraries too, so under TSan an instrumented library can
  // be preempted inside.
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

}  // namespace

RangeTable* make_ranges(const std::vector<std::string>& libs) {
  auto t = std::make_unique<RangeTable>();
  const char* env = std::getenv("GREEN_PREEMPT_LIBS");
  Scan scan{t.get(), &libs, env ? env : ""};
  dl_iterate_phdr(&add_ranges, &scan);
  if (scan.libc && scan.libstdcxx) return t.release();
  if (!g_static.exchange(true, std::memory_order_relaxed))  // relaxed: one warning, whoever prints it
    std::fputs("green: libc or libstdc++ is linked statically; tasks are not preempted (cooperative only)\n",
               stderr);
  return nullptr;
}

void free_ranges(RangeTable* t) noexcept { delete t; }

// relaxed: a flag that only goes from false to true and publishes nothing
// (the warning is printed by whoever sets it).
bool preemption_refused_static() noexcept { return g_static.load(std::memory_order_relaxed); }

bool preemptible_pc(const void* pc) noexcept {
  // BEGIN SOLUTION
  const RangeTable* t = tl_state.ranges;
  if (!t || (pc >= green_preempt_begin && pc < green_preempt_end)) return false;
  auto a = reinterpret_cast<std::uintptr_t>(pc);
  for (int i = 0; i < t->n; ++i)
    if (a >= t->r[i].lo && a < t->r[i].hi) return true;
  return false;
  // STUB: (void)pc;
  // STUB: unimplemented("phase 3: preemptible_pc (safe_points.cpp) is yours to write");
  // END SOLUTION
}

void pay_owed_preemption(const void* caller) noexcept {
  // pending first: it is almost always 0, and unlike the count (just
  // written by the caller) its load waits for no store.
  if (!preempt_pending() || preempt_count() != 0 || !current_task()) return;
  if (caller && !preemptible_pc(caller)) return;  // the retry tick will take it
  yield_current();                                // and the switch clears the flag
}

}  // namespace green::detail
