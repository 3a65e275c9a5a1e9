#pragma once
// backward(): reverse-mode differentiation over the recorded graph.
#include <optional>

#include "../core/tensor.hpp"

namespace ctorch::autograd {

// Accumulates d(sum of roots * grad_roots)/d(leaf) into every leaf's .grad(). A scalar root may
// omit its gradient (1 is used). The graph's saved tensors are freed unless retain_graph.
void backward(const TensorList& roots, const TensorList& grad_roots = {}, bool retain_graph = false);

// Returns the gradients of `outputs` with respect to `inputs` without touching any .grad()
// (torch.autograd.grad). An input that the outputs do not depend on gets an undefined tensor,
// or an error unless allow_unused.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                bool retain_graph = false, bool allow_unused = false);

// Sums a gradient back to `shape`, undoing broadcasting: the one place this happens.
Tensor sum_to(const Tensor& g, IntArrayRef shape);

}  // namespace ctorch::autograd
