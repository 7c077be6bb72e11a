// GlobalQueue::pop_batch (stage 3's, in worker_loop.cpp): a worker takes
// its share of the global queue's default-priority tasks in one lock.
#include <green/detail/runtime_impl.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace green::detail;
using green::kDefaultPriority;

// Fake tasks: only word and next are used by the queue.
std::vector<Task> make_tasks(const std::vector<int>& prios) {
  std::vector<Task> ts(prios.size());
  for (std::size_t i = 0; i < prios.size(); ++i) ts[i].word.init(TaskState::Ready, prios[i], false);
  return ts;
}

void push_all(GlobalQueue& g, std::vector<Task>& ts) {
  for (std::size_t i = 0; i + 1 < ts.size(); ++i) ts[i].next = &ts[i + 1];
  ts.back().next = nullptr;
  g.push_chain(&ts[0]);
}

// The chain pop_batch returned, as indices into ts.
std::vector<long> indices(Task* head, std::vector<Task>& ts) {
  std::vector<long> r;
  for (; head; head = head->next) r.push_back(head - ts.data());
  return r;
}

TEST(GlobalQueue, PopBatchTakesAShareOfTheDefaultLevelOldestFirst) {
  const int d = kDefaultPriority;
  // Ten of the default priority, one below it, one above it.
  auto ts = make_tasks({d, d, d, d, d, d, d, d, d, d, d - 1, d + 1});
  GlobalQueue g;
  push_all(g, ts);
  EXPECT_EQ(indices(g.pop_batch(2, 512), ts), (std::vector<long>{11}))
      << "a priority above the default comes out alone: only default-priority tasks go to a deque";
  // 11 left: 11 / 2 + 1 = 6 of the default level, oldest first.
  EXPECT_EQ(indices(g.pop_batch(2, 512), ts), (std::vector<long>{0, 1, 2, 3, 4, 5}));
  // 5 left, but at most max.
  EXPECT_EQ(indices(g.pop_batch(1, 2), ts), (std::vector<long>{6, 7}));
  // 3 left: 3 / 1 + 1 = 4 wanted, but the batch stops where the default level ends.
  EXPECT_EQ(indices(g.pop_batch(1, 512), ts), (std::vector<long>{8, 9}))
      << "a batch must not take a lower priority along (it would run before higher ones)";
  EXPECT_EQ(indices(g.pop_batch(1, 512), ts), (std::vector<long>{10}));
  EXPECT_EQ(g.pop_batch(1, 512), nullptr);
  EXPECT_FALSE(g.maybe_nonempty());
  // The count stayed right through all of that: 4 pushed, a share of 4 / 4 + 1 = 2.
  auto more = make_tasks({d, d, d, d});
  push_all(g, more);
  EXPECT_EQ(indices(g.pop_batch(4, 512), more), (std::vector<long>{0, 1}));
  EXPECT_EQ(g.pop(), &more[2]);
  EXPECT_EQ(indices(g.pop_batch(4, 512), more), (std::vector<long>{3}));
  EXPECT_EQ(g.pop(), nullptr);
}

}  // namespace
