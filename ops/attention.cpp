#include "attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"
#include "linalg.hpp"
#include "softmax_rows.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

bool same_batch(const Tensor& a, const Tensor& b) {
  return a.dim() == b.dim() && same_shape(IntArrayRef(a.sizes().data(), a.dim() - 2), IntArrayRef(b.sizes().data(), b.dim() - 2));
}

// The batch-b matrix of a 3-D tensor [B, rows, cols] (any strides).
template <class T>
kernels::MatRef mat(const Tensor& t, const T* base, int64_t b) {
  return kernels::MatRef{base + b * t.stride(0), t.size(1), t.size(2), t.stride(1), t.stride(2)};
}

Tensor attention_weights_impl(const Tensor& q, const Tensor& k, const Tensor& mask, bool causal,
                              std::optional<double> scale_opt, const char* op) {
  CTORCH_CHECK(q.dim() >= 2 && k.dim() >= 2, "{}: query and key need at least 2 dims ([*, L, E] and [*, S, E]), got shapes {} and {}",
               op, shape_str(q.sizes()), shape_str(k.sizes()));
  CTORCH_CHECK(same_batch(q, k) && q.size(-1) == k.size(-1),
               "{}: query of shape {} and key of shape {} do not fit (expected [*, L, E] and [*, S, E] with the same batch "
               "dims * and E)", op, shape_str(q.sizes()), shape_str(k.sizes()));
  CTORCH_CHECK(q.is_floating_point() && q.dtype() == k.dtype(),
               "{}: expected query and key of the same floating dtype, got {} and {} (shapes {} and {})", op,
               dtype_name(q.dtype()), dtype_name(k.dtype()), shape_str(q.sizes()), shape_str(k.sizes()));
  const int64_t L = q.size(-2), S = k.size(-2), E = q.size(-1);
  const int64_t B = numel_of(IntArrayRef(q.sizes().data(), q.dim() - 2));
  Shape full(IntArrayRef(q.sizes().data(), q.dim() - 2));
  full.push_back(L);
  full.push_back(S);
  const bool bool_mask = mask.defined() && mask.dtype() == kBool;
  if (mask.defined()) {
    CTORCH_CHECK(bool_mask || mask.dtype() == q.dtype(),
                 "{}: attn_mask must be bool (true = masked) or of the query's dtype {}, got {} (shape {})", op,
                 dtype_name(q.dtype()), dtype_name(mask.dtype()), shape_str(mask.sizes()));
    bool fits = mask.dim() <= static_cast<int64_t>(full.size());
    for (int64_t i = 1; fits && i <= mask.dim(); ++i) {
      int64_t m = mask.size(-i), f = full[full.size() - i];
      fits = m == f || m == 1;
    }
    CTORCH_CHECK(fits, "{}: attn_mask of shape {} does not broadcast to the attention shape {} (query {}, key {})", op,
                 shape_str(mask.sizes()), shape_str(full), shape_str(q.sizes()), shape_str(k.sizes()));
  }
  const double scale = scale_opt ? *scale_opt : 1.0 / std::sqrt(static_cast<double>(E));

  // [B, L, E] and [B, S, E]: views when the batch dims merge, else row-major copies
  Tensor q3 = q.detach().reshape({B, L, E}), k3 = k.detach().reshape({B, S, E});
  Tensor m3 = mask.defined() ? mask.detach().expand(full).reshape({B, L, S}) : Tensor();
  Tensor P = empty(full, q.dtype());
  if (P.numel() > 0) dispatch_floating(q.dtype(), op, [&]<class T>() {
    const T* pq = static_cast<const T*>(q3.raw_data());
    const T* pk = static_cast<const T*>(k3.raw_data());
    T* pp = P.data_ptr<T>();
    const T sc = static_cast<T>(scale);
    kernels::for_batches(B, L * S * E, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        T* pb = pp + b * L * S;
        kernels::gemm<T>(mat(q3, pq, b), mat(k3, pk, b).t(), pb, S, 0);  // scores = q k^T
        for (int64_t i = 0; i < L; ++i) {
          T* row = pb + i * S;
          const int64_t keep = causal ? std::min(S, i + 1) : S;  // keys j < keep may be attended
          for (int64_t j = 0; j < S; ++j) row[j] *= sc;
          if (m3.defined()) {
            const int64_t off = b * m3.stride(0) + i * m3.stride(1), st = m3.stride(2);
            if (bool_mask) {
              const bool* mr = static_cast<const bool*>(m3.raw_data()) + off;
              for (int64_t j = 0; j < S; ++j)
                if (mr[j * st]) row[j] = -std::numeric_limits<T>::infinity();
            } else {
              const T* mr = static_cast<const T*>(m3.raw_data()) + off;
              for (int64_t j = 0; j < S; ++j) row[j] += mr[j * st];
            }
          }
          for (int64_t j = keep; j < S; ++j) row[j] = -std::numeric_limits<T>::infinity();
          kernels::softmax_row(row, row, S);  // an all -inf row gives NaN, as in torch
        }
      }
    });
  });

  // With P = softmax(Z), Z = scale * q k^T + mask:  gZ = P * (gP - sum_j gP P),
  // gq = scale * gZ k,  gk = scale * gZ^T q,  gmask = gZ (summed to the mask's shape by the engine).
  Shape q_shape(q.sizes()), k_shape(k.sizes());
  return record("AttentionWeightsBackward", P, {q, k, mask}, {q3, k3, P.detach()},
                [B, L, S, E, scale, q_shape, k_shape, full](const Saved& s, const Tensor& g_in) {
    Tensor q3 = s[0], k3 = s[1], P = s[2];
    Tensor g = g_in.contiguous();
    const bool want_q = s.needs_grad(0), want_k = s.needs_grad(1), want_m = s.needs_grad(2);
    Tensor gz = empty(full, P.dtype());  // holds scale * gZ; gZ itself for the mask
    Tensor gm = want_m ? empty(full, P.dtype()) : Tensor();
    Tensor gq = want_q ? empty({B, L, E}, P.dtype()) : Tensor();
    Tensor gk = want_k ? empty({B, S, E}, P.dtype()) : Tensor();
    if (P.numel() > 0) dispatch_floating(P.dtype(), "attention_weights_backward", [&]<class T>() {
      const T* pp = P.data_ptr<T>();
      const T* pg = g.data_ptr<T>();
      T* pz = gz.data_ptr<T>();
      T* pm = want_m ? gm.data_ptr<T>() : nullptr;
      const T* pq = static_cast<const T*>(q3.raw_data());
      const T* pk = static_cast<const T*>(k3.raw_data());
      const T sc = static_cast<T>(scale);
      kernels::for_batches(B, 2 * L * S * E, [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo * L; r < hi * L; ++r) {
          T* z = pz + r * S;
          T* gzr = pm ? pm + r * S : z;  // gZ, kept for the mask's gradient when it wants one
          kernels::softmax_backward_row(pp + r * S, pg + r * S, gzr, S);
          for (int64_t j = 0; j < S; ++j) z[j] = sc * gzr[j];
        }
        for (int64_t b = lo; b < hi; ++b) {
          kernels::MatRef zb{pz + b * L * S, L, S, S, 1};
          if (want_q) kernels::gemm<T>(zb, mat(k3, pk, b), gq.data_ptr<T>() + b * L * E, E, 0);
          if (want_k) kernels::gemm<T>(zb.t(), mat(q3, pq, b), gk.data_ptr<T>() + b * S * E, E, 0);
        }
      });
    });
    return grads(want_q ? gq.view(q_shape) : Tensor(), want_k ? gk.view(k_shape) : Tensor(), gm);
  });
}

}  // namespace

Tensor attention_weights(const Tensor& query, const Tensor& key, const Tensor& attn_mask, bool is_causal,
                         std::optional<double> scale) {
  return attention_weights_impl(query, key, attn_mask, is_causal, scale, "attention_weights");
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                    bool is_causal) {
  const char* op = "scaled_dot_product_attention";
  CTORCH_CHECK(value.dim() >= 2 && key.dim() >= 2 && same_batch(key, value) && value.size(-2) == key.size(-2),
               "{}: key of shape {} and value of shape {} do not fit (expected [*, S, E] and [*, S, Ev] with the same "
               "batch dims * and S; query of shape {})", op, shape_str(key.sizes()), shape_str(value.sizes()),
               shape_str(query.sizes()));
  CTORCH_CHECK(value.dtype() == query.dtype(), "{}: value has dtype {} but query has {}", op, dtype_name(value.dtype()),
               dtype_name(query.dtype()));
  return matmul(attention_weights_impl(query, key, attn_mask, is_causal, {}, op), value);
}

}  // namespace ctorch
