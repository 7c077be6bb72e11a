// Extension point: event sources (DESIGN.md 3.3), the things besides other
// tasks that make a task Ready: timers (phase 4), I/O readiness (phase 5).
//
// A worker polls them between tasks, and once more before it sleeps; an idle
// worker sleeps in idle_wait, which a source may end early (the next timer's
// deadline; later, epoll_wait). Stage 2's src/event_source.cpp has no
// sources: nothing to poll, and idle_wait is the plain futex wait. A later
// stage replaces that file, and keeps its state in RuntimeImpl::events.
#pragma once
#include <memory>

namespace green::detail {

class RuntimeImpl;
struct Worker;

// Before the workers start: make the runtime's sources (rt.events).
void attach_event_sources(RuntimeImpl& rt);
// On w's loop. Makes Ready whatever is due; true if it made a task Ready.
// idle: w found no work (it is about to sleep), so it may look further.
bool poll_events(Worker& w, bool idle);
// On w's loop, while it spins as a thief (stage 3): the sources a thief
// looks at besides the task queues (phase 6: the other workers' job deques).
// Cheap and without system calls; true if it made a task Ready on w.
bool steal_events(Worker& w);
// w has just counted itself parked (nparked_, seq_cst): does a source hold
// work a worker could take (phase 6: a job in any worker's deque)? seq_cst
// loads: the other half of the Dekker pair with a producer that publishes
// and then reads nparked_, as park()'s look at the task queues.
bool events_waiting_sc(Worker& w);
// w is on the idle list: sleep until a waker picks it (w.wake != 0: return
// true) or, if a source wants that, until its next event is due (false).
bool idle_wait(Worker& w) noexcept;
// Wakes w, which a waker has just taken off the idle list.
void idle_wake(Worker& w) noexcept;
// Asked by ~Runtime while it waits for the tasks to end: has a source found
// them blocked for good (phase 4's deadlock detector)? Then it stops waiting
// and stops the workers; the blocked tasks are abandoned.
bool abandoned(RuntimeImpl& rt) noexcept;

}  // namespace green::detail
