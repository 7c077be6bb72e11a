// PreemptOff: runtime code holds one while it must not be preempted
// (detail/preempt.hpp says where, and what the count is). It never yields on
// release (the runtime's callers do not expect a switch there); an owed
// preemption is taken at the task's next switch or tick instead.
#pragma once
#include <green/detail/preempt.hpp>

namespace green::detail {

struct PreemptOff {
  PreemptOff() noexcept { preempt_disable(); }
  ~PreemptOff() { preempt_enable_no_yield(); }
  PreemptOff(const PreemptOff&) = delete;
  PreemptOff& operator=(const PreemptOff&) = delete;
};

}  // namespace green::detail
