// Where a task's block comes from: operator new (stage 4 shadows this file
// with per-thread free lists, so that a spawn costs no malloc).
#include <green/detail/task.hpp>

#include <new>

namespace green::detail {

void* new_block(std::size_t size, std::size_t align) {
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(size);
  return ::operator new(size, std::align_val_t{align});
}

void delete_block(void* p, std::size_t size, std::size_t align) noexcept {
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) ::operator delete(p, size);
  else ::operator delete(p, size, std::align_val_t{align});
}

}  // namespace green::detail
