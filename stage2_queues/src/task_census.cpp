// The task census, before stage 4: no registry of tasks, so none are
// counted (detail/task_census.hpp).
#include <green/detail/task_census.hpp>

namespace green::detail {

void count_tasks(const Scheduler&, RuntimeStats&) noexcept {}
void forget_tasks(const Scheduler&) noexcept {}

}  // namespace green::detail
