#include "transformer.hpp"

#include <cmath>
#include <limits>

#include "../core/factories.hpp"
#include "../ops/attention.hpp"
#include "../ops/elementwise.hpp"
#include "../ops/linalg.hpp"
#include "../ops/shape.hpp"
#include "init.hpp"

namespace ctorch::nn {

// ---- MultiheadAttention ----

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t E, int64_t H, double p, bool bias, bool bf, ScalarType dtype)
    : embed_dim(E), num_heads(H), head_dim(H > 0 ? E / H : 0), dropout(p), batch_first(bf) {
  CTORCH_CHECK(E > 0 && H > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got {} and {}", E, H);
  CTORCH_CHECK(E % H == 0, "MultiheadAttention: embed_dim {} must be divisible by num_heads {}", E, H);
  CTORCH_CHECK(p >= 0 && p <= 1, "MultiheadAttention: dropout probability has to be between 0 and 1, but got {}", p);
  CTORCH_CHECK(is_floating_point(dtype), "MultiheadAttention: dtype must be floating point, got {}", dtype_name(dtype));
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}, dtype));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * E}, dtype));
  out_proj = NonDynamicallyQuantizableLinear(E, E, bias, dtype);  // draws its Linear init here, as torch's
  register_module("out_proj", out_proj);
  reset_parameters();
}

void MultiheadAttentionImpl::reset_parameters() {
  init::xavier_uniform_(in_proj_weight);
  if (in_proj_bias.defined()) {
    init::constant_(in_proj_bias, 0.0);
    init::constant_(out_proj->bias, 0.0);
  }
}

