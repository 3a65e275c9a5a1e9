#pragma once
// Indexing that gathers and its adjoint that scatters: the gradient of a gather is a scatter-add
// of the incoming gradient, and the other way round. Indices are int64 tensors.
#include "../core/tensor.hpp"

namespace ctorch {

Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index);
Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source);
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source);

}  // namespace ctorch
