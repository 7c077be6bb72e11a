// The signal stack and the overflow report, stage 1: neither a handler nor a
// signal stack yet (see include/green/detail/signal_stack.hpp). Stage 4
// shadows this file.
#include <green/detail/signal_stack.hpp>

#include <cstdio>
#include <cstdlib>

namespace green::detail {

void install_signal_stack() {}
void restore_signal_stack() noexcept {}

void report_stack_overflow(std::uint64_t id, const char* name) noexcept {
  std::fprintf(stderr, "green: stack overflow in task %llu \"%s\"\n", static_cast<unsigned long long>(id), name);
  std::abort();
}

}  // namespace green::detail
