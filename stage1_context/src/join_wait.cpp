// Stage 1 keeps no wait-for graph: a join records nothing (phase 4 shadows
// this file; see detail/join_wait.hpp).
#include <green/detail/join_wait.hpp>

namespace green::detail {

JoinWait::JoinWait(Task* t) : task_(t) {}
JoinWait::~JoinWait() = default;
void JoinWait::finished() {}

}  // namespace green::detail
