#pragma once
// gradcheck: compares the analytic gradients of f (from backward) with central finite
// differences, with PyTorch's defaults (eps 1e-6, atol 1e-5, rtol 1e-3). Inputs should be float64
// tensors that require grad. Throws ctorch::Error naming the input, output and element on
// mismatch; returns true otherwise.
#include <functional>

#include "../core/tensor.hpp"

namespace ctorch::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

bool gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
               GradcheckOptions opts = {});

}  // namespace ctorch::autograd
