// Stage 4's worker hooks: a worker about to sleep gives the stacks in the
// depot back first, and so does a worker's thread as it exits (see
// detail/stack_source.hpp). Replaces stage 2's file.
#include <green/detail/runtime_impl.hpp>
#include <green/detail/stack_source.hpp>
#include <green/detail/worker_hooks.hpp>

namespace green::detail {

void on_worker_start(Worker&) { give_back_stacks_at_thread_exit(); }
void on_worker_sleep(Worker& w) noexcept { give_back_stacks_while_idle(w.wake); }
void on_worker_wake(Worker&) noexcept {}
void on_worker_stop(Worker&) noexcept {}

}  // namespace green::detail
