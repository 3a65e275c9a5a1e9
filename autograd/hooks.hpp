#pragma once
// Tensor hooks, as in PyTorch:
//   t.register_hook(fn)                      fn(grad) runs when the gradient of t has been computed,
//                                            before it flows on (or, for a leaf, before it is
//                                            added into t.grad()); it may return a replacement.
//   p.register_post_accumulate_grad_hook(fn) fn(p) runs right after the gradient of the leaf p has
//                                            been added into p.grad() (torch 2.1): the place to
//                                            update p while its fresh gradient is still in cache.
// Both return a HookHandle whose remove() unregisters the hook.
//
// A non-leaf's hooks live on its grad_fn (keyed by which output it is), so they fire even when the
// tensor itself is gone by the time backward runs; a leaf's hooks live on the leaf. The engine
// runs grad hooks in registration order, then fills retained grads (retain_grad sees the
// hooked value, as in torch 2.x).
#include <cstdint>
#include <functional>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::autograd {

struct Hooks {
  struct GradHook {
    uint64_t id;
    uint32_t output_nr;  // which output of the node (0 for a leaf)
    std::function<Tensor(const Tensor&)> fn;
  };
  struct PostAccumulateHook {
    uint64_t id;
    std::function<void(const Tensor&)> fn;
  };
  std::vector<GradHook> grad;
  std::vector<PostAccumulateHook> post_accumulate;
  uint64_t next_id = 0;
};

// Runs the grad hooks of `hooks` on `grads` (one gradient per output of the node), replacing each
// gradient a hook returns a tensor for. `owner` names the node in error messages.
void run_grad_hooks(const Hooks& hooks, TensorList& grads, const char* owner);

}  // namespace ctorch::autograd
