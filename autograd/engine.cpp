// The engine: a Kahn topological walk of the graph from the roots, highest sequence number
// first (the reverse of the order in which ops ran), with no recursion anywhere.
#include "engine.hpp"

#include <atomic>
#include <queue>
#include <tuple>

#include "../ops/elementwise.hpp"
#include "../core/factories.hpp"
#include "../ops/reduction.hpp"
#include "grad_mode.hpp"
#include "node.hpp"

namespace ctorch::autograd {

Tensor sum_to(const Tensor& g, IntArrayRef shape) {
  if (same_shape(g.sizes(), shape)) return g;
  int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  Shape dims;
  for (int64_t i = 0; i < g.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.size(i) != 1)) dims.push_back(i);
  Tensor s = dims.empty() ? g : g.sum(dims, /*keepdim=*/true);
  return s.view(shape);
}

namespace {

std::atomic<uint64_t> next_walk_id{1};

// One backward() or grad() call. Per-node state (pending count, gradient buffer) lives in the
// nodes themselves, stamped with this walk's id, so the walk needs no hash maps.
struct GraphTask {
  uint64_t id = next_walk_id++;
  std::vector<Node*> seen;  // every node of this walk, to drop leftover buffers at the end
  // grad() mode: (node, input_nr, index) whose incoming gradient is captured instead of executed
  std::vector<std::tuple<std::shared_ptr<Node>, uint32_t, size_t>> captures;
  TensorList captured;
  bool accumulate = true;
  ~GraphTask() {
    for (Node* n : seen) n->grads_in.clear();  // after an error, or for nodes that never ran
  }
  void visit(Node* n, std::vector<Node*>& stack) {
    if (n->walk_id == id) return;
    n->walk_id = id;
    n->pending = 0;
    n->grads_in.clear();
    n->grads_in.resize(n->num_outputs);
    seen.push_back(n);
    stack.push_back(n);
  }
};

// Validates one gradient a node produced for its input i and brings it to that input's shape/dtype.
Tensor check_grad(const Node& node, size_t i, Tensor g) {
  const InputMeta& m = node.input_meta[i];
  if (!same_shape(g.sizes(), m.shape)) {
    bool ok = static_cast<int64_t>(g.dim()) >= static_cast<int64_t>(m.shape.size());
    for (int64_t k = 0; ok && k < m.shape.size(); ++k) {
      int64_t gs = g.size(g.dim() - m.shape.size() + k);
      ok = gs == m.shape[k] || m.shape[k] == 1;
    }
    CTORCH_CHECK(ok, "Function {} returned an invalid gradient at index {} - got {} but expected shape compatible with {}",
                 node.name(), i, shape_str(g.sizes()), shape_str(m.shape));
    g = sum_to(g, m.shape);
  }
  if (g.dtype() != m.dtype) g = g.to(m.dtype);
  return g;
}

void add_to_buffer(Node* n, uint32_t slot, Tensor g) {
  Tensor& b = n->grads_in[slot];
  if (!b.defined()) b = std::move(g);
  else b = b + g;  // a tensor used twice gets the sum
}

void run(GraphTask& task, const std::vector<Edge>& roots, const TensorList& root_grads, bool retain_graph) {
  NoGradGuard no_grad;  // backward formulas compute values, they do not record (no create_graph yet)

  // 1. count how many edges lead into each node (iterative DFS)
  std::vector<Node*> stack;
  for (const Edge& e : roots)
    if (e.valid()) task.visit(e.fn.get(), stack);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      task.visit(e.fn.get(), stack);
      ++e.fn->pending;
    }
  }

  // 2. seed the roots' buffers
  auto cmp = [](Node* a, Node* b) { return a->sequence_nr < b->sequence_nr; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(cmp)> ready(cmp);
  for (size_t i = 0; i < roots.size(); ++i) add_to_buffer(roots[i].fn.get(), roots[i].input_nr, root_grads[i]);
  for (const Edge& e : roots)
    if (e.fn->pending == 0) {
      e.fn->pending = -1;  // queued
      ready.push(e.fn.get());
    }

  // 3. run nodes whose every consumer has delivered its gradient
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    TensorList inputs;
    inputs.reserve(n->grads_in.size());
    for (Tensor& g : n->grads_in) inputs.push_back(std::move(g));
    n->grads_in.clear();

    if (const Hooks* h = n->tensor_hooks(); h && !h->grad.empty()) run_grad_hooks(*h, inputs, n->name());
    for (auto& [node, slot, index] : task.captures)
      if (node.get() == n) task.captured[index] = inputs[slot];
    for (size_t i = 0; i < n->retained_outputs.size(); ++i) {
      auto t = n->retained_outputs[i].lock();
      if (!t || !inputs[i].defined()) continue;
      if (!t->grad) t->grad = inputs[i].contiguous().clone().impl_ptr();
      else Tensor(t->grad).add_(inputs[i]);
    }
    bool is_sink = dynamic_cast<AccumulateGrad*>(n) != nullptr;
    TensorList outputs;
    if (!is_sink || task.accumulate) outputs = n->apply(std::move(inputs));
    if (!retain_graph) n->release_saved();

    CTORCH_CHECK(outputs.size() == n->next_edges.size() || is_sink,
                 "Function {} returned {} gradients, expected {}", n->name(), outputs.size(), n->next_edges.size());
    for (size_t i = 0; i < n->next_edges.size(); ++i) {
      const Edge& e = n->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.fn.get();
      if (i < outputs.size() && outputs[i].defined()) add_to_buffer(next, e.input_nr, check_grad(*n, i, std::move(outputs[i])));
      if (--next->pending == 0) ready.push(next);
    }
  }
}

