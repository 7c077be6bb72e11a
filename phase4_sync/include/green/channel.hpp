// Channel<T>: Go's channel (phase 4).
//
//   capacity 0   unbuffered: a send waits until a receiver takes its value
//   capacity n   holds exactly n values (not n-1, any n); a send waits while full
//   FIFO         values come out in the order they went in
//   direct       a value goes straight to a waiting receiver, never through the buffer
//   close()      wakes every waiter: senders get false, receivers drain what is
//                buffered and then get std::nullopt; a send after it gets false
//
// T may be move-only. Tasks park; plain threads block. A value a sender
// waits with stays on the sender's stack until a receiver moves it out.
#pragma once
#include <green/detail/spin_lock.hpp>
#include <green/detail/waiter.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace green {

template <class T>
class Channel {
 public:
  // capacity above 2^32: std::invalid_argument.
  explicit Channel(std::size_t capacity = 0) : cap_(capacity) {
    // BEGIN SOLUTION
    if (capacity > (std::size_t{1} << 32)) throw std::invalid_argument("green::Channel: capacity above 2^32");
    // STUB: detail::unimplemented("phase 4: Channel's argument check (channel.hpp) is yours to write");
    // END SOLUTION
    if (cap_) buf_ = std::make_unique<std::optional<T>[]>(cap_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Parks while full (or, unbuffered, until a receiver takes v). False once closed.
  bool send(T v);
  // Parks while empty. std::nullopt once closed and drained.
  std::optional<T> recv();
  // Idempotent. Wakes every waiting sender and receiver.
  void close();

  std::size_t capacity() const noexcept { return cap_; }

 private:
  struct Sender : detail::Waiter {
    T* value = nullptr;  // on the sender's stack
    bool taken = false;  // a receiver took it (else: closed)
  };
  struct Receiver : detail::Waiter {
    std::optional<T>* slot = nullptr;  // on the receiver's stack; empty: closed
  };
  using Guard = std::unique_lock<detail::SpinLock>;

  void push(T&& v) {  // the buffer is not full
    buf_[(head_ + size_) % cap_].emplace(std::move(v));
    ++size_;
  }
  T pop() {  // the buffer is not empty
    std::optional<T>& s = buf_[head_];
    T v = std::move(*s);
    s.reset();
    head_ = (head_ + 1) % cap_;
    --size_;
    return v;
  }

  const std::size_t cap_;
  std::unique_ptr<std::optional<T>[]> buf_;  // a ring of cap_ slots
  // Everything below is guarded by guard_.
  std::size_t head_ = 0, size_ = 0;
  bool closed_ = false;
  detail::WaitList senders_{"green::Channel (to send)", this};      // Sender nodes
  detail::WaitList receivers_{"green::Channel (to receive)", this};  // Receiver nodes
  detail::SpinLock guard_;
};

template <class T>
bool Channel<T>::send(T v) {
  detail::PreemptOff no_preempt;  // guard_ is a spin lock; queued-then-parked (detail/waiter.hpp)
  detail::Wakeups wake;           // delivered after guard_ is released
  Guard lk(guard_);
  // BEGIN SOLUTION
  if (closed_) return false;
  if (auto* r = static_cast<Receiver*>(receivers_.pop_front())) {
    r->slot->emplace(std::move(v));  // straight to the receiver, before its claim publishes it
    wake.add(r);                     // receives have no timeout: the claim succeeds
    return true;
  }
  if (size_ < cap_) {
    push(std::move(v));
    return true;
  }
  Sender me;
  me.value = &v;
  senders_.push_back(&me);
  lk.release();  // sleep_queued unlocks guard_
  detail::sleep_queued(me, guard_, senders_, detail::kNever);
  return me.taken;
  // STUB: (void)v;
  // STUB: detail::unimplemented("phase 4: Channel::send (channel.hpp) is yours to write");
  // END SOLUTION
}

template <class T>
std::optional<T> Channel<T>::recv() {
  detail::PreemptOff no_preempt;
  detail::Wakeups wake;
  Guard lk(guard_);
  // BEGIN SOLUTION
  auto* s = static_cast<Sender*>(senders_.pop_front());
  if (size_) {
    std::optional<T> v(pop());
    if (s) {  // a sender waited for room: its value joins the back
      push(std::move(*s->value));
      s->taken = true;
      wake.add(s);
    }
    return v;
  }
  if (s) {  // unbuffered (or a buffer of 0 in use): take it from the sender's stack
    std::optional<T> v(std::move(*s->value));
    s->taken = true;
    wake.add(s);
    return v;
  }
  if (closed_) return std::nullopt;
  std::optional<T> slot;
  Receiver me;
  me.slot = &slot;
  receivers_.push_back(&me);
  lk.release();
  detail::sleep_queued(me, guard_, receivers_, detail::kNever);
  return slot;
  // STUB: detail::unimplemented("phase 4: Channel::recv (channel.hpp) is yours to write");
  // STUB: return std::nullopt;
  // END SOLUTION
}

template <class T>
void Channel<T>::close() {
  // In batches (Wakeups holds 32). Nobody queues once closed_ is set.
  for (bool more = true; more;) {
    detail::PreemptOff no_preempt;
    detail::Wakeups wake;
    Guard lk(guard_);
    // BEGIN SOLUTION
    closed_ = true;
    while (!wake.full() && !receivers_.empty()) wake.add(receivers_.pop_front());  // slot stays empty
    while (!wake.full() && !senders_.empty()) wake.add(senders_.pop_front());      // taken stays false
    more = !receivers_.empty() || !senders_.empty();
    // STUB: more = false;
    // STUB: detail::unimplemented("phase 4: Channel::close (channel.hpp) is yours to write");
    // END SOLUTION
  }
}

}  // namespace green
