// What a task leaves to do as it ends, on its own stack: nothing yet. Stage 2
// shadows this file with TaskLocal<T> and this_task::at_exit, whose values
// and handlers hang off TaskRun::locals (stage 2's task_local.hpp says why
// a task needs its own locals once it can move between threads).
#include <green/detail/task.hpp>

namespace green::detail {

void run_exit_work(TaskRun&) noexcept {}

}  // namespace green::detail