namespace {

constexpr const char* kMha = "MultiheadAttention";

// A projection [A, B, parts * E] (A, B = L, N for sequence-first input, N, L for batch-first) as
// one contiguous [parts, N, H, len, head_dim] tensor: the heads' batched layout, one copy.
Tensor split_heads(const Tensor& proj, int64_t parts, int64_t H, int64_t hd, bool batch_first) {
  Tensor t = proj.view({proj.size(0), proj.size(1), parts, H, hd});
  return (batch_first ? t.permute({2, 0, 3, 1, 4}) : t.permute({2, 1, 3, 0, 4})).contiguous();
}

Tensor neg_inf_where(const Tensor& mask, const Tensor& like) {
  return where(mask, scalar_tensor(-std::numeric_limits<double>::infinity(), like.dtype()), zeros({}, like.dtype()));
}

// Checks a mask's dtype: bool, or floating (then converted to the query's dtype).
Tensor mask_as(const Tensor& m, const Tensor& query, const char* what) {
  CTORCH_CHECK(m.dtype() == kBool || m.is_floating_point(),
               "{}: only bool and floating types of {} are supported, got {} (shape {})", kMha, what, dtype_name(m.dtype()),
               shape_str(m.sizes()));
  return m.dtype() == kBool || m.dtype() == query.dtype() ? m : m.to(query.dtype());
}

}  // namespace

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query_in, const Tensor& key_in,
                                                           const Tensor& value_in, const Tensor& key_padding_mask,
                                                           bool need_weights, const Tensor& attn_mask,
                                                           bool average_attn_weights) {
  const int64_t E = embed_dim, H = num_heads, hd = head_dim;
  CTORCH_CHECK(query_in.dim() == 3 || query_in.dim() == 2,
               "{}: query must be 3-D ({}) or 2-D unbatched [L, E], got shape {}", kMha,
               batch_first ? "[N, L, E] with batch_first" : "[L, N, E]", shape_str(query_in.sizes()));
  CTORCH_CHECK(key_in.dim() == query_in.dim() && value_in.dim() == query_in.dim(),
               "{}: for a {}-D query of shape {}, expected {}-D key and value, got shapes {} and {}", kMha,
               query_in.dim(), shape_str(query_in.sizes()), query_in.dim(), shape_str(key_in.sizes()),
               shape_str(value_in.sizes()));
  const bool batched = query_in.dim() == 3;
  // Unbatched input is a batch of one, in the sequence-first layout.
  const bool bf = batched && batch_first;
  const bool self_attention = query_in.is_same(key_in) && key_in.is_same(value_in);
  const bool shared_kv = key_in.is_same(value_in);
  Tensor query = batched ? query_in : query_in.unsqueeze(1);
  Tensor key = batched ? key_in : key_in.unsqueeze(1);
  Tensor value = batched ? value_in : value_in.unsqueeze(1);
  const int64_t N = query.size(bf ? 0 : 1), L = query.size(bf ? 1 : 0), S = key.size(bf ? 1 : 0);
  CTORCH_CHECK(query.size(2) == E, "{}: query of shape {} has embedding dim {}, but the module has embed_dim={}", kMha,
               shape_str(query_in.sizes()), query.size(2), E);
  CTORCH_CHECK(same_shape(key.sizes(), value.sizes()), "{}: key shape {} does not match value shape {}", kMha,
               shape_str(key_in.sizes()), shape_str(value_in.sizes()));
  CTORCH_CHECK(key.size(2) == E && key.size(bf ? 0 : 1) == N,
               "{}: key of shape {} does not fit query of shape {} (expected the same batch size and embed_dim={})",
               kMha, shape_str(key_in.sizes()), shape_str(query_in.sizes()), E);
  CTORCH_CHECK(query.dtype() == in_proj_weight.dtype() && key.dtype() == query.dtype() && value.dtype() == query.dtype(),
               "{}: expected query, key and value of the module's dtype {}, got {}, {} and {}", kMha,
               dtype_name(in_proj_weight.dtype()), dtype_name(query.dtype()), dtype_name(key.dtype()),
               dtype_name(value.dtype()));

  // ---- masks, as one bool or float mask broadcastable to [N, H, L, S] ----
  Tensor mask;
  if (attn_mask.defined()) {
    Tensor m = mask_as(attn_mask, query, "attn_mask");
    if (m.dim() == 2) {
      CTORCH_CHECK(m.size(0) == L && m.size(1) == S, "{}: the shape of the 2D attn_mask is {}, but should be [{}, {}]",
                   kMha, shape_str(m.sizes()), L, S);
      mask = m.view({1, 1, L, S});
    } else if (m.dim() == 3) {
      const int64_t NH = batched ? N * H : H;
      CTORCH_CHECK(m.size(0) == NH && m.size(1) == L && m.size(2) == S,
                   "{}: the shape of the 3D attn_mask is {}, but should be [{}, {}, {}]", kMha, shape_str(m.sizes()), NH,
                   L, S);
      mask = m.reshape({N, H, L, S});
    } else {
      CTORCH_CHECK(false, "{}: attn_mask must be 2-D [L, S] or 3-D [N * num_heads, L, S], got shape {}", kMha,
                   shape_str(m.sizes()));
    }
  }
  if (key_padding_mask.defined()) {
    Tensor m = mask_as(key_padding_mask, query, "key_padding_mask");
    const bool ok = batched ? m.dim() == 2 && m.size(0) == N && m.size(1) == S : m.dim() == 1 && m.size(0) == S;
    CTORCH_CHECK(ok, "{}: expecting key_padding_mask of shape {}, but got {}", kMha,
                 batched ? shape_str(Shape{N, S}) : shape_str(Shape{S}), shape_str(m.sizes()));
    Tensor kpm = m.reshape({N, 1, 1, S});
    if (!mask.defined()) mask = kpm;
    else if (mask.dtype() == kBool && kpm.dtype() == kBool) mask = mask | kpm;
    else mask = (mask.dtype() == kBool ? neg_inf_where(mask, query) : mask) +
                (kpm.dtype() == kBool ? neg_inf_where(kpm, query) : kpm);
  }

  // ---- in-projection into heads: q [N, H, L, hd], k and v [N, H, S, hd] ----
  const Tensor& w = in_proj_weight;
  const Tensor& b = in_proj_bias;
  auto rows = [&](int64_t from, int64_t n) { return w.narrow(0, from * E, n * E); };
  auto bias = [&](int64_t from, int64_t n) { return b.defined() ? b.narrow(0, from * E, n * E) : Tensor(); };
  Tensor q, k, v;
  if (self_attention) {
    Tensor qkv = split_heads(linear(query, w, b), 3, H, hd, bf);
    q = qkv.select(0, 0), k = qkv.select(0, 1), v = qkv.select(0, 2);
  } else if (shared_kv) {
    q = split_heads(linear(query, rows(0, 1), bias(0, 1)), 1, H, hd, bf).select(0, 0);
    Tensor kv = split_heads(linear(key, rows(1, 2), bias(1, 2)), 2, H, hd, bf);
    k = kv.select(0, 0), v = kv.select(0, 1);
  } else {
    q = split_heads(linear(query, rows(0, 1), bias(0, 1)), 1, H, hd, bf).select(0, 0);
    k = split_heads(linear(key, rows(1, 1), bias(1, 1)), 1, H, hd, bf).select(0, 0);
    v = split_heads(linear(value, rows(2, 1), bias(2, 1)), 1, H, hd, bf).select(0, 0);
  }

  // ---- attention: softmax(q k^T / sqrt(hd) + mask), dropout in training, times v ----
  Tensor P = attention_weights(q, k, mask, false, 1.0 / std::sqrt(static_cast<double>(hd)));
  if (is_training() && dropout > 0) P = functional::dropout(P, dropout, true);
  Tensor o = matmul(P, v);  // [N, H, L, hd]
  // heads back together in the input's layout, then the out-projection
  o = (bf ? o.permute({0, 2, 1, 3}) : o.permute({2, 0, 1, 3})).contiguous();
  Tensor out = out_proj(o.view({bf ? N : L, bf ? L : N, E}));
  if (!batched) out = out.squeeze(1);

  Tensor weights;
  if (need_weights) {
    weights = average_attn_weights ? P.sum(1) / static_cast<double>(H) : P;  // torch: sum(dim=1) / num_heads
    if (!batched) weights = weights.squeeze(0);
  }
  return {out, weights};
}

