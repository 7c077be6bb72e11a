// Extension point: the job source (phase 6's, detail/job.hpp there).
//
// Phase 6 keeps fine-grained jobs in a deque per worker, apart from the
// tasks; a worker that runs out of tasks takes a job from its own deque or
// steals one from another's, and runs it in a task. That is one more event
// source: poll_events calls job_poll with the timers and the I/O. Phase 4's
// src/job_source.cpp has no jobs (nullptr and false); phase 6 replaces it.
#pragma once
#include <memory>

namespace green::detail {

class RuntimeImpl;
struct Worker;

// Before the workers start: the job source's state, kept in rt.events.
std::shared_ptr<void> make_job_source(RuntimeImpl& rt);
// On w's loop, like poll_events: true if it made a task Ready. Only an idle
// worker (about to sleep) takes jobs.
bool job_poll(Worker& w, bool idle);
// After w counted itself parked: is a job waiting in any worker's deque?
// seq_cst loads (event_source.hpp's events_waiting_sc).
bool jobs_waiting_sc(Worker& w);
// What make_job_source made, for the job source's own use.
void* job_source_of(RuntimeImpl& rt) noexcept;

}  // namespace green::detail
