#pragma once
// nn::functional (torch.nn.functional): the stateless forms of the layers and losses.
//   namespace F = ctorch::nn::functional;  F::relu(x), F::cross_entropy(logits, labels)
#include <optional>
#include <string>

#include "../core/tensor.hpp"
#include "../ops/activation.hpp"
#include "../ops/attention.hpp"
#include "../ops/embedding.hpp"
#include "../ops/linalg.hpp"
#include "../ops/normalization.hpp"

namespace ctorch::nn::functional {

using ctorch::embedding;  // embedding(input, weight, padding_idx)
using ctorch::gelu;
using ctorch::layer_norm;  // layer_norm(input, normalized_shape, weight, bias, eps = 1e-5)
using ctorch::linear;
using ctorch::log_softmax;
using ctorch::relu;
// scaled_dot_product_attention(q, k, v, attn_mask, is_causal): a bool mask's true = masked out
// (MultiheadAttention's convention), a float mask is added; see ops/attention.hpp.
using ctorch::scaled_dot_product_attention;
using ctorch::sigmoid;
using ctorch::softmax;
using ctorch::tanh;

// Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p) in
// training; the identity otherwise. Draws from the global generator as PyTorch does.
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true);
Tensor flatten(const Tensor& input, int64_t start_dim = 1, int64_t end_dim = -1);

// ---- losses; reduction is "mean" (default), "sum" or "none", as in PyTorch ----
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                  double delta = 1.0);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);

struct CrossEntropyOptions {
  Tensor weight;               // per-class weight [C], or undefined
  int64_t ignore_index = -100;
  std::string reduction = "mean";
  double label_smoothing = 0.0;
};
// input: logits [N, C] (or [C], or [N, C, d1, ...]); target: int64 class indices [N] (or
// [N, d1, ...]) or class probabilities shaped like input. Computed as a fused log-softmax + NLL
// whose backward is softmax - target, so huge logits stay finite.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options = {});

struct NLLLossOptions {
  Tensor weight;
  int64_t ignore_index = -100;
  std::string reduction = "mean";
};
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});

// Binary cross-entropy on probabilities (log clamped at -100, as PyTorch) and on logits.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                            const std::string& reduction = "mean");
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                                        const std::string& reduction = "mean", const Tensor& pos_weight = {});

// Hinge losses: for targets in {1, -1} (x if y = 1, max(0, margin - x) if y = -1), and the
// multi-class margin loss sum_{i != y} max(0, margin - x[y] + x[i])^p / C.
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, double margin = 1.0,
                            const std::string& reduction = "mean");
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p = 1, double margin = 1.0,
                         const Tensor& weight = {}, const std::string& reduction = "mean");

}  // namespace ctorch::nn::functional
