// TaskLocal<T>: one T per task, made (value-initialized) on first use in that
// task, destroyed when the task ends, after its at_exit handlers.
#pragma once
#include <cstddef>

namespace green {
namespace detail {
std::size_t new_local_key() noexcept;
void* local_find(std::size_t key);   // std::logic_error outside a task
void* local_insert(std::size_t key, void* value, void (*destroy)(void*));
}  // namespace detail

template <class T>
class TaskLocal {
 public:
  TaskLocal() = default;
  TaskLocal(const TaskLocal&) = delete;
  TaskLocal& operator=(const TaskLocal&) = delete;

  T& get() {
    void* p = detail::local_find(key_);
    if (!p) {
      T* v = new T();
      p = detail::local_insert(key_, v, [](void* q) { delete static_cast<T*>(q); });
    }
    return *static_cast<T*>(p);
  }
  T* operator->() { return &get(); }
  T& operator*() { return get(); }

 private:
  std::size_t key_ = detail::new_local_key();  // unique per TaskLocal, never reused
};

}  // namespace green
