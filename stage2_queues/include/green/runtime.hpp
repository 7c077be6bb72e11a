// Runtime: the M:N scheduler. M worker threads run any number of tasks.
#pragma once
#include <green/detail/task.hpp>
#include <green/runtime_stats.hpp>
#include <green/spawn.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace green {

struct RuntimeOptions {
  unsigned workers = 0;                           // 0: one per CPU
  std::chrono::microseconds time_slice{10'000};   // preemption quantum; 0: cooperative only
  std::size_t stack_size = 256 * 1024;            // default stack class, usable bytes
  std::size_t small_stack_size = 16 * 1024;       // small stack class
  // Phase 4: when every task is blocked, with no timer armed and no plain
  // thread waiting in a green primitive, Runtime::run throws DeadlockError
  // naming them. Turn it off if threads outside the runtime will wake them.
  bool detect_deadlock = true;
  // Phase 3: besides the main program, the shared libraries whose code a
  // tick may interrupt, by file name prefix ("libmycode" for libmycode.so.1).
  // Only name code that holds no lock across a preemption. Process-wide: the
  // names of every runtime (and of GREEN_PREEMPT_LIBS, ':'-separated) add up.
  std::vector<std::string> preemptible_libraries = {};
};

// The shortest time slice; shorter ones (but 0) are refused: a tick costs a
// few microseconds, so a shorter slice would be a storm of signals.
inline constexpr std::chrono::microseconds kMinTimeSlice{50};

namespace detail { class RuntimeImpl; }

class Runtime {
 public:
  // Starts the workers. Bad options (stack sizes of 0 or over kMaxStackSize,
  // more than 1024 workers, a time_slice below 0 or in 0..kMinTimeSlice):
  // std::invalid_argument. If a worker thread cannot be made, the ones made
  // are stopped and the error is thrown (std::system_error).
  explicit Runtime(RuntimeOptions opts = {});
  // Waits until every task spawned on it has ended, then stops the workers.
  // Destroying a Runtime from one of its own tasks aborts with a message.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Runs main as a task and blocks the caller until it ends; returns its
  // result or rethrows its exception. Other tasks keep running afterwards.
  template <class F>
  std::invoke_result_t<F> run(F&& main) {
    using R = std::invoke_result_t<F>;
    if constexpr (std::is_void_v<R>) {
      auto go = [&] { return spawn(std::forward<F>(main), {.name = "main"}); };
      join_main([](void* p) { return (*static_cast<decltype(go)*>(p))(); }, &go);
    } else {
      std::optional<R> result;
      auto go = [&] { return spawn([&result, &main] { result.emplace(std::invoke(main)); }, {.name = "main"}); };
      join_main([](void* p) { return (*static_cast<decltype(go)*>(p))(); }, &go);
      return std::move(*result);
    }
  }

  // From any thread or task: queues f as a new task of this runtime.
  template <class F>
  TaskHandle spawn(F&& f, SpawnOptions opts = {}) {
    return detail::spawn_on(scheduler(), std::forward<F>(f), opts);
  }

  RuntimeStats stats() const noexcept;
  unsigned workers() const noexcept;

 private:
  detail::Scheduler& scheduler() noexcept;
  // run()'s spawn (spawn_main(arg)) and join. On a runtime of one worker, a
  // plain thread's run() takes the worker over first and runs it itself
  // until main ends: a program that lives in run() is then a process of one
  // thread (HANDOUT 8.8 says why that is faster).
  void join_main(TaskHandle (*spawn_main)(void*), void* arg);
  std::unique_ptr<detail::RuntimeImpl> impl_;
};

}  // namespace green
