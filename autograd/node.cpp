#include "node.hpp"

#include <atomic>

#include "../core/format.hpp"

namespace ctorch {

namespace {
thread_local bool grad_enabled = true;
}
bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

namespace autograd {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};

// Tearing down a chain of 100,000 nodes must not recurse 100,000 deep: a dying node hands its
// edges to this list, and only the outermost destructor drains it, one node at a time.
thread_local std::vector<std::shared_ptr<Node>>* pending_release = nullptr;
}  // namespace

void release_graph(std::shared_ptr<Node>&& node) {
  if (!node) return;
  if (pending_release) {
    pending_release->push_back(std::move(node));
    return;
  }
  if (node.use_count() > 1) {  // not the last reference: nothing is destroyed here
    node.reset();
    return;
  }
  std::vector<std::shared_ptr<Node>> pending;
  pending_release = &pending;
  pending.push_back(std::move(node));
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    n.reset();  // if this was the last reference, ~Node pushes its own edges onto `pending`
  }
  pending_release = nullptr;
}

Node::Node(const char* name) : sequence_nr(next_sequence_nr++), name_(name) {}

Node::~Node() {
  for (Edge& e : next_edges) release_graph(std::move(e.fn));
}

Tensor SavedTensor::unpack(const char* node_name) const {
  if (t_.defined() && t_.version() != version_)
    throw Error(fmt::format(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[{} {}] is at version {}; expected version {} instead (saved by {})",
        dtype_name(t_.dtype()), shape_str(t_.sizes()), t_.version(), version_, node_name));
  return t_;
}

Tensor Saved::operator[](size_t i) const {
  CTORCH_CHECK(!released_,
               "Trying to backward through the graph a second time (or directly access saved tensors after they "
               "have already been freed). Saved intermediate values of the graph are freed when you call "
               ".backward() or autograd::grad(). Specify retain_graph=true if you need to backward through the "
               "graph a second time (node {})",
               node_.name());
  return saved_[i].unpack(node_.name());
}
bool Saved::needs_grad(size_t input) const {
  return input < node_.next_edges.size() && node_.next_edges[input].valid();
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad"), leaf(std::move(leaf)) {
  sequence_nr = UINT64_MAX;  // run as soon as ready, like PyTorch
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor& g = grads[0];
  if (!g.defined()) return {};
  if (!leaf->grad) {
    // Keep the engine's buffer when nobody else holds it; copy an expanded or shared one.
    bool owned = g.impl_ptr().use_count() == 1 && g.is_contiguous() && g.impl()->storage.use_count() == 1;
    leaf->grad = owned ? g.impl_ptr() : g.contiguous().clone().impl_ptr();
  } else {
    Tensor(leaf->grad).add_(g);
  }
  if (leaf->hooks && !leaf->hooks->post_accumulate.empty()) {
    auto hooks = leaf->hooks->post_accumulate;  // a hook may remove hooks
    Tensor param(leaf);
    for (auto& h : hooks) h.fn(param);
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = make_pooled<AccumulateGrad>(t.impl_ptr());
    acc->input_meta.push_back({Shape(t.sizes()), t.dtype()});
    impl->grad_accumulator = acc;
  }
  return {acc, 0};
}

void connect(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  node->next_edges.reserve(inputs.size());
  node->input_meta.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) {
      node->next_edges.push_back(gradient_edge(t));
      node->input_meta.push_back({Shape(t.sizes()), t.dtype()});
    } else {
      node->next_edges.push_back({});
      node->input_meta.push_back({Shape(), kFloat32});
    }
  }
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* o = outputs[i].impl();
    CTORCH_CHECK(is_floating_point(o->dtype), "{}: only floating point outputs can require gradients, got {}",
                 node->name(), dtype_name(o->dtype));
    o->grad_fn = node;
    o->output_nr = static_cast<uint32_t>(i);
    o->requires_grad = true;
  }
}

}  // namespace autograd

// ---- the autograd face of Tensor ----

Tensor& Tensor::requires_grad_(bool r) {
  TensorImpl* t = checked();
  CTORCH_CHECK(is_leaf() || r,
               "requires_grad_: you can only change requires_grad flags of leaf variables. If you want to use a "
               "computed variable in a subgraph that doesn't require differentiation use detach()");
  CTORCH_CHECK(!r || ctorch::is_floating_point(t->dtype), "requires_grad_: only Tensors of floating point dtype can require gradients, got {}",
               dtype_name(t->dtype));
  t->requires_grad = r;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(checked()->grad); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined())
    CTORCH_CHECK(same_shape(g.sizes(), sizes()) && g.dtype() == dtype(),
                 "set_grad: assigned grad has shape {} and dtype {}, but the tensor has shape {} and dtype {}",
                 shape_str(g.sizes()), dtype_name(g.dtype()), shape_str(sizes()), dtype_name(dtype()));
  checked()->grad = g.impl_ptr();
}

void Tensor::retain_grad() const {
  TensorImpl* t = checked();
  CTORCH_CHECK(t->requires_grad, "retain_grad: can't retain_grad on a Tensor that has requires_grad=false");
  if (!t->grad_fn || t->retains_grad) return;  // leaves keep their grad anyway
  t->retains_grad = true;
  auto& r = t->grad_fn->retained_outputs;
  if (r.size() < t->grad_fn->num_outputs) r.resize(t->grad_fn->num_outputs);
  r[t->output_nr] = impl_;
}

Tensor Tensor::detach() const {
  TensorImpl* t = checked();
  return Tensor(make_pooled<TensorImpl>(t->storage, t->sizes, t->strides, t->offset, t->dtype));
}

Tensor& Tensor::detach_() {
  TensorImpl* t = checked();
  t->grad_fn.reset();
  t->requires_grad = false;
  return *this;
}

std::string Tensor::str() const {
  const TensorImpl* t = checked();
  StridedView v{t->dtype, t->sizes, t->strides, raw_data()};
  return format_tensor(v, t->requires_grad && !t->grad_fn, t->grad_fn ? t->grad_fn->name() : nullptr);
}

}  // namespace ctorch
