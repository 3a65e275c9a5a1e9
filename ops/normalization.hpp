#pragma once
// Normalization as one fused differentiable op: the forward is a single pass per row, and the
// backward is the closed formula written beside it (no graph of means, variances and divisions).
#include <initializer_list>

#include "../core/tensor.hpp"

namespace ctorch {

// torch.nn.functional.layer_norm. The last normalized_shape.size() dims of `input` must equal
// normalized_shape; each of the M = numel / N rows of N = prod(normalized_shape) elements becomes
//   y = (x - mean) / sqrt(var + eps) * weight + bias
// with the biased variance (divided by N, as PyTorch does) and eps inside the square root.
// weight and bias have shape normalized_shape, or are undefined (no affine part). Float32 and
// float64; means, variances and x - mean are computed in double (torch 1.13's float32 kernel works in
// float and loses digits when |mean| >> std: there ctorch is closer to the exact result).
Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
inline Tensor layer_norm(const Tensor& input, std::initializer_list<int64_t> normalized_shape,
                         const Tensor& weight = {}, const Tensor& bias = {}, double eps = 1e-5) {
  return layer_norm(input, IntArrayRef(normalized_shape.begin(), normalized_shape.size()), weight, bias, eps);
}

}  // namespace ctorch
