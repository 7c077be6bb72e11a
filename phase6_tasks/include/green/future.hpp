// Futures: Promise/Future, async, then, when_all, when_any.
//
// A Future and its Promise (or the job async made) share one FutureState:
// the result (a value or an exception), an Event the Future's holder sleeps
// on, an optional callback that then/when_all/when_any attach instead of
// sleeping, and the job that will produce the result, if a job will (async,
// then). get()/wait() from a task first try to run that job inline (help,
// detail/job.hpp): an async whose job no worker has taken costs no switch.
// A when_all's or when_any's state has no job of its own; its wait helps the
// producers of its inputs instead, newest first (the order they sit in on
// the deque), one level deep (a chain of 10^5 thens must not recurse).
//
// The result is written once, under the state's lock, before the Event is
// set: whoever sees the Event set (acquire) sees the result.
#pragma once
#include <green/detail/event.hpp>
#include <green/detail/job.hpp>
#include <green/detail/preempt_off.hpp>
#include <green/detail/spin_lock.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace green {

template <class T>
class Future;
template <class T>
class Promise;

namespace detail {

struct Unit {};
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;

// A move-only callable run once (then's, when_all's): std::function would
// refuse a move-only function given to then.
struct Callback : BlockAllocated {
  virtual ~Callback() = default;
  virtual void operator()() noexcept = 0;
};
template <class G>
std::unique_ptr<Callback> make_callback(G g) {
  struct Of final : Callback {
    explicit Of(G x) : g(std::move(x)) {}
    void operator()() noexcept override { g(); }
    G g;
  };
  return std::unique_ptr<Callback>(new Of(std::move(g)));
}

// A shared state from the block cache (job.hpp's BlockAllocator).
template <class S, class... A>
std::shared_ptr<S> make_state(A&&... a) {
  return std::allocate_shared<S>(BlockAllocator<S>{}, std::forward<A>(a)...);
}

class FutureStateBase {
 public:
  FutureStateBase() = default;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;

  bool ready() const noexcept { return event_.is_set(); }
  // Helps the producing job if it has not started, then sleeps until ready.
  void wait();
  // cb runs once, when the result is in: now, on this thread, if it is
  // already; else on the thread that completes the state. It must not throw.
  void on_ready(std::unique_ptr<Callback> cb);
  // The job that will complete the state (wait() may run it): before it is submitted.
  void set_producer(Job* j) noexcept;
  // The states this one is gathered from (when_all's, when_any's): wait()
  // helps their producers too. Before the state is shared.
  void set_inputs(std::vector<std::shared_ptr<FutureStateBase>> in) noexcept { inputs_ = std::move(in); }
  // false: a result was already set (nothing changed).
  bool set_exception(std::exception_ptr e) {
    return set_with([&] { error_ = std::move(e); });
  }
  std::exception_ptr exception() const noexcept { return error_; }  // once ready()

 protected:
  // Sets the result once: write() stores it (under lock_, with preemption
  // off: keep it short); then the Event is set and the callback run (outside
  // the lock). false: a result was there already, and write() did not run.
  template <class W>
  bool set_with(W&& write) {
    std::unique_ptr<Callback> cb;
    {
      PreemptOff no_preempt;  // lock_ is a spin lock
      std::lock_guard lk(lock_);
      if (satisfied_) return false;
      satisfied_ = true;
      try {
        write();
      } catch (...) {  // the value's constructor threw: that is the result
        error_ = std::current_exception();
      }
      cb = std::move(callback_);
    }
    event_.set();  // release: publishes the result to ready()/wait()'s acquire
    if (cb) (*cb)();
    return true;
  }
  std::exception_ptr error_;           // written once, under lock_, before the Event is set

 private:
  SpinLock lock_;
  bool satisfied_ = false;             // a result was set; under lock_
  std::unique_ptr<Callback> callback_; // under lock_
  Event event_;                        // set once the result is in
  std::atomic<Job*> producer_{nullptr};  // compared, never followed (see wait())
  // Set before the state is shared, read-only after. It holds the inputs
  // alive as long as this state (no cycle outlives them: each input drops
  // its callback, and with it the way back here, once it is complete).
  std::vector<std::shared_ptr<FutureStateBase>> inputs_;
  void help_producer();  // wait()'s help, without the sleep
};

template <class T>
class FutureState final : public FutureStateBase {
 public:
  template <class... A>
  bool set_value(A&&... a) {
    return set_with([&] { value_.emplace(std::forward<A>(a)...); });
  }
  Stored<T>& value() noexcept { return *value_; }  // once ready() with no exception

 private:
  std::optional<Stored<T>> value_;
};

// Runs fn and puts what it returns or throws into st.
template <class T, class Fn>
void set_result(FutureState<T>& st, Fn& fn) noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      fn();
      st.set_value();
    } else {
      st.set_value(fn());
    }
  } catch (...) {
    st.set_exception(std::current_exception());
  }
}

