// Stage 2's worker hooks: nothing to do (see detail/worker_hooks.hpp).
#include <green/detail/worker_hooks.hpp>

namespace green::detail {

void on_worker_start(Worker&) {}
void on_worker_sleep(Worker&) noexcept {}
void on_worker_wake(Worker&) noexcept {}
void on_worker_stop(Worker&) noexcept {}

}  // namespace green::detail
