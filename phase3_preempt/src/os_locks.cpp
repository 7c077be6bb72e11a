// OS locks hold preemption off.
//
// The hazard. A task preempted while it holds a pthread lock (so a
// std::mutex, std::shared_mutex, std::recursive_mutex, std::timed_mutex, or
// any library's lock) keeps it while it waits in a run queue. The next task
// on every worker that wants the lock blocks its OS thread in the kernel, and
// then no worker is left to run the holder: the program hangs. Users do not
// control every OS lock their tasks take (logging, allocators, third-party
// libraries), so the runtime must rule this out by itself.
//
// The rule. While a task holds an OS lock it is not preempted: every pthread
// lock operation below raises the per-thread preempt-disable count
// (detail/preempt.hpp) before it takes the lock, and the matching unlock
// lowers it after releasing it. A tick that lands meanwhile is owed (the
// pending flag), and the unlock that brings the count to 0 pays it at once,
// if its caller is code that may be preempted anyway (preemptible_pc);
// otherwise the retry timer takes it a quarter slice later. The count
// travels with the task across its own yields and parks (switch_to_loop), so
// a task that blocks while holding a lock still holds preemption off when it
// resumes, on whatever thread.
//
// How. The program's executable defines pthread_mutex_lock and its kin (this
// file is linked into it from libgreen.a), so the dynamic linker binds every
// call to them to these definitions: the program's own, and those from
// libstdc++ and other shared libraries. Each forwards to the next definition
// (dlsym RTLD_NEXT): libc's, or a sanitizer's interceptor in front of it.
// The count is raised BEFORE the real lock: a tick between the real lock's
// return and a raise after it would find a task at a safe point (our own
// code) holding the lock. Calls libc makes internally (malloc's arena
// locks, stdio's) do not go through these symbols; libc is never a safe
// point anyway (safe_points.cpp).
//
// Rejected: Go's hand-off (a monitor thread notices a worker blocked in the
// kernel and lets another thread run its queue). It covers every blocking
// call, not only locks, but needs a spare thread per blocked worker, makes
// the number of running threads unbounded, and still lets the preempted
// holder wait behind every task queued before it. See HANDOUT 6.4.
//
// One-time initialization (function-local statics, std::call_once) blocks
// other callers the same way, and is held off the same way (below).
//
// Limits: a lock taken by one task and released by another (undefined for
// these locks anyway) leaves the first at a raised count (it runs
// cooperatively) and never lowers the second's below 0. C11 mtx_* and
// futexes used directly are not seen.
#include <green/detail/os_locks.hpp>
#include <green/detail/preempt_signal.hpp>
#include <green/detail/task.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>

