// What belongs to a task rather than to the thread it runs on: TaskLocal<T>
// values and this_task::at_exit handlers (task_local.cpp).
//
// From this stage a task may resume on another worker after any switch
// (migration_test.cpp), so a thread_local read before a yield and after it
// may be two different threads' copies. TaskLocal<T> is what travels with
// the task: one T per task, made (value-initialized) on first use in that
// task, destroyed when the task ends, after its at_exit handlers.
#pragma once
#include <cstddef>
#include <functional>

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

namespace this_task {
// Runs handler when the task ends for any reason, LIFO, on the task's stack,
// before its TaskLocal values are destroyed. Outside a task: std::logic_error.
void at_exit(std::function<void()> handler);
}  // namespace this_task

}  // namespace green
