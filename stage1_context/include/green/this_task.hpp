// green::this_task: what a running task can ask about and do to itself.
#pragma once
#include <green/detail/dispatcher.hpp>
#include <green/options.hpp>

#include <string_view>

namespace green::this_task {

// Lets other Ready tasks of equal or higher priority run first. Outside a
// task: std::this_thread::yield(). Inline: the switch is called from the
// caller's own function (detail/dispatcher.hpp says why).
void yield_thread();  // (outside a task)
inline void yield() {
  if (detail::current_task()) detail::switch_to_loop(detail::After::Yield);
  else yield_thread();
}
TaskId id() noexcept;               // 0 outside a task
std::string_view name() noexcept;   // "" outside a task
int priority() noexcept;            // kDefaultPriority outside a task
// Takes effect the next time the task is queued. Out of range:
// std::invalid_argument; outside a task: std::logic_error.
void set_priority(int p);

}  // namespace green::this_task