namespace green::detail {

namespace {

// The next definition of a symbol, found on first use. relaxed: the value is
// an address of code, the same whoever finds it; nothing else is published.
template <class Fn>
struct Next {
  const char* name;
  std::atomic<Fn*> fn{nullptr};
  Fn* find() noexcept {  // nullptr if there is none
    Fn* f = fn.load(std::memory_order_relaxed);
    return __builtin_expect(f != nullptr, 1) ? f : look_up(false);
  }
  Fn* get() noexcept {  // aborts if there is none
    Fn* f = fn.load(std::memory_order_relaxed);
    return __builtin_expect(f != nullptr, 1) ? f : look_up(true);
  }
  // Out of line, so the lock calls' common path keeps no registers for it.
  [[gnu::noinline, gnu::cold]] Fn* look_up(bool required) noexcept {
    Fn* f = reinterpret_cast<Fn*>(dlsym(RTLD_NEXT, name));
    if (!f && required) {
      std::fprintf(stderr, "green: cannot find the C library's %s (a static build?)\n", name);
      std::abort();
    }
    fn.store(f, std::memory_order_relaxed);
    return f;
  }
};

// Before taking a lock. Every path out of the locking call either holds the
// lock (the count stays raised) or calls lock_failed().
inline void lock_begin() noexcept { preempt_disable(); }
inline void lock_failed() noexcept { preempt_enable_no_yield(); }

// After releasing a lock: true if that brought the count to 0 with a
// preemption owed, which the caller then pays (pay_owed_preemption, with its
// return address: GREEN_PAY_OWED below). One decrement, its result read from
// the flags, so the common path is that instruction and one load of the
// pending flag. Never below 0 (see "Limits"): a decrement from 0 is undone at
// once (a tick in between sees a count that is not 0 and defers, as for a
// held lock).
inline bool unlock_end() noexcept {
  bool zero, negative;
  asm volatile("decl %%fs:green_preempt_off@tpoff" : "=@ccz"(zero), "=@ccs"(negative) : : "memory");
  if (__builtin_expect(negative, 0)) {
    preempt_disable();
    return false;
  }
  return zero && preempt_pending();
}

template <class Fn, class... A>
int lock(Next<Fn>& next, A... a) noexcept {
  lock_begin();
  int r = next.get()(a...);
  // Busy, timed out, or an error: nothing is held. EOWNERDEAD (a robust
  // mutex whose owner died) is the exception: the caller holds it now.
  if (r != 0 && r != EOWNERDEAD) lock_failed();
  return r;
}

using MutexFn = int(pthread_mutex_t*);
using MutexTimedFn = int(pthread_mutex_t*, const timespec*);
using MutexClockFn = int(pthread_mutex_t*, clockid_t, const timespec*);
using RwFn = int(pthread_rwlock_t*);
using RwTimedFn = int(pthread_rwlock_t*, const timespec*);
using RwClockFn = int(pthread_rwlock_t*, clockid_t, const timespec*);
using SpinFn = int(pthread_spinlock_t*);

Next<MutexFn> mutex_lock{"pthread_mutex_lock"}, mutex_trylock{"pthread_mutex_trylock"},
    mutex_unlock{"pthread_mutex_unlock"};
Next<MutexTimedFn> mutex_timedlock{"pthread_mutex_timedlock"};
Next<MutexClockFn> mutex_clocklock{"pthread_mutex_clocklock"};
Next<RwFn> rw_rdlock{"pthread_rwlock_rdlock"}, rw_tryrdlock{"pthread_rwlock_tryrdlock"},
    rw_wrlock{"pthread_rwlock_wrlock"}, rw_trywrlock{"pthread_rwlock_trywrlock"},
    rw_unlock{"pthread_rwlock_unlock"};
Next<RwTimedFn> rw_timedrdlock{"pthread_rwlock_timedrdlock"}, rw_timedwrlock{"pthread_rwlock_timedwrlock"};
Next<RwClockFn> rw_clockrdlock{"pthread_rwlock_clockrdlock"}, rw_clockwrlock{"pthread_rwlock_clockwrlock"};
Next<SpinFn> spin_lock{"pthread_spin_lock"}, spin_trylock{"pthread_spin_trylock"},
    spin_unlock{"pthread_spin_unlock"};

// One-time initialization waits like a lock: a task preempted inside a
// function-local static's initializer, or a std::call_once function, keeps
// every other caller waiting in the kernel. __cxa_guard_acquire returns 1 when
// the caller is to run the initializer (it then holds the guard until
// __cxa_guard_release or __cxa_guard_abort), 0 when it is done already; the
// compiler checks the guard inline first, so only the first uses get here.
using GuardFn = int(std::int64_t*);
using GuardEndFn = void(std::int64_t*);
using OnceFn = int(pthread_once_t*, void (*)());
Next<GuardFn> guard_acquire{"__cxa_guard_acquire"};
Next<GuardEndFn> guard_release{"__cxa_guard_release"}, guard_abort{"__cxa_guard_abort"};
Next<OnceFn> once{"pthread_once"};

// With libstdc++ linked into the program (-static-libstdc++) the linker took
// these __cxa_guard_* for the program's own, so there is no next one to call:
// the guards are then done here, as the Itanium C++ ABI lays them out. Byte 0
// of the guard is "initialized" (the compiler's inline check reads it with
// acquire); byte 1 is "being initialized", under guard_m.
pthread_mutex_t guard_m = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t guard_cv = PTHREAD_COND_INITIALIZER;

int static_guard_acquire(std::int64_t* g) noexcept {
  auto* b = reinterpret_cast<unsigned char*>(g);
  mutex_lock.get()(&guard_m);
  while (b[1]) pthread_cond_wait(&guard_cv, &guard_m);
  int run_it = !__atomic_load_n(b, __ATOMIC_ACQUIRE);
  if (run_it) b[1] = 1;
  mutex_unlock.get()(&guard_m);
  return run_it;
}
void static_guard_end(std::int64_t* g, unsigned char done) noexcept {
  auto* b = reinterpret_cast<unsigned char*>(g);
  mutex_lock.get()(&guard_m);
  __atomic_store_n(b, done, __ATOMIC_RELEASE);  // pairs with the inline check's acquire
  b[1] = 0;
  pthread_cond_broadcast(&guard_cv);
  mutex_unlock.get()(&guard_m);
}

}  // namespace

void os_locks_init() noexcept {
  mutex_lock.get(), mutex_unlock.get(), mutex_trylock.get(), mutex_timedlock.get(), mutex_clocklock.get();
  rw_rdlock.get(), rw_tryrdlock.get(), rw_wrlock.get(), rw_trywrlock.get(), rw_unlock.get();
  rw_timedrdlock.get(), rw_timedwrlock.get(), rw_clockrdlock.get(), rw_clockwrlock.get();
  spin_lock.get(), spin_trylock.get(), spin_unlock.get();
  guard_acquire.find(), guard_release.find(), guard_abort.find(), once.get();  // guards: see above
}

}  // namespace green::detail

