// Extension point: what a later stage does on each worker thread as it
// starts, sleeps, wakes and stops. Stage 2's src/worker_hooks.cpp does
// nothing; phase3_preempt replaces that file with the workers' preemption
// timers. Each is called on the worker's own thread, from its loop (never
// from a task).
#pragma once

namespace green::detail {

struct Worker;
void on_worker_start(Worker& w);        // after Dispatcher::enter, before the first task
void on_worker_sleep(Worker& w) noexcept;  // about to sleep on its futex
void on_worker_wake(Worker& w) noexcept;   // back from it
void on_worker_stop(Worker& w) noexcept;   // before Dispatcher::leave

}  // namespace green::detail
