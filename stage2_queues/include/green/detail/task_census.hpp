// The census in Runtime::stats(): how many of a scheduler's tasks are
// runnable, running and waiting right now. An extension point (DESIGN 3.3):
// this stage cannot find its tasks (they are only in queues and wait lists)
// and counts none; stage 4, whose task-block registry finds every task,
// replaces task_census.cpp.
#pragma once
#include <green/runtime_stats.hpp>

namespace green::detail {

class Scheduler;
// Adds s's tasks by state to out.runnable, out.running and out.waiting.
void count_tasks(const Scheduler& s, RuntimeStats& out) noexcept;
// s is going away: tasks of it that are left (abandoned, never to run
// again) stop counting as tasks, here and in dumps; another scheduler may
// come to the same address.
void forget_tasks(const Scheduler& s) noexcept;

}  // namespace green::detail
