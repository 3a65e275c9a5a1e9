#pragma once
// Embedding lookup: rows of a weight table picked by int64 indices, and its adjoint, which adds
// each incoming gradient row back into the row it was read from.
#include <optional>

#include "../core/tensor.hpp"

namespace ctorch {

// torch.nn.functional.embedding: input int64 indices of any shape, weight [num_embeddings, dim];
// the result has shape input.shape + [dim]. Indices must lie in [0, num_embeddings): out of range
// is an error naming the index. padding_idx (negative counts from the end, as in PyTorch): the
// rows read at that index get no gradient, so the weight's padding row never changes in training.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = {});

}  // namespace ctorch
