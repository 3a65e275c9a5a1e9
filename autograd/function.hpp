#pragma once
// User-defined differentiable functions, as in PyTorch (torch.autograd.Function) and libtorch:
//
//   struct LegendrePolynomial3 : ctorch::autograd::Function<LegendrePolynomial3> {
//     static Tensor forward(AutogradContext* ctx, const Tensor& x) {
//       ctx->save_for_backward({x});
//       return 0.5 * (5 * x.pow(3) - 3 * x);
//     }
//     static TensorList backward(AutogradContext* ctx, TensorList grad_outputs) {
//       Tensor x = ctx->get_saved_variables()[0];
//       return {grad_outputs[0] * 1.5 * (5 * x.pow(2) - 1)};
//     }
//   };
//   Tensor y = LegendrePolynomial3::apply(x);
//
// forward runs without recording; backward receives one gradient per output and returns one per
// tensor argument of forward (undefined for those that need none).
#include <map>
#include <string>
#include <type_traits>

#include "grad_mode.hpp"
#include "node.hpp"

namespace ctorch::autograd {

class AutogradContext {
 public:
  // Kept detached (same data and version counter): a saved output would otherwise hold the node
  // that holds it, a cycle that is never freed. backward runs without recording anyway.
  void save_for_backward(const TensorList& ts) {
    saved_.clear();
    for (const Tensor& t : ts) saved_.emplace_back(t.defined() ? t.detach() : t);
  }
  TensorList get_saved_variables() const {
    CTORCH_CHECK(!released_, "Trying to backward through the graph a second time (or directly access saved tensors "
                 "after they have already been freed); specify retain_graph=true");
    TensorList out;
    for (const SavedTensor& s : saved_) out.push_back(s.unpack("CppNode"));
    return out;
  }
  bool needs_input_grad(size_t i) const { return i < needs_.size() && needs_[i]; }
  std::map<std::string, double> saved_data;  // non-tensor values forward wants backward to see

  void release() { saved_.clear(), released_ = true; }
  std::vector<bool> needs_;

 private:
  std::vector<SavedTensor> saved_;
  bool released_ = false;
};

template <class T>
struct CppNode : Node {
  CppNode() : Node("CppNode") {}
  TensorList apply(TensorList&& grads) override {
    for (size_t i = 0; i < grads.size(); ++i)
      if (!grads[i].defined()) grads[i] = zeros_like_meta(i);
    TensorList out = T::backward(&ctx, grads);
    CTORCH_CHECK(out.size() >= next_edges.size(),
                 "function backward returned an incorrect number of gradients (expected {}, got {})",
                 next_edges.size(), out.size());
    out.resize(next_edges.size());
    return out;
  }
  void release_saved() override { ctx.release(); }
  Tensor zeros_like_meta(size_t i) const;
  AutogradContext ctx;
  std::vector<InputMeta> output_meta;
};

Tensor zeros_for(const InputMeta& m);

template <class T>
Tensor CppNode<T>::zeros_like_meta(size_t i) const { return zeros_for(output_meta[i]); }

template <class Derived>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    TensorList inputs;
    auto collect = [&](const auto& a) {
      if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Tensor>) inputs.push_back(a);
    };
    (collect(args), ...);
    auto node = std::make_shared<CppNode<Derived>>();
    for (const Tensor& t : inputs) node->ctx.needs_.push_back(t.requires_grad());
    auto result = [&] {
      NoGradGuard no_grad;
      return Derived::forward(&node->ctx, std::forward<Args>(args)...);
    }();
    bool any = false;
    for (const Tensor& t : inputs) any = any || t.requires_grad();
    if (!any || !GradMode::is_enabled()) return result;
    TensorList outputs;
    if constexpr (std::is_same_v<decltype(result), Tensor>) outputs = {result};
    else outputs = result;
    // An output that is an input (or shares its impl) is replaced by a fresh alias, so that
    // the input keeps its own history.
    for (Tensor& o : outputs) {
      for (const Tensor& in : inputs)
        if (o.is_same(in)) o = o.detach();
      node->output_meta.push_back({Shape(o.sizes()), o.dtype()});
    }
    connect(node, inputs, outputs);
    if constexpr (std::is_same_v<decltype(result), Tensor>) return outputs[0];
    else return outputs;
  }
};

}  // namespace ctorch::autograd
