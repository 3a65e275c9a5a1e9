#pragma once
// Activations and the (log-)softmax that classification losses build on.
#include <string>

#include "../core/tensor.hpp"

namespace ctorch {

Tensor relu(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
// GELU: x Phi(x) with the exact erf (PyTorch's default), or the tanh approximation ("tanh").
Tensor gelu(const Tensor& a, const std::string& approximate = "none");
Tensor softmax(const Tensor& a, int64_t dim);
Tensor log_softmax(const Tensor& a, int64_t dim);

}  // namespace ctorch
