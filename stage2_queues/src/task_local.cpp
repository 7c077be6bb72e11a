// TaskLocal values and at_exit handlers (design: include/green/task_local.hpp).
// They hang off the task's TaskRun::locals, made at the first use, and
// stage 1's task_entry calls run_exit_work on the task's stack as it ends.
// Only the task itself touches its own: no lock.
#include <green/detail/task.hpp>
#include <green/detail/unimplemented.hpp>
#include <green/task_local.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace green::detail {

struct TaskLocals {
  struct Slot {  // one TaskLocal<T> value
    std::size_t key;
    void* value;
    void (*destroy)(void*);
  };
  std::vector<std::function<void()>> at_exit;  // run LIFO at the end
  std::vector<Slot> values;                    // destroyed LIFO, after the handlers
};

// The calling task's, made on first use. what: the caller, for the error.
static TaskLocals& locals_of_current(const char* what) {
  Task* t = current_task();
  // BEGIN SOLUTION
  if (!t) throw std::logic_error(std::string("green::") + what + ": called outside a task");
  // STUB: (void)what;
  // STUB: if (!t) unimplemented("stage 2: TaskLocal and at_exit outside a task must throw std::logic_error");
  // END SOLUTION
  TaskRun& r = *t->run;
  if (!r.locals) r.locals = new TaskLocals;
  return *r.locals;
}

std::size_t new_local_key() noexcept {
  static std::atomic<std::size_t> next{1};  // relaxed: only uniqueness matters
  return next.fetch_add(1, std::memory_order_relaxed);
}

void* local_find(std::size_t key) {
  for (const TaskLocals::Slot& s : locals_of_current("TaskLocal").values)
    if (s.key == key) return s.value;
  return nullptr;
}

void* local_insert(std::size_t key, void* value, void (*destroy)(void*)) {
  try {
    locals_of_current("TaskLocal").values.push_back({key, value, destroy});
  } catch (...) {
    destroy(value);
    throw;
  }
  return value;
}

// At_exit handlers LIFO, then TaskLocal values LIFO. A throwing handler's
// exception is kept if the task has none yet; the others still run.
void run_exit_work(TaskRun& r) noexcept {
  TaskLocals* l = r.locals;
  if (!l) return;
  // BEGIN SOLUTION
  while (!l->at_exit.empty()) {
    std::function<void()> h = std::move(l->at_exit.back());
    l->at_exit.pop_back();
    try {
      h();
    } catch (...) {
      if (!r.exception) r.exception = std::current_exception();
    }
  }
  while (!l->values.empty()) {
    TaskLocals::Slot s = l->values.back();
    l->values.pop_back();
    s.destroy(s.value);
  }
  // STUB: unimplemented("stage 2: run_exit_work (task_local.cpp) is yours to write");
  // END SOLUTION
  r.locals = nullptr;
  delete l;
}

}  // namespace green::detail

void green::this_task::at_exit(std::function<void()> handler) {
  detail::locals_of_current("this_task::at_exit").at_exit.push_back(std::move(handler));
}
