// OS locks hold preemption off: the pthread lock calls are interposed (the
// design is at the top of src/os_locks.cpp).
#pragma once

namespace green::detail {

// Finds the C library's lock functions behind ours (once; called when a
// worker starts, so that no lock call has to look them up on a small stack).
void os_locks_init() noexcept;

}  // namespace green::detail
