// TaskGraph: edges are respected, a cycle throws before anything runs, a
// graph runs again, a failure skips only its dependents, big graphs.
#include <task_util.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace {

using namespace green;
using green::test::scaled;

TEST(TaskGraph, EveryEdgeIsRespected) {
  Runtime rt({.workers = 2});
  rt.run([] {
    TaskGraph g;
    std::atomic<int> clock{0};
    std::vector<int> when(6, -1);
    std::vector<TaskGraph::Node*> n;
    for (int i = 0; i < 6; ++i) n.push_back(&g.emplace([&, i] { when[static_cast<std::size_t>(i)] = clock++; }));
    //   0 -> 1 -> 3 -> 5,  0 -> 2 -> 3,  4 -> 5 (4 a second root)
    n[0]->precede(*n[1]).precede(*n[2]);
    n[3]->succeed(*n[1]).succeed(*n[2]);
    n[5]->succeed(*n[3]).succeed(*n[4]);
    for (int round = 0; round < 3; ++round) {  // run() may be called again
      clock = 0;
      g.run();
      EXPECT_LT(when[0], when[1]);
      EXPECT_LT(when[0], when[2]);
      EXPECT_LT(when[1], when[3]);
      EXPECT_LT(when[2], when[3]);
      EXPECT_LT(when[3], when[5]);
      EXPECT_LT(when[4], when[5]);
      EXPECT_EQ(clock.load(), 6) << "each node once per run";
    }
  });
}

TEST(TaskGraph, ACycleThrowsBeforeAnyNodeRuns) {
  Runtime rt({.workers = 2});
  rt.run([] {
    std::atomic<int> ran{0};
    TaskGraph g;
    auto& a = g.emplace([&] { ran++; });
    auto& b = g.emplace([&] { ran++; });
    auto& c = g.emplace([&] { ran++; });
    g.emplace([&] { ran++; });  // an innocent root
    a.precede(b);
    b.precede(c);
    c.precede(a);
    EXPECT_THROW(g.run(), std::invalid_argument);
    EXPECT_EQ(ran.load(), 0);
    TaskGraph self;
    auto& s = self.emplace([&] { ran++; });
    s.precede(s);
    EXPECT_THROW(self.run(), std::invalid_argument) << "a node before itself is a cycle of one";
    EXPECT_EQ(ran.load(), 0);
    TaskGraph other;
    EXPECT_THROW(other.emplace([] {}).precede(a), std::invalid_argument) << "an edge between graphs";
    TaskGraph empty;
    EXPECT_NO_THROW(empty.run());
    TaskGraph later;  // acyclic at its first run; an edge added afterwards closes a cycle
    auto& x = later.emplace([&] { ran++; });
    auto& y = later.emplace([&] { ran++; });
    x.precede(y);
    later.run();
    EXPECT_EQ(ran.load(), 2);
    y.precede(x);
    EXPECT_THROW(later.run(), std::invalid_argument) << "a run after a new edge checks again";
    EXPECT_EQ(ran.load(), 2);
  });
}

TEST(TaskGraph, AFailureSkipsItsDependentsOnly) {
  Runtime rt({.workers = 2});
  rt.run([] {
    TaskGraph g;
    std::atomic<int> after_bad{0}, independent{0};
    auto& bad = g.emplace([] { throw std::runtime_error("node failed"); });
    auto& child = g.emplace([&] { after_bad++; });
    auto& grandchild = g.emplace([&] { after_bad++; });
    bad.precede(child);
    child.precede(grandchild);
    auto& root = g.emplace([&] {
      this_task::sleep_for(std::chrono::milliseconds(10));
      independent++;
    });
    for (int i = 0; i < 20; ++i) root.precede(g.emplace([&] { independent++; }));
    EXPECT_THROW(g.run(), std::runtime_error);
    EXPECT_EQ(after_bad.load(), 0) << "what depends on a failed node is skipped";
    EXPECT_EQ(independent.load(), 21) << "run() rethrows only after the independent nodes finished";
  });
}

TEST(TaskGraph, TenThousandNodesInLayers) {
  Runtime rt({.workers = 2});
  const int layers = 100, width = static_cast<int>(scaled(100, 5));
  rt.run([&] {
    TaskGraph g;
    std::vector<std::vector<TaskGraph::Node*>> L(static_cast<std::size_t>(layers));
    std::vector<std::atomic<int>> done_in(static_cast<std::size_t>(layers));
    std::atomic<int> violations{0};
    for (int l = 0; l < layers; ++l)
      for (int i = 0; i < width; ++i) {
        auto& n = g.emplace([&, l] {
          if (l > 0 && done_in[static_cast<std::size_t>(l - 1)].load() < width) violations++;  // needs all of the layer before
          done_in[static_cast<std::size_t>(l)]++;
        });
        L[static_cast<std::size_t>(l)].push_back(&n);
        if (l > 0)
          for (auto* p : L[static_cast<std::size_t>(l - 1)]) p->precede(n);
      }
    g.run();
    EXPECT_EQ(violations.load(), 0);
    for (auto& d : done_in) EXPECT_EQ(d.load(), width);
  });
}

TEST(TaskGraph, ALongChainRunsInOrder) {
  Runtime rt({.workers = 2});
  const int n = static_cast<int>(scaled(100000, 1000));
  rt.run([&] {
    TaskGraph g;
    long next = 0, bad = 0;
    TaskGraph::Node* prev = nullptr;
    for (int i = 0; i < n; ++i) {
      auto& node = g.emplace([&, i] {
        if (next != i) ++bad;
        ++next;
      });
      if (prev) prev->precede(node);
      prev = &node;
    }
    g.run();
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(next, n);
  });
}

TEST(TaskGraph, RunsFromAPlainThread) {
  Runtime rt({.workers = 2});
  TaskGraph g;
  std::atomic<int> ran{0};
  auto& a = g.emplace([&] { ran++; });
  a.precede(g.emplace([&] { ran++; }));
  g.run();
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
