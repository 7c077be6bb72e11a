// The job source before phase 6: no jobs (see detail/job_source.hpp; phase 6
// replaces this file).
#include <green/detail/job_source.hpp>

namespace green::detail {

std::shared_ptr<void> make_job_source(RuntimeImpl&) { return nullptr; }
bool job_poll(Worker&, bool) { return false; }
bool jobs_waiting_sc(Worker&) { return false; }

}  // namespace green::detail
