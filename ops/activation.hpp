#pragma once
// Activations and the (log-)softmax that classification losses build on.
#include "../core/tensor.hpp"

namespace ctorch {

Tensor relu(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor softmax(const Tensor& a, int64_t dim);
Tensor log_softmax(const Tensor& a, int64_t dim);

}  // namespace ctorch
