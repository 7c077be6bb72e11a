// The type of a worker's local run queue. Stage 2: a ring (FIFO).
// (Stage 3 shadows this file with the Chase-Lev deque.)
#pragma once
#include <green/detail/ring_queue.hpp>
#include <green/detail/task.hpp>

namespace green::detail {
using LocalQueue = RingQueue<Task*, 256>;
// The oldest task of a local queue, for moving work out (any thread).
inline Task* take_oldest(LocalQueue& q) noexcept { return q.pop(); }
}  // namespace green::detail
