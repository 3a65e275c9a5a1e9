#include "hooks.hpp"

#include <algorithm>

#include "../core/format.hpp"
#include "node.hpp"

namespace ctorch::autograd {

void run_grad_hooks(const Hooks& hooks, TensorList& grads, const char* owner) {
  auto list = hooks.grad;  // a hook may register or remove hooks
  for (const Hooks::GradHook& h : list) {
    if (h.output_nr >= grads.size()) continue;
    Tensor& g = grads[h.output_nr];
    if (!g.defined()) continue;
    Tensor r = h.fn(g);
    if (!r.defined()) continue;
    CTORCH_CHECK(same_shape(r.sizes(), g.sizes()) && r.dtype() == g.dtype(),
                 "register_hook: a hook on output {} of {} returned a gradient of shape {} and dtype {}, expected "
                 "shape {} and dtype {}",
                 h.output_nr, owner, shape_str(r.sizes()), dtype_name(r.dtype()), shape_str(g.sizes()),
                 dtype_name(g.dtype()));
    g = std::move(r);
  }
}

}  // namespace ctorch::autograd

namespace ctorch {

void RemovableHandle::remove() {
  auto hooks = hooks_.lock();
  if (!hooks) return;
  std::erase_if(hooks->grad, [&](const auto& h) { return h.id == id_; });
  std::erase_if(hooks->post_accumulate, [&](const auto& h) { return h.id == id_; });
  hooks_.reset();
}

RemovableHandle Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  TensorImpl* t = checked();
  CTORCH_CHECK(t->requires_grad, "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  CTORCH_CHECK(static_cast<bool>(hook), "register_hook: the hook is empty");
  std::shared_ptr<autograd::Hooks>& hooks = t->grad_fn ? t->grad_fn->hooks : t->hooks;
  if (!hooks) hooks = std::make_shared<autograd::Hooks>();
  uint64_t id = hooks->next_id++;
  hooks->grad.push_back({id, t->grad_fn ? t->output_nr : 0, std::move(hook)});
  return RemovableHandle(hooks, id);
}

RemovableHandle Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  TensorImpl* t = checked();
  CTORCH_CHECK(t->requires_grad,
               "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require gradient");
  CTORCH_CHECK(!t->grad_fn,
               "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on non-leaf "
               "tensors (this one was produced by {})",
               t->grad_fn->name());
  CTORCH_CHECK(static_cast<bool>(hook), "register_post_accumulate_grad_hook: the hook is empty");
  if (!t->hooks) t->hooks = std::make_shared<autograd::Hooks>();
  uint64_t id = t->hooks->next_id++;
  t->hooks->post_accumulate.push_back({id, std::move(hook)});
  return RemovableHandle(t->hooks, id);
}

}  // namespace ctorch
