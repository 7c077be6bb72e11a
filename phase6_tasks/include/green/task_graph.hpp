// TaskGraph: functions with "runs before" edges, run in parallel in an
// order the edges allow.
//
//   green::TaskGraph g;
//   auto& a = g.emplace([] { load(); });
//   auto& b = g.emplace([] { parse(); });
//   a.precede(b);             // a runs before b
//   g.run();                  // may be run again
//
// run() first checks for a cycle (Kahn's algorithm: a graph whose nodes
// cannot all be ordered has one) and throws std::invalid_argument before any
// node runs; a graph run again with no node or edge added is not checked again. Then every node starts with a count of its predecessors; the
// roots are queued as jobs of a TaskGroup, and a node that ends counts down
// its successors: the one that brings a count to 0 runs that node, the first
// such inline (a chain runs as a loop on one task) and the others as jobs.
// A node that throws poisons its successors: they and everything after them
// are skipped; the nodes that do not depend on it still run, and run()
// rethrows the first exception after all of them.
#pragma once
#include <green/task_group.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace green {

class TaskGraph {
 public:
  // A cache line of its own: two workers counting down neighbouring nodes'
  // pending_ would otherwise move each other's lines. A layered graph of
  // tiny nodes on 2 workers ran at 82-86 ns a node, 73-80 aligned, in spells
  // when a line took ~170 ns to move between this machine's two CPUs.
  class alignas(64) Node {
   public:
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // This node runs before other (both of this graph, else
    // std::invalid_argument). Returns *this.
    Node& precede(Node& other);
    // This node runs after other.
    Node& succeed(Node& other);

   private:
    friend class TaskGraph;
    struct Fn {
      virtual ~Fn() = default;
      virtual void operator()() = 0;
    };
    Node(TaskGraph* g, std::unique_ptr<Fn> f) : graph_(g), fn_(std::move(f)) {}

    TaskGraph* const graph_;
    const std::unique_ptr<Fn> fn_;
    std::vector<Node*> succ_;      // edges out (a repeated edge counts twice, both ends)
    std::size_t npred_ = 0;        // edges in
    // During run(): predecessors yet to end. fetch_sub acq_rel: release
    // publishes this predecessor's effects and poison, the last one's
    // acquire sees every predecessor's before the node runs.
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> poisoned_{false};  // a predecessor failed or was skipped (relaxed: see pending_)
  };

  TaskGraph() = default;
  ~TaskGraph() {
    for_each_node([](Node& n) { n.~Node(); });
  }
  TaskGraph(const TaskGraph&) = delete;
  TaskGraph& operator=(const TaskGraph&) = delete;

  // f: callable with no arguments, called once per run(). The Node stays
  // valid as long as the graph.
  template <class F>
  Node& emplace(F&& f) {
    using G = std::decay_t<F>;
    static_assert(std::is_invocable_v<G&>, "TaskGraph::emplace: f must be callable with no arguments");
    struct Of final : Node::Fn {
      explicit Of(F&& x) : g(std::forward<F>(x)) {}
      void operator()() override { g(); }
      G g;
    };
    auto fn = std::make_unique<Of>(std::forward<F>(f));
    if (size_ % kBlock == 0) blocks_.push_back(std::make_unique<Block>());
    Node* n = new (blocks_.back()->at(size_ % kBlock)) Node(this, std::move(fn));
    ++size_;
    checked_ = false;
    return *n;
  }

  // Blocks until every node ran (or was skipped, after a failure); see the
  // top. A cycle: std::invalid_argument, and nothing runs. One run() at a
  // time; no edges or nodes added while it runs.
  void run();

 private:
  void check_acyclic();
  void run_from(Node* n, TaskGroup& g);
  void fail(std::exception_ptr e) noexcept;

  // The nodes, in blocks of kBlock: they keep their addresses and lie one
  // after another (a chain walks memory in order; allocated one by one,
  // aligned, a chain of 10^5 ran at 16 ns a node, not 10).
  static constexpr std::size_t kBlock = 64;
  struct Block {
    alignas(Node) unsigned char bytes[kBlock * sizeof(Node)];
    void* at(std::size_t i) noexcept { return bytes + i * sizeof(Node); }
  };
  template <class Fn>
  void for_each_node(Fn f) {
    for (std::size_t i = 0; i < size_; ++i) f(*static_cast<Node*>(blocks_[i / kBlock]->at(i % kBlock)));
  }
  std::vector<std::unique_ptr<Block>> blocks_;
  std::size_t size_ = 0;
  bool checked_ = false;  // no node or edge added since the last cycle check passed
  // The first failure of this run: whoever wins failed_ writes error_; run()
  // reads it after the group's wait (which orders every job before it).
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

}  // namespace green
