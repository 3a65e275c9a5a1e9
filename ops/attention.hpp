#pragma once
// Scaled dot-product attention: softmax(q k^T / sqrt(E) + mask) v.
//
// Shapes: q [*, L, E] (L queries), k [*, S, E] (S keys), v [*, S, Ev], with the same batch dims *
// on all three. The probabilities are computed by one fused op (a batched sgemm, then scale, mask
// and softmax in one pass over each row; backward a closed formula), the product with v by the
// batched matmul of ops/linalg.
//
// Masks (attn_mask), broadcastable to [*, L, S], of either kind:
//   bool:     true = masked out (the score becomes -inf). This is nn::MultiheadAttention's (and
//             torch 1.13's MultiheadAttention's) convention; NOTE: torch 2.x's
//             F.scaled_dot_product_attention reads a bool mask the other way round (true = attend).
//   floating: added to the scaled scores (0 keeps, -inf masks, anything else biases); it gets a
//             gradient when it requires one.
// is_causal: query i attends to the keys j <= i only (aligned at the top left when L != S, as
// torch's); it may be combined with attn_mask. A query whose keys are all masked gets NaN
// probabilities, as in PyTorch.
#include <optional>

#include "../core/tensor.hpp"

namespace ctorch {

// The attention probabilities softmax(q k^T * scale + mask) over the last dim, shape [*, L, S];
// scale defaults to 1 / sqrt(E).
Tensor attention_weights(const Tensor& query, const Tensor& key, const Tensor& attn_mask = {}, bool is_causal = false,
                         std::optional<double> scale = {});

// attention_weights(query, key, attn_mask, is_causal) @ value: [*, L, Ev].
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, bool is_causal = false);

}  // namespace ctorch
