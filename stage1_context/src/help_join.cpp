// Until phase 6 a join never runs the task it waits for, and a stolen task
// keeps the stack it asked for (detail/help_join.hpp).
#include <green/detail/help_join.hpp>

namespace green::detail {

bool help_join(Task*, Task*) { return false; }
void on_stolen_unstarted(Task*) noexcept {}

}  // namespace green::detail
