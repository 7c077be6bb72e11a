// TaggedPtr: a pointer and a small tag in one 64-bit word.
//
// A T* to an object aligned to 2^Bits bytes always has its low Bits bits
// clear, so they are free to hold something else: here a tag, such as the
// state of a slot ("empty", "a task waits here", "done"). Pointer and tag then
// live in one machine word, and AtomicTaggedPtr changes both with one atomic
// instruction: a compare-exchange decides "who waits, and is it done?" in one
// step, where a struct of two fields would need a lock around both.
//
//   bit  63 ..................... Bits | Bits-1 .. 0
//        the pointer's high bits       | the tag
//
// A tag is not a version counter: Bits bits wrap after 2^Bits changes, so a
// tag cannot tell "the same pointer again" from "nothing happened" (ABA).
// Use a tag for a state that the protocol moves through in a known order.
#pragma once
#include <green/detail/unimplemented.hpp>
#include <green/detail/debug.hpp>

#include <atomic>
#include <cstdint>

namespace green::detail {

template <class T, unsigned Bits>
class TaggedPtr {
  static_assert(Bits >= 1 && Bits <= 12, "a tag has 1 to 12 bits");
  static_assert(alignof(T) >= (std::size_t{1} << Bits),
                "T is not aligned enough: its pointers do not have Bits low bits free");

 public:
  static constexpr std::uintptr_t kTagMask = (std::uintptr_t{1} << Bits) - 1;
  static constexpr unsigned kTags = 1u << Bits;

  constexpr TaggedPtr() noexcept = default;
  // p's low Bits bits must be clear (checked in debug builds); tag < 2^Bits.
  TaggedPtr(T* p, unsigned tag) noexcept {
    // BEGIN SOLUTION
    GREEN_CHECK((reinterpret_cast<std::uintptr_t>(p) & kTagMask) == 0, "TaggedPtr: pointer is not aligned enough");
    GREEN_CHECK(tag <= kTagMask, "TaggedPtr: tag does not fit in its bits");
    bits_ = reinterpret_cast<std::uintptr_t>(p) | tag;
    // STUB: (void)p, (void)tag;
    // STUB: unimplemented("stage 4: TaggedPtr's constructor is yours to write (include/green/detail/tagged_ptr.hpp)");
    // END SOLUTION
  }

  T* ptr() const noexcept {
    // BEGIN SOLUTION
    return reinterpret_cast<T*>(bits_ & ~kTagMask);
    // STUB: unimplemented("stage 4: TaggedPtr::ptr is yours to write (include/green/detail/tagged_ptr.hpp)");
    // END SOLUTION
  }
  unsigned tag() const noexcept {
    // BEGIN SOLUTION
    return static_cast<unsigned>(bits_ & kTagMask);
    // STUB: unimplemented("stage 4: TaggedPtr::tag is yours to write (include/green/detail/tagged_ptr.hpp)");
    // END SOLUTION
  }
  std::uintptr_t bits() const noexcept { return bits_; }
  static constexpr TaggedPtr from_bits(std::uintptr_t b) noexcept { return TaggedPtr(b); }

  friend constexpr bool operator==(TaggedPtr, TaggedPtr) noexcept = default;

 private:
  constexpr explicit TaggedPtr(std::uintptr_t b) noexcept : bits_(b) {}
  std::uintptr_t bits_ = 0;
};

// One TaggedPtr that threads change atomically. Each operation takes the
// memory order the caller's protocol needs, as std::atomic does; callers say
// what it pairs with.
template <class T, unsigned Bits>
class AtomicTaggedPtr {
 public:
  using Value = TaggedPtr<T, Bits>;
  static_assert(std::atomic<std::uintptr_t>::is_always_lock_free, "a tagged word must be lock-free");

  constexpr AtomicTaggedPtr() noexcept = default;
  explicit AtomicTaggedPtr(Value v) noexcept : word_(v.bits()) {}
  AtomicTaggedPtr(const AtomicTaggedPtr&) = delete;
  AtomicTaggedPtr& operator=(const AtomicTaggedPtr&) = delete;

  Value load(std::memory_order mo) const noexcept { return Value::from_bits(word_.load(mo)); }
  void store(Value v, std::memory_order mo) noexcept { word_.store(v.bits(), mo); }
  Value exchange(Value v, std::memory_order mo) noexcept { return Value::from_bits(word_.exchange(v.bits(), mo)); }
  // On failure, expected becomes the current value (as std::atomic).
  bool compare_exchange_strong(Value& expected, Value desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    return cas<false>(expected, desired, success, failure);
  }
  bool compare_exchange_weak(Value& expected, Value desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    return cas<true>(expected, desired, success, failure);
  }
  // Blocks the calling OS thread while the word equals old (std::atomic::wait:
  // a futex). Spurious returns are possible: callers re-check.
  void wait(Value old, std::memory_order mo) const noexcept { word_.wait(old.bits(), mo); }
  void notify_all() noexcept { word_.notify_all(); }

 private:
  template <bool Weak>
  bool cas(Value& expected, Value desired, std::memory_order success, std::memory_order failure) noexcept {
    // BEGIN SOLUTION
    std::uintptr_t e = expected.bits();
    bool ok = Weak ? word_.compare_exchange_weak(e, desired.bits(), success, failure)
                   : word_.compare_exchange_strong(e, desired.bits(), success, failure);
    expected = Value::from_bits(e);
    return ok;
    // STUB: (void)expected, (void)desired, (void)success, (void)failure;
    // STUB: unimplemented("stage 4: AtomicTaggedPtr::cas is yours to write (include/green/detail/tagged_ptr.hpp)");
    // END SOLUTION
  }

  std::atomic<std::uintptr_t> word_{0};
};

}  // namespace green::detail
