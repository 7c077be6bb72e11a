// parallel_for / parallel_reduce: see include/green/parallel.hpp.
#include <green/parallel.hpp>

#include <green/detail/runtime_impl.hpp>

namespace green::detail {

unsigned parallelism() noexcept {
  auto* rt = dynamic_cast<RuntimeImpl*>(scheduler_here());
  return rt ? rt->nworkers() : 1;
}

}  // namespace green::detail
