#pragma once
// nn::MultiheadAttention and nn::TransformerEncoderLayer, as torch.nn's (1.13): the same
// parameters under the same names (state_dicts load both ways), drawn in the same order (a seeded
// build gives torch's very weights), the same masks and the same forward math.
//
// Shapes: E = embed_dim (d_model), H heads of E / H, N batch, L target and S source lengths.
// With batch_first = false (the default, as torch) sequences are [L, N, E]; with batch_first =
// true [N, L, E]; an unbatched [L, E] works with either.
//
// Masks, as torch 1.13's MultiheadAttention reads them:
//   key_padding_mask [N, S] (or [S] unbatched): bool, true = this key is padding and ignored; or
//     floating, added to the scores.
//   attn_mask [L, S] or [N * H, L, S]: bool, true = not allowed to attend; or floating, added.
// A query that may attend to no key at all gets NaN, as in torch.
//
// Not supported (torch options that are off by default): kdim / vdim different from embed_dim,
// add_bias_kv, add_zero_attn; a custom callable activation (only "relu" and "gelu").
#include <string>
#include <tuple>

#include "layers.hpp"
#include "normalization.hpp"

namespace ctorch::nn {

// The out_proj of MultiheadAttention: a Linear under the name torch prints for it.
class NonDynamicallyQuantizableLinearImpl : public LinearImpl {
 public:
  using LinearImpl::LinearImpl;
  std::string name() const override { return "NonDynamicallyQuantizableLinear"; }
};
CTORCH_MODULE(NonDynamicallyQuantizableLinear);

class MultiheadAttentionImpl : public Module {
 public:
  // Parameters, in torch's order: in_proj_weight [3E, E] (xavier_uniform_), in_proj_bias [3E]
  // (zeros), out_proj.weight [E, E] and out_proj.bias [E] (Linear's init, then the bias zeroed).
  // Like torch, out_proj draws its Linear init before in_proj_weight's xavier_uniform_.
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                         bool batch_first = false, ScalarType dtype = kFloat32);

  // Returns (attn_output, attn_weights): the output has query's layout; the weights are [N, L, S]
  // averaged over heads (average_attn_weights) or [N, H, L, S] per head, undefined when
  // need_weights is false. The weights are the softmax probabilities after attention dropout, as
  // torch returns them. key and value may be the query itself (self-attention: one in-projection).
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {}, bool average_attn_weights = true);
  void reset_parameters();  // torch's _reset_parameters (no new draws for out_proj)

  int64_t embed_dim, num_heads, head_dim;
  double dropout;
  bool batch_first;
  Tensor in_proj_weight, in_proj_bias;  // in_proj_bias undefined when bias = false
  NonDynamicallyQuantizableLinear out_proj{nullptr};
};
CTORCH_MODULE(MultiheadAttention);

// Post-norm (default) or pre-norm (norm_first) encoder layer:
//   post: x = norm1(x + dropout1(self_attn(x))); x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))
//   pre:  x = x + dropout1(self_attn(norm1(x))); x = x + dropout2(linear2(dropout(act(linear1(norm2(x))))))
// Submodules in torch's order and names: self_attn, linear1, dropout, linear2, norm1, norm2,
// dropout1, dropout2.
class TransformerEncoderLayerImpl : public Module {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1,
                              std::string activation = "relu", double layer_norm_eps = 1e-5,
                              bool batch_first = false, bool norm_first = false, ScalarType dtype = kFloat32);
  Tensor forward(const Tensor& src) override { return forward(src, Tensor(), Tensor()); }
  // src_mask: attn_mask of self_attn ([L, L] or [N * H, L, L]); src_key_padding_mask: [N, L].
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});

  MultiheadAttention self_attn{nullptr};
  Linear linear1{nullptr};
  Dropout dropout{nullptr};
  Linear linear2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr};
  Dropout dropout1{nullptr}, dropout2{nullptr};
  std::string activation;  // "relu" or "gelu" (exact erf form); a function, not a submodule, as in torch
  bool norm_first;

 private:
  Tensor sa_block(const Tensor& x, const Tensor& attn_mask, const Tensor& key_padding_mask);
  Tensor ff_block(const Tensor& x);
};
CTORCH_MODULE(TransformerEncoderLayer);

}  // namespace ctorch::nn
