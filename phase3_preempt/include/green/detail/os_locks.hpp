// OS locks hold preemption off: the pthread lock calls are interposed (the
// design is at the top of src/os_locks.cpp).
#pragma once
#include <pthread.h>

namespace green::detail {

// Finds the real lock functions (once; called when a worker starts).
void os_locks_init() noexcept;

// The C library's own mutex calls, around the interposition: for the
// benchmark that prices it, and for tests.
int real_mutex_lock(pthread_mutex_t* m) noexcept;
int real_mutex_unlock(pthread_mutex_t* m) noexcept;

}  // namespace green::detail
