// Runtime::on_idle / cancel_idle: callbacks an idle worker runs before it
// sleeps (io_poll calls run() when it found no I/O). See runtime.hpp.
#include <green/detail/poller.hpp>
#include <green/detail/runtime_impl.hpp>
#include <green/runtime.hpp>

namespace green {

std::uint64_t Runtime::on_idle(std::function<void()> cb) { return detail::poller_of(*impl_)->idle.add(std::move(cb)); }
void Runtime::cancel_idle(std::uint64_t id) { detail::poller_of(*impl_)->idle.cancel(id); }

}  // namespace green

namespace green::detail {

namespace {
thread_local const void* running_here = nullptr;  // the entry whose cb this thread runs
}

std::uint64_t IdleCallbacks::add(std::function<void()> cb) {
  auto e = std::make_shared<Entry>();
  e->cb = std::move(cb);
  std::lock_guard lk(m_);
  e->id = next_id_++;
  entries_.push_back(std::move(e));
  n_.store(entries_.size(), std::memory_order_relaxed);  // a hint for empty()
  return entries_.back()->id;
}

void IdleCallbacks::cancel(std::uint64_t id) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lk(m_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if ((*it)->id == id) {
        e = std::move(*it);
        entries_.erase(it);
        break;
      }
    n_.store(entries_.size(), std::memory_order_relaxed);
  }
  if (!e) return;  // unknown, or cancelled already
  if (running_here == e.get()) {  // from its own cb: it is not started again
    e->live = false;
    return;
  }
  std::lock_guard run(e->running);  // waits for a call under way on another worker
  e->live = false;
}

void IdleCallbacks::run() {
  thread_local std::vector<std::shared_ptr<Entry>> now;  // reused: no allocation per idle
  {
    std::lock_guard lk(m_);
    now = entries_;
  }
  for (auto& e : now) {
    std::lock_guard run(e->running);
    if (!e->live) continue;
    running_here = e.get();
    e->cb();
    running_here = nullptr;
  }
  now.clear();
}

}  // namespace green::detail