// ---- TransformerEncoderLayer ----

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead, int64_t dim_feedforward,
                                                         double p, std::string act, double eps, bool batch_first,
                                                         bool norm_first_, ScalarType dtype)
    : activation(std::move(act)), norm_first(norm_first_) {
  CTORCH_CHECK(activation == "relu" || activation == "gelu",
               "TransformerEncoderLayer: activation should be relu/gelu, not {}", activation);
  CTORCH_CHECK(dim_feedforward > 0, "TransformerEncoderLayer: dim_feedforward must be positive, got {}", dim_feedforward);
  // Built (and so drawing their weights) in torch's order.
  self_attn = MultiheadAttention(d_model, nhead, p, true, batch_first, dtype);
  linear1 = Linear(d_model, dim_feedforward, true, dtype);
  dropout = Dropout(p);
  linear2 = Linear(dim_feedforward, d_model, true, dtype);
  norm1 = LayerNorm(d_model, eps, true, dtype);
  norm2 = LayerNorm(d_model, eps, true, dtype);
  dropout1 = Dropout(p);
  dropout2 = Dropout(p);
  register_module("self_attn", self_attn);
  register_module("linear1", linear1);
  register_module("dropout", dropout);
  register_module("linear2", linear2);
  register_module("norm1", norm1);
  register_module("norm2", norm2);
  register_module("dropout1", dropout1);
  register_module("dropout2", dropout2);
}

Tensor TransformerEncoderLayerImpl::sa_block(const Tensor& x, const Tensor& attn_mask, const Tensor& key_padding_mask) {
  return dropout1(std::get<0>(self_attn->forward(x, x, x, key_padding_mask, false, attn_mask)));
}

Tensor TransformerEncoderLayerImpl::ff_block(const Tensor& x) {
  Tensor h = linear1(x);
  h = activation == "relu" ? relu(h) : gelu(h);
  return dropout2(linear2(dropout(h)));
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask) {
  CTORCH_CHECK(src.defined() && (src.dim() == 3 || src.dim() == 2),
               "TransformerEncoderLayer: src must be 3-D ({}) or 2-D unbatched, got shape {}",
               self_attn->batch_first ? "[N, L, E] with batch_first" : "[L, N, E]",
               src.defined() ? shape_str(src.sizes()) : std::string("undefined"));
  Tensor x = src;
  if (norm_first) {
    x = x + sa_block(norm1(x), src_mask, src_key_padding_mask);
    x = x + ff_block(norm2(x));
  } else {
    x = norm1(x + sa_block(x, src_mask, src_key_padding_mask));
    x = norm2(x + ff_block(x));
  }
  return x;
}

}  // namespace ctorch::nn
