// Task dumps: every task that exists, what it is doing, and where it will
// resume, printed the way Go prints its goroutines on SIGQUIT:
//
//   task 12 "conn-7" [waiting: io read 9, 3.2 s]:
//       resumes in green::detail::park_current(...)+0x2a
//
// The tasks are found through the task-block registry (detail/
// block_registry.hpp), so a dump needs no list of tasks on the spawn path.
// It reads tasks while they run (nothing is stopped): a task that changes
// meanwhile may show its old or new state. Full backtraces of a task come
// from the gdb extension (gdb/green.py: `green-task <id>`, then `bt`).
#pragma once
#include <cstdio>
#include <csignal>

namespace green {

// Prints every live task to f, then a count. Returns the number printed.
unsigned dump_tasks(std::FILE* f = stderr);
// Opt-in: from now on signo (SIGQUIT, ^\ in a terminal) prints a dump to
// stderr and the program goes on (Java's thread dump, not Go's exit). The
// handler uses only async-signal-safe calls, so it prints no symbol names.
void dump_tasks_on_signal(int signo = SIGQUIT);

}  // namespace green
