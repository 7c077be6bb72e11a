// The seam for phase 6's help-first join: TaskHandle::join first offers the
// task it waits for to help_join, which may run it to its end right there,
// on the joiner's stack, if it has not started (HANDOUT 9.3). Until phase 6
// it declines (help_join.cpp; phase 6 shadows it) and join waits, inside
// its JoinWait (a join that ran the task never waited: it records no edge).
#pragma once

namespace green::detail {

struct Task;

// self: the joining task (nullptr: a plain thread). True: t ran here and has
// ended (its exception, if any, is in t for join to rethrow).
bool help_join(Task* self, Task* t);
// A thief (stage 3) has just taken t, which has not started: phase 6 may
// give it a bigger stack, so that the joins in the subtree it roots have
// room to help. Until then nothing.
void on_stolen_unstarted(Task* t) noexcept;

}  // namespace green::detail
