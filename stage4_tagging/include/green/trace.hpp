// The scheduler trace: every task's runs, what made it Ready and what ended
// each run, the workers' idle spans, steals, timers and polls, written as a
// Chrome/Perfetto JSON trace (open it at ui.perfetto.dev, or chrome://tracing).
//
//   GREEN_TRACE=trace.json ./prog      the whole program, written at exit
//   green::trace_start("trace.json");  ...  green::trace_stop();
//
// Each worker is a track; each run of a task a slice on it, named after the
// task, whose args say how the run ended (yield, park and on what, exit,
// preempted); an arrow leads into it from where the task became Ready
// (spawn, unpark, yield, preemption). HANDOUT section 11 says how to read it.
#pragma once
#include <cstddef>
#include <string>

namespace green {

inline constexpr std::size_t kTraceDefaultRecords = std::size_t{1} << 21;  // ~100 MB

// Starts recording; the file is opened now (std::system_error if it cannot
// be) and written by trace_stop(). The trace keeps the latest max_records
// events, about: they are kept in blocks of 5,461 (256 KiB, eight to a 2 MiB
// huge page), and a thread always keeps its last two blocks; older ones are
// dropped, and the file says how many. The blocks stay with the process for
// the next trace. A trace already on: std::logic_error. GREEN_TRACE_RECORDS
// sets the limit of a GREEN_TRACE trace. While GREEN_TRACE traces the whole
// run, trace_start and trace_stop do nothing (trace_stop returns 0) and the
// first call says so on stderr.
void trace_start(const std::string& path, std::size_t max_records = kTraceDefaultRecords);
// Stops recording and writes the file. Returns the number of events written,
// 0 if no trace was on. std::system_error if the file could not be written.
std::size_t trace_stop();

}  // namespace green
