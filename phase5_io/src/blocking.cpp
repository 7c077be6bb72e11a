// blocking(f)'s helper threads. See include/green/blocking.hpp.
//
// One pool for the process: a queue of jobs under a mutex, helper threads
// waiting on a condition variable. A job is queued by the parking task's park
// callback, on its worker's loop once the task is switched out, so the
// helper's unpark always finds it parked. A helper that found no job for
// kBlockingIdle exits. The pool is never freed: helpers may outlive main.
#include <green/detail/unimplemented.hpp>
#include <green/blocking.hpp>
#include <green/detail/dispatcher.hpp>
#include <green/detail/poller.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/detail/timers.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace green::detail {
namespace {

struct Pool {
  std::mutex m;
  std::condition_variable cv;
  BlockingJob* head = nullptr;  // the queue, oldest first; under m
  BlockingJob** tail = &head;
  unsigned queued = 0;          // jobs in it; under m
  unsigned threads = 0;         // helpers alive; under m
  unsigned idle = 0;            // helpers waiting for a job; under m
};
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}
// Jobs queued or running: their tasks will be unparked (the deadlock watch).
std::atomic<int> in_flight{0};

void finish(BlockingJob* j) noexcept {
  Task* t = j->task;  // j is the task's: gone once it runs again
  j->run(j);
  unpark(t);
  // relaxed: a hint; after the unpark, so the task is never seen waiting on nothing.
  in_flight.fetch_sub(1, std::memory_order_relaxed);
}

[[maybe_unused]] void helper_main() {  // (unused in a starter tree)
  Pool& p = pool();
  std::unique_lock lk(p.m);
  for (;;) {
    if (!p.head) {
      ++p.idle;
      bool got = p.cv.wait_for(lk, kBlockingIdle, [&] { return p.head != nullptr; });
      --p.idle;
      if (!got) {
        --p.threads;
        return;
      }
    }
    BlockingJob* j = p.head;
    if (!(p.head = j->next)) p.tail = &p.head;
    --p.queued;
    lk.unlock();
    finish(j);
    lk.lock();
  }
}

// On the parked task's worker loop (park_current's callback).
void submit(Task*, void* arg) {
  auto* j = static_cast<BlockingJob*>(arg);
  Pool& p = pool();
  {
    std::lock_guard lk(p.m);
    j->next = nullptr;
    *p.tail = j;
    p.tail = &j->next;
    // BEGIN SOLUTION
    if (++p.queued <= p.idle) {
      p.cv.notify_one();
      return;
    }
    if (p.threads >= kMaxBlockingHelpers) return;  // at the cap: it waits its turn
    try {
      std::thread(helper_main).detach();
      ++p.threads;
      return;
    } catch (const std::system_error&) {
      if (p.threads > 0) return;  // a helper will get to it
      // No helper at all, and none can be made: run it here, below.
      p.head = nullptr, p.tail = &p.head, p.queued = 0;
    }
    // STUB: unimplemented("phase 5: blocking()'s pool (blocking.cpp): handing the job to a helper is yours to write");
    // END SOLUTION
  }
  finish(j);
}

}  // namespace

bool blocking_parks() noexcept {
  // BEGIN SOLUTION
  // Only a runtime's task parks: a LocalScheduler's would have nobody to
  // run its scheduler while it waits, and a plain thread just makes the call.
  return current_task() && current_worker();
  // STUB: unimplemented("phase 5: blocking_parks (blocking.cpp): who parks and who runs f inline is yours to decide");
  // END SOLUTION
}
int blocking_in_flight() noexcept { return in_flight.load(std::memory_order_relaxed); }

void run_blocking(BlockingJob& job) {
  job.task = current_task();
  in_flight.fetch_add(1, std::memory_order_relaxed);  // a hint (see in_flight)
  Waiting waiting(job.task, "blocking call", 0);
  park_current(submit, &job);
}

}  // namespace green::detail
