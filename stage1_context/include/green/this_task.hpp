// green::this_task: what a running task can ask about and do to itself.
#pragma once
#include <green/options.hpp>

#include <string_view>

namespace green::this_task {

// Lets other Ready tasks of equal or higher priority run first. Outside a
// task: std::this_thread::yield().
void yield();
TaskId id() noexcept;               // 0 outside a task
std::string_view name() noexcept;   // "" outside a task
int priority() noexcept;            // kDefaultPriority outside a task
// Takes effect the next time the task is queued. Out of range:
// std::invalid_argument; outside a task: std::logic_error.
void set_priority(int p);

}  // namespace green::this_task