template <class T>
std::shared_ptr<FutureState<T>> state_of(Future<T>& f);
template <class T>
Future<T> make_future(std::shared_ptr<FutureState<T>> s);

[[noreturn]] void throw_future_error(std::future_errc e);

}  // namespace detail

// Move-only; T may be void. get() once (the future is then no longer
// valid()); every call on a future that is not valid() throws
// std::future_error (no_state).
template <class T>
class Future {
 public:
  Future() = default;
  Future(Future&&) noexcept = default;
  Future& operator=(Future&&) noexcept = default;

  bool valid() const noexcept { return state_ != nullptr; }
  bool ready() const {
    check();
    return state_->ready();
  }
  // Parks a task (after helping), blocks a thread.
  void wait() {
    check();
    state_->wait();
  }
  // Waits, then returns the value or rethrows the exception.
  T get() {
    wait();
    auto st = std::move(state_);
    if (auto e = st->exception()) std::rethrow_exception(e);
    if constexpr (!std::is_void_v<T>) return std::move(st->value());
  }

  // Consumes *this. f(T) (or f() for void) runs as a job once the value is
  // in, on the scheduler of the caller (a plain thread: the newest runtime;
  // none: inline, wherever the value is set). An exception skips f and goes
  // on to the result.
  template <class F>
  auto then(F&& f);

 private:
  template <class U>
  friend std::shared_ptr<detail::FutureState<U>> detail::state_of(Future<U>&);
  template <class U>
  friend Future<U> detail::make_future(std::shared_ptr<detail::FutureState<U>>);

  explicit Future(std::shared_ptr<detail::FutureState<T>> s) : state_(std::move(s)) {}
  void check() const {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
  }
  std::shared_ptr<detail::FutureState<T>> state_;
};

namespace detail {

template <class T>
std::shared_ptr<FutureState<T>> state_of(Future<T>& f) {
  f.check();
  return std::move(f.state_);
}
template <class T>
Future<T> make_future(std::shared_ptr<FutureState<T>> s) {
  return Future<T>(std::move(s));
}

template <class T>
class PromiseBase {
 public:
  PromiseBase() : state_(make_state<FutureState<T>>()) {}
  PromiseBase(PromiseBase&&) noexcept = default;
  PromiseBase& operator=(PromiseBase&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = std::move(o.state_);
      retrieved_ = o.retrieved_;
    }
    return *this;
  }
  ~PromiseBase() { abandon(); }

  // Once; again: std::future_error (future_already_retrieved).
  Future<T> get_future() {
    check();
    if (retrieved_) throw_future_error(std::future_errc::future_already_retrieved);
    retrieved_ = true;
    return make_future(state_);
  }
  void set_exception(std::exception_ptr e) {
    check();
    if (!state_->set_exception(std::move(e))) throw_future_error(std::future_errc::promise_already_satisfied);
  }

 protected:
  void check() const {
    if (!state_) throw_future_error(std::future_errc::no_state);
  }
  template <class... A>
  void set(A&&... a) {
    check();
    if (!state_->set_value(std::forward<A>(a)...)) throw_future_error(std::future_errc::promise_already_satisfied);
  }

 private:
  // Destroyed (or overwritten) unset: the future gets broken_promise.
  void abandon() noexcept {
    if (state_)
      state_->set_exception(std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
  }
  std::shared_ptr<FutureState<T>> state_;
  bool retrieved_ = false;
};

}  // namespace detail

template <class T>
class Promise : public detail::PromiseBase<T> {
 public:
  void set_value(T v) { this->set(std::move(v)); }
};

template <>
class Promise<void> : public detail::PromiseBase<void> {
 public:
  void set_value() { this->set(); }
};

// Runs f as a job of the calling task's scheduler (a plain thread: the
// newest runtime), with opts for the task that carries it. Bad options:
// std::invalid_argument; no runtime: std::logic_error.
template <class F>
auto async(F&& f, SpawnOptions opts = {}) {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn&>;
  detail::validate(opts);
  detail::Scheduler& s = detail::scheduler_for("green::async");
  auto st = detail::make_state<detail::FutureState<R>>();
  // The job keeps the state alive until it has run, and lets go of it then
  // (the state holds the job: no cycle once it ran).
  detail::Job* j = detail::make_fn_job([st, fn = Fn(std::forward<F>(f))]() mutable noexcept {
    auto mine = std::move(st);
    detail::set_result(*mine, fn);
  });
  st->set_producer(j);
  detail::submit(s, j, opts);
  return detail::make_future(std::move(st));
}

