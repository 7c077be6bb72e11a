// unimplemented(what): what a starter tree's stubs call (DEVELOPERS.md,
// "Solution regions"). `make starter` replaces each solution region of the
// student's stage with its STUB lines, which end in a call like
//
//   green::detail::unimplemented("stage 2: RingQueue::pop is yours to write");
//
// It prints the message and aborts, rather than throwing: many stubbed
// functions are noexcept or run on a worker thread, where a throw would
// terminate the process without saying why. The grader reruns each test of a
// crashed binary alone and shows its output, so every test the stub breaks
// names the function to write.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace green::detail {

[[noreturn]] inline void unimplemented(const char* what) noexcept {
  std::fprintf(stderr, "green: not implemented yet: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

// The same, for a constexpr function (which may not call one that prints): a
// run-time call aborts with the message; a constant evaluation skips it.
constexpr void unimplemented_constexpr(const char* what) noexcept {
  if (!std::is_constant_evaluated()) unimplemented(what);
}

}  // namespace green::detail
