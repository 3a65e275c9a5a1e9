#pragma once
// Shape ops. Views (view, transpose, permute, unsqueeze, squeeze, narrow, slice, select, expand)
// share storage with their input; their backward rules put the gradient back in the input's shape.
#include "../core/tensor.hpp"

namespace ctorch {

Tensor cat(const TensorList& tensors, int64_t dim = 0);
Tensor stack(const TensorList& tensors, int64_t dim = 0);

}  // namespace ctorch