template <class T>
template <class F>
auto Future<T>::then(F&& f) {
  using Fn = std::decay_t<F>;
  using R = typename std::conditional_t<std::is_void_v<T>, std::invoke_result<Fn&>,
                                        std::invoke_result<Fn&, detail::Stored<T>&&>>::type;
  check();
  auto in = std::move(state_);
  auto out = detail::make_state<detail::FutureState<R>>();
  detail::Scheduler* s = detail::scheduler_here();
  detail::FutureState<T>* from = in.get();
  // Held by `in` until it runs (then dropped): in -> callback -> in is a
  // cycle only until the result arrives.
  from->on_ready(detail::make_callback([in = std::move(in), out, s, fn = Fn(std::forward<F>(f))]() mutable noexcept {
    if (auto e = in->exception()) {
      out->set_exception(e);
      return;
    }
    auto call = [in, out, fn = std::move(fn)]() mutable noexcept {
      auto mine = std::move(out);
      auto arg = std::move(in);
      auto bound = [&]() -> R {
        if constexpr (std::is_void_v<T>) return fn();
        else return fn(std::move(arg->value()));
      };
      detail::set_result(*mine, bound);
    };
    if (s) {
      try {
        detail::Job* j = detail::make_fn_job(std::move(call));
        out->set_producer(j);
        detail::submit(*s, j);
        return;
      } catch (...) {
        out->set_exception(std::current_exception());  // the job could not be made
        return;
      }
    }
    call();
  }));
  return detail::make_future(std::move(out));
}

// Waits for all (they run meanwhile); the values in input order, or the
// first failure in input order.
template <class T>
Future<std::vector<T>> when_all(std::vector<Future<T>> fs);
Future<void> when_all(std::vector<Future<void>> fs);
// The first input to become ready (value or exception), with its index.
// Empty input: std::invalid_argument.
template <class T>
Future<std::pair<std::size_t, T>> when_any(std::vector<Future<T>> fs);
Future<std::size_t> when_any(std::vector<Future<void>> fs);

namespace detail {

// Calls done(inputs, out) once every input is ready (the last one to
// become ready calls it, on its thread).
template <class T, class Out, class Done>
Future<Out> gather(std::vector<Future<T>> fs, Done done) {
  struct All {
    std::vector<std::shared_ptr<FutureState<T>>> in;
    std::shared_ptr<FutureState<Out>> out = make_state<FutureState<Out>>();
    std::atomic<std::size_t> left{0};
    Done done;
    explicit All(Done d) : done(std::move(d)) {}
  };
  auto all = make_state<All>(std::move(done));
  for (auto& f : fs) all->in.push_back(state_of(f));
  all->out->set_inputs({all->in.begin(), all->in.end()});
  Future<Out> result = make_future(all->out);
  // +1 until every callback is attached, so none completes it early.
  all->left.store(all->in.size() + 1, std::memory_order_relaxed);
  // acq_rel: the last arrival sees every input's result (each read after
  // its Event, and handed on by these releases).
  auto arrive = [](const std::shared_ptr<All>& a) noexcept {
    if (a->left.fetch_sub(1, std::memory_order_acq_rel) == 1) a->done(a->in, *a->out);
  };
  for (auto& st : all->in) st->on_ready(make_callback([all, arrive]() noexcept { arrive(all); }));
  arrive(all);
  return result;
}

// Throws std::invalid_argument naming who, for an empty input.
void require_inputs(std::size_t n, const char* who);

}  // namespace detail

template <class T>
Future<std::vector<T>> when_all(std::vector<Future<T>> fs) {
  using In = std::vector<std::shared_ptr<detail::FutureState<T>>>;
  return detail::gather<T, std::vector<T>>(std::move(fs), [](In& in, detail::FutureState<std::vector<T>>& out) noexcept {
    for (auto& st : in)
      if (auto e = st->exception()) {
        out.set_exception(e);
        return;
      }
    try {
      std::vector<T> v;
      v.reserve(in.size());
      for (auto& st : in) v.push_back(std::move(st->value()));
      out.set_value(std::move(v));
    } catch (...) {
      out.set_exception(std::current_exception());
    }
  });
}

template <class T>
Future<std::pair<std::size_t, T>> when_any(std::vector<Future<T>> fs) {
  detail::require_inputs(fs.size(), "green::when_any");
  struct Any {
    std::shared_ptr<detail::FutureState<std::pair<std::size_t, T>>> out =
        detail::make_state<detail::FutureState<std::pair<std::size_t, T>>>();
    std::atomic<bool> won{false};
  };
  auto any = detail::make_state<Any>();
  std::vector<std::shared_ptr<detail::FutureState<T>>> in;
  for (auto& f : fs) in.push_back(detail::state_of(f));
  any->out->set_inputs({in.begin(), in.end()});
  Future<std::pair<std::size_t, T>> result = detail::make_future(any->out);
  for (std::size_t i = 0; i < in.size(); ++i) {
    detail::FutureState<T>* st = in[i].get();
    // relaxed exchange: it only picks the winner; the result is published
    // by out's Event.
    st->on_ready(detail::make_callback([any, i, keep = std::move(in[i])]() noexcept {
      if (any->won.exchange(true, std::memory_order_relaxed)) return;
      if (auto e = keep->exception()) return void(any->out->set_exception(e));
      try {
        any->out->set_value(i, std::move(keep->value()));
      } catch (...) {
        any->out->set_exception(std::current_exception());
      }
    }));
  }
  return result;
}

}  // namespace green
