#pragma once
// Matrix products with PyTorch's matmul rules; float types run on OpenBLAS sgemm/dgemm.
#include "../core/tensor.hpp"

namespace ctorch {

// 1-D x 1-D: dot; 2-D x 2-D: matrix product; N-D: batched, batch dims broadcast; a 1-D operand
// is treated as a row (left) or column (right) vector and that dim is dropped from the result.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);  // strictly 2-D
Tensor dot(const Tensor& a, const Tensor& b);  // strictly 1-D

// y = x W^T + b over the last dim of x (x [*, in], W [out, in], b [out] or undefined): one sgemm
// with the bias already in the output (beta = 1), the hot path of every MLP.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});

// Solves the least-squares problem min ||a x - b|| through LAPACK (gels). No gradient.
Tensor lstsq(const Tensor& a, const Tensor& b);

}  // namespace ctorch
