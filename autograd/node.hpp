#pragma once
// The graph. Every differentiable op that runs with grad mode on and an input that requires grad
// records one Node: the rule that turns the gradient of its output into gradients of its inputs,
// plus edges to the nodes that produced those inputs. backward() (engine.cpp) walks the nodes in
// reverse topological order.
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "../core/small_vector.hpp"
#include "../core/tensor.hpp"
#include "grad_mode.hpp"
#include "hooks.hpp"

namespace ctorch::autograd {

struct Node;

// Where the gradient of one input goes: input `input_nr` of node `fn` (for a leaf that requires
// grad, its AccumulateGrad node). An empty edge means "this input needs no gradient".
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

// What the engine needs to know of each input: the gradient is summed back to this shape (undoing
// broadcasting, once, for every op) and cast to this dtype.
struct InputMeta {
  Shape shape;
  ScalarType dtype;
};

struct Node {
  explicit Node(const char* name);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients of the outputs in, gradients of the inputs out (one per next_edges entry;
  // an undefined Tensor for an input that gets none).
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  // Frees what the node saved for backward; called after backward unless retain_graph.
  virtual void release_saved() {}

  const char* name() const { return name_; }
  // The grad hooks that apply to this node's incoming gradients (a leaf's, for its AccumulateGrad).
  virtual const Hooks* tensor_hooks() const { return hooks.get(); }

  SmallVector<Edge, 3> next_edges;       // one per input
  SmallVector<InputMeta, 3> input_meta;  // one per input
  uint32_t num_outputs = 1;
  uint64_t sequence_nr;                  // creation order: later nodes run first in backward
  std::vector<std::weak_ptr<TensorImpl>> retained_outputs;  // non-leaf outputs that retain_grad()
  std::shared_ptr<Hooks> hooks;          // register_hook on this node's outputs

  // Scratch space of the engine's walk (engine.cpp), valid while walk_id is the current walk's.
  uint64_t walk_id = 0;
  int64_t pending = 0;               // consumers that have not delivered their gradient yet
  SmallVector<Tensor, 1> grads_in;   // gradients of the outputs, summed as they arrive

 private:
  const char* name_;
};

// A tensor saved for backward, with the version it had when saved: using it after an in-place
// change is an error, not a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t) : t_(t), version_(t.defined() ? t.version() : 0) {}
  Tensor unpack(const char* node_name) const;

 private:
  Tensor t_;
  uint32_t version_ = 0;
};

// The saved tensors as a backward rule sees them: s[i] checks the version and returns the tensor.
// needs_grad(i) tells whether input i wants a gradient at all, so a rule can skip the work.
class Saved {
 public:
  Saved(std::span<const SavedTensor> saved, const Node& node, bool released)
      : saved_(saved), node_(node), released_(released) {}
  Tensor operator[](size_t i) const;  // throws once backward has freed the saved tensors
  size_t size() const { return saved_.size(); }
  bool needs_grad(size_t input) const;

 private:
  std::span<const SavedTensor> saved_;
  const Node& node_;
  bool released_;
};

// A node whose backward rule is a lambda written beside the op's forward (see ops/). The lambda
// is stored as is (no std::function, no allocation); it may capture values such as shapes.
template <class F>
struct LambdaNode : Node {
  LambdaNode(const char* name, SmallVector<SavedTensor, 3> saved, F fn)
      : Node(name), saved_(std::move(saved)), fn_(std::move(fn)) {}
  TensorList apply(TensorList&& grads) override {
    return fn_(Saved({saved_.data(), saved_.size()}, *this, released_), grads[0]);
  }
  // The rule stays (a graph that saved nothing can run again, as in PyTorch); the tensors go.
  void release_saved() override {
    saved_.clear();
    released_ = true;
  }

 private:
  SmallVector<SavedTensor, 3> saved_;
  F fn_;
  bool released_ = false;
};

// The sink of a leaf's gradient: adds it into leaf.grad().
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  TensorList apply(TensorList&& grads) override;  // then runs the leaf's post-accumulate hooks
  const Hooks* tensor_hooks() const override { return leaf->hooks.get(); }
  std::shared_ptr<TensorImpl> leaf;
};

// The edge along which the gradient of `t` flows (creates the leaf's AccumulateGrad once).
Edge gradient_edge(const Tensor& t);

// Attaches `node` to `outputs` (node output i = outputs[i]) and wires its edges to `inputs`.
void connect(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs, std::span<const Tensor> outputs);
inline void connect(const std::shared_ptr<Node>& node, const TensorList& inputs, const TensorList& outputs) {
  connect(node, std::span<const Tensor>(inputs), std::span<const Tensor>(outputs));
}

// Whether an op with these inputs records a node: grad mode on and some input requires grad.
inline bool should_record(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// The one call every differentiable op makes:
//   return record("MulBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {...});
// Records nothing (no node, no saved tensors, no closure) when no input needs a gradient.
template <class F>
Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs,
              std::initializer_list<Tensor> saved, F&& backward) {
  if (!should_record(inputs)) return out;
  SmallVector<SavedTensor, 3> s;
  s.reserve(saved.size());
  for (const Tensor& t : saved) s.push_back(SavedTensor(t));
  auto node = make_pooled<LambdaNode<std::decay_t<F>>>(name, std::move(s), std::forward<F>(backward));
  connect(node, std::span<const Tensor>(inputs.begin(), inputs.size()), std::span<const Tensor>(&out, 1));
  return out;
}

// Builds the grad list of a backward rule: grads(ga, gb).
template <class... T> TensorList grads(T&&... g) { return TensorList{std::forward<T>(g)...}; }

}  // namespace ctorch::autograd
