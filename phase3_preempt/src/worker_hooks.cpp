// Phase 3's worker hooks: each worker runs its preemption timer while it is
// awake (see detail/worker_hooks.hpp and src/preempt_timer.cpp), and, as in
// stage 4, gives the depot's stacks back before it sleeps and as it exits.
#include <green/detail/preempt_signal.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/stack_source.hpp>
#include <green/detail/worker_hooks.hpp>

namespace green::detail {

void on_worker_start(Worker& w) {
  give_back_stacks_at_thread_exit();
  preempt_start(w);
}
void on_worker_sleep(Worker& w) noexcept {
  preempt_pause();  // an idle worker gets one tick at most, which stops its timer
  give_back_stacks_while_idle(w.wake);
}
void on_worker_wake(Worker&) noexcept { preempt_resume(); }
void on_worker_stop(Worker&) noexcept { preempt_stop(); }

}  // namespace green::detail