std::vector<Edge> root_edges(const TensorList& roots, const TensorList& grad_roots, TensorList& seeds) {
  CTORCH_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(),
               "backward: got {} tensors and {} gradients", roots.size(), grad_roots.size());
  std::vector<Edge> edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    CTORCH_CHECK(r.requires_grad(), "element {} of tensors does not require grad and does not have a grad_fn", i);
    Tensor g = grad_roots.empty() ? Tensor() : grad_roots[i];
    if (!g.defined()) {
      CTORCH_CHECK(r.numel() == 1, "grad can be implicitly created only for scalar outputs (got a tensor of shape {})",
                   shape_str(r.sizes()));
      g = ones_like(r);
    } else {
      CTORCH_CHECK(same_shape(g.sizes(), r.sizes()),
                   "Mismatch in shape: grad_output[{}] has a shape of {} and output[{}] has a shape of {}", i,
                   shape_str(g.sizes()), i, shape_str(r.sizes()));
      if (g.dtype() != r.dtype()) g = g.to(r.dtype());
    }
    edges.push_back(gradient_edge(r));
    seeds.push_back(g.detach());
  }
  return edges;
}

}  // namespace

void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph) {
  TensorList seeds;
  std::vector<Edge> edges = root_edges(roots, grad_roots, seeds);
  GraphTask task;
  run(task, edges, seeds, retain_graph);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                bool retain_graph, bool allow_unused) {
  TensorList seeds;
  std::vector<Edge> edges = root_edges(outputs, grad_outputs, seeds);
  GraphTask task;
  task.accumulate = false;
  task.captured.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    CTORCH_CHECK(inputs[i].requires_grad(), "grad: input {} does not require grad", i);
    Edge e = gradient_edge(inputs[i]);
    task.captures.emplace_back(e.fn, e.input_nr, i);
  }
  run(task, edges, seeds, retain_graph);
  for (size_t i = 0; i < inputs.size(); ++i)
    CTORCH_CHECK(task.captured[i].defined() || allow_unused,
                 "grad: one of the differentiated Tensors (input {}) appears to not have been used in the graph. "
                 "Set allow_unused=true if this is the desired behavior.", i);
  return task.captured;
}

}  // namespace ctorch::autograd

namespace ctorch {
void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph);
}
}  // namespace ctorch
