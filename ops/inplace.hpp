#pragma once
// In-place updates (add_, mul_, copy_, ...). Outside autograd they write straight into the
// storage. When the graph is being recorded, the op runs out of place on an alias that carries
// the tensor's old history, the result is written back, and the tensor takes the new node as its
// grad_fn (PyTorch's "rebase history"). Either way the version counter goes up, so a tensor that
// backward saved earlier is known to be stale.
#include "../autograd/grad_mode.hpp"
#include "../autograd/node.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

template <class Differentiable, class F>
Tensor& inplace_update(Tensor& self, const Tensor& other, const char* op, Differentiable&& differentiable, F&& f) {
  bool track = GradMode::is_enabled() && (self.requires_grad() || other.requires_grad());
  TensorImpl* s = self.impl();
  if (!track) {
    kernels::inplace(self, other, op, f);
    ++s->storage->version;
    return self;
  }
  CTORCH_CHECK(!(self.is_leaf() && self.requires_grad()),
               "{}: a leaf Variable that requires grad is being used in an in-place operation.", op);
  CTORCH_CHECK(!s->is_view,
               "{}: in-place operations on views are not differentiable in ctorch yet; use the out-of-place op "
               "(tensor of shape {})", op, shape_str(self.sizes()));
  // The op sees the old values through an alias with the old history. The alias gets its own copy
  // of the data: a rule that saves it (mul_, div_, clamp_) must not see it overwritten below.
  Tensor old = empty(self.sizes(), self.dtype());
  kernels::copy(old, self);
  const std::shared_ptr<TensorImpl>& alias = old.impl_ptr();
  alias->grad_fn = s->grad_fn;
  alias->output_nr = s->output_nr;
  alias->requires_grad = s->requires_grad;
  Tensor r = differentiable(old);
  CTORCH_CHECK(same_shape(r.sizes(), self.sizes()), "{}: the result of shape {} does not fit the tensor's shape {}", op,
               shape_str(r.sizes()), shape_str(self.sizes()));
  kernels::copy(self, r);
  ++s->storage->version;
  s->grad_fn = r.impl()->grad_fn;
  s->output_nr = r.impl()->output_nr;
  s->requires_grad = true;
  return self;
}

}  // namespace ctorch
