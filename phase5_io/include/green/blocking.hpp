// blocking(f): run a call that would block its worker on a helper thread.
//
// A task calls blocking(f) around a call that blocks (getaddrinfo, a regular
// file, a library that knows nothing of green): f runs on a helper thread
// while the task parks, and the task resumes with f's result, or f's
// exception rethrown. Helpers are made on demand up to kMaxBlockingHelpers
// (calls beyond wait in a queue) and exit after kBlockingIdle without work.
// Outside a runtime's task (a plain thread, a LocalScheduler task) f simply
// runs on the caller.
#pragma once
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace green {

inline constexpr unsigned kMaxBlockingHelpers = 512;                // tokio's default
inline constexpr std::chrono::seconds kBlockingIdle{10};             // ... and its keep-alive

namespace detail {
struct Task;
// One call of blocking(). run is called on a helper thread; it must not throw.
struct BlockingJob {
  void (*run)(BlockingJob*) noexcept = nullptr;
  BlockingJob* next = nullptr;  // in the queue
  Task* task = nullptr;         // parked until run has returned
};
// True on a runtime's task: the call parks it (else blocking() runs f inline).
bool blocking_parks() noexcept;
// Queues job, parks the calling task until a helper has run it.
void run_blocking(BlockingJob& job);

template <class R>
struct BlockingResult {  // what f returned: a value, a reference, or nothing
  std::optional<R> v;
  template <class F> void set(F& f) { v.emplace(std::invoke(f)); }
  R take() { return std::move(*v); }
};
template <class R>
struct BlockingResult<R&> {
  R* p = nullptr;
  template <class F> void set(F& f) { p = &std::invoke(f); }
  R& take() { return *p; }
};
template <>
struct BlockingResult<void> {
  template <class F> void set(F& f) { std::invoke(f); }
  void take() {}
};
}  // namespace detail

template <class F>
std::invoke_result_t<F> blocking(F&& f) {
  using R = std::invoke_result_t<F>;
  if (!detail::blocking_parks()) return std::invoke(std::forward<F>(f));
  struct Job : detail::BlockingJob {
    std::remove_reference_t<F>* f;
    detail::BlockingResult<R> result;
    std::exception_ptr error;
  } job;
  job.f = &f;
  job.run = [](detail::BlockingJob* b) noexcept {
    auto* j = static_cast<Job*>(b);
    try {
      j->result.set(*j->f);
    } catch (...) {
      j->error = std::current_exception();
    }
  };
  detail::run_blocking(job);
  if (job.error) std::rethrow_exception(job.error);
  return job.result.take();
}

}  // namespace green
