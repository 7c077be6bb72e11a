// TaskGraph: see include/green/task_graph.hpp.
#include <green/task_graph.hpp>

#include <green/detail/unimplemented.hpp>

#include <stdexcept>
#include <string>

namespace green {

TaskGraph::Node& TaskGraph::Node::precede(Node& other) {
  if (other.graph_ != graph_)
    throw std::invalid_argument("green::TaskGraph::Node::precede: the nodes belong to different graphs");
  succ_.push_back(&other);
  ++other.npred_;
  graph_->checked_ = false;
  return *this;
}

TaskGraph::Node& TaskGraph::Node::succeed(Node& other) {
  other.precede(*this);
  return *this;
}

void TaskGraph::check_acyclic() {
  // BEGIN SOLUTION
  // Kahn: take nodes with no predecessors left; a cycle's nodes never get there.
  std::vector<Node*> ready;
  for_each_node([&](Node& n) {
    n.pending_.store(n.npred_, std::memory_order_relaxed);  // (run() sets them again)
    if (n.npred_ == 0) ready.push_back(&n);
  });
  std::size_t ordered = 0;
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    ++ordered;
    for (Node* s : n->succ_)
      if (s->pending_.fetch_sub(1, std::memory_order_relaxed) == 1) ready.push_back(s);
  }
  if (ordered != size_)
    throw std::invalid_argument("green::TaskGraph::run: the graph has a cycle (" +
                                std::to_string(size_ - ordered) +
                                " of its nodes are on a cycle or after one); nothing ran");
  // STUB: detail::unimplemented("phase 6: TaskGraph::check_acyclic (task_graph.cpp) is yours to write");
  // END SOLUTION
}

void TaskGraph::fail(std::exception_ptr e) noexcept {
  // relaxed: only picks the first; run() reads error_ after the group's wait.
  if (!failed_.exchange(true, std::memory_order_relaxed)) error_ = std::move(e);
}

// Runs n, then each successor it made ready: the first inline, the rest as
// jobs of g.
void TaskGraph::run_from(Node* n, TaskGroup& g) {
  // BEGIN SOLUTION
  while (n) {
    bool bad = n->poisoned_.load(std::memory_order_relaxed);
    if (!bad) {
      try {
        (*n->fn_)();
      } catch (...) {
        fail(std::current_exception());
        bad = true;
      }
    }
    Node* next = nullptr;
    for (Node* s : n->succ_) {
      if (bad) s->poisoned_.store(true, std::memory_order_relaxed);  // published by the fetch_sub
      if (s->pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
      if (!next) next = s;
      else g.run([this, s, &g] { run_from(s, g); });
    }
    n = next;
  }
  // STUB: (void)n, (void)g;
  // STUB: detail::unimplemented("phase 6: TaskGraph::run_from (task_graph.cpp) is yours to write");
  // END SOLUTION
}

void TaskGraph::run() {
  if (!checked_) check_acyclic();
  checked_ = true;
  for_each_node([](Node& n) {
    n.pending_.store(n.npred_, std::memory_order_relaxed);  // ordered for the jobs by g.run
    n.poisoned_.store(false, std::memory_order_relaxed);
  });
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;
  TaskGroup g;
  for_each_node([&](Node& n) {
    if (n.npred_ == 0) g.run([this, r = &n, &g] { run_from(r, g); });
  });
  g.wait();  // run_from catches what the nodes throw: this does not throw
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace green
