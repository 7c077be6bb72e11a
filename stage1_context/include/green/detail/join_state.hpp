// JoinState: what a task keeps for the one task that may wait for its end.
// Stage 1 runs everything on one thread, so a plain pointer is enough: the
// joiner writes it before parking, the end of the task reads it.
// (Stage 2 adds a lock for joins across threads; stage 4 packs it in one word.)
#pragma once

namespace green::detail {

struct Task;

struct JoinState {
  Task* joiner = nullptr;  // the task parked in join(), if any
};

}  // namespace green::detail