// The interposed symbols. default visibility: the executable exports them,
// so shared libraries' calls bind here too.
// The unlocks read their return address only when a preemption is owed:
// reading it on every call, and passing it down, cost a third of the pair.
#define GREEN_PAY_OWED() pay_owed_preemption(__builtin_return_address(0))
#define GREEN_UNLOCK(next, lockp)             \
  int r = next.get()(lockp);                  \
  if (r == 0 && unlock_end()) GREEN_PAY_OWED(); \
  return r
using namespace green::detail;
extern "C" {
int pthread_mutex_lock(pthread_mutex_t* m) { return lock(mutex_lock, m); }
int pthread_mutex_trylock(pthread_mutex_t* m) { return lock(mutex_trylock, m); }
int pthread_mutex_timedlock(pthread_mutex_t* m, const timespec* t) { return lock(mutex_timedlock, m, t); }
int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t c, const timespec* t) {
  return lock(mutex_clocklock, m, c, t);
}
int pthread_mutex_unlock(pthread_mutex_t* m) { GREEN_UNLOCK(mutex_unlock, m); }

int pthread_rwlock_rdlock(pthread_rwlock_t* l) { return lock(rw_rdlock, l); }
int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) { return lock(rw_tryrdlock, l); }
int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const timespec* t) { return lock(rw_timedrdlock, l, t); }
int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t c, const timespec* t) {
  return lock(rw_clockrdlock, l, c, t);
}
int pthread_rwlock_wrlock(pthread_rwlock_t* l) { return lock(rw_wrlock, l); }
int pthread_rwlock_trywrlock(pthread_rwlock_t* l) { return lock(rw_trywrlock, l); }
int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const timespec* t) { return lock(rw_timedwrlock, l, t); }
int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t c, const timespec* t) {
  return lock(rw_clockwrlock, l, c, t);
}
int pthread_rwlock_unlock(pthread_rwlock_t* l) { GREEN_UNLOCK(rw_unlock, l); }

int pthread_spin_lock(pthread_spinlock_t* l) { return lock(spin_lock, l); }
int pthread_spin_trylock(pthread_spinlock_t* l) { return lock(spin_trylock, l); }
int pthread_spin_unlock(pthread_spinlock_t* l) { GREEN_UNLOCK(spin_unlock, l); }

int __cxa_guard_acquire(std::int64_t* g) {
  lock_begin();
  auto* next = guard_acquire.find();
  int run_it = next ? next(g) : static_guard_acquire(g);
  if (!run_it) lock_failed();  // initialized already: nothing is held
  return run_it;
}
void __cxa_guard_release(std::int64_t* g) {
  auto* next = guard_release.find();
  next ? next(g) : static_guard_end(g, 1);
  if (unlock_end()) GREEN_PAY_OWED();
}
void __cxa_guard_abort(std::int64_t* g) {
  auto* next = guard_abort.find();
  next ? next(g) : static_guard_end(g, 0);
  if (unlock_end()) GREEN_PAY_OWED();
}
// Held from the start to the end of the call, whoever runs the function.
int pthread_once(pthread_once_t* o, void (*fn)()) {
  lock_begin();
  int r = once.get()(o, fn);
  if (unlock_end()) GREEN_PAY_OWED();
  return r;
}
}
