#include "embedding.hpp"

#include <cstring>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

// out[i] = weight[input[i]]. Backward: gW = zeros, then gW[input[i]] += g[i] for every i whose
// index is not padding_idx (a repeated index sums its gradients).
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  CTORCH_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape {}",
               shape_str(weight.sizes()));
  CTORCH_CHECK(input.dtype() == kInt64, "embedding: indices must be an int64 tensor, got {} (shape {})",
               dtype_name(input.dtype()), shape_str(input.sizes()));
  const int64_t V = weight.size(0), D = weight.size(1);
  int64_t pad = -1;
  if (padding_idx) {
    CTORCH_CHECK(*padding_idx >= -V && *padding_idx < V,
                 "embedding: padding_idx {} is out of range for {} embeddings (weight of shape {})", *padding_idx, V,
                 shape_str(weight.sizes()));
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  Tensor idx = input.detach().contiguous();
  const int64_t* pi = idx.data_ptr<int64_t>();
  const int64_t n = idx.numel();
  for (int64_t i = 0; i < n; ++i)
    CTORCH_CHECK(pi[i] >= 0 && pi[i] < V,
                 "embedding: index {} is out of range for an embedding of {} rows (weight of shape {}, indices of "
                 "shape {})", pi[i], V, shape_str(weight.sizes()), shape_str(input.sizes()));
  Shape shape(input.sizes());
  shape.push_back(D);
  Tensor w = weight.detach().contiguous();
  Tensor out = empty(shape, weight.dtype());
  const size_t row_bytes = static_cast<size_t>(D) * weight.element_size();
  const char* src = static_cast<const char*>(w.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t i = 0; i < n; ++i)
    if (row_bytes) std::memcpy(dst + i * row_bytes, src + pi[i] * row_bytes, row_bytes);

  return record("EmbeddingBackward0", out, {weight}, {idx}, [V, D, pad](const Saved& s, const Tensor& g_in) {
    Tensor idx = s[0];
    Tensor g = g_in.contiguous();
    Tensor gw = zeros({V, D}, g.dtype());
    dispatch_floating(g.dtype(), "embedding_backward", [&]<class T>() {
      const int64_t* pi = idx.data_ptr<int64_t>();
      const T* pg = g.data_ptr<T>();
      T* pw = gw.data_ptr<T>();
      for (int64_t i = 0, n = idx.numel(); i < n; ++i) {
        if (pi[i] == pad) continue;
        T* row = pw + pi[i] * D;
        const T* gr = pg + i * D;
        for (int64_t j = 0; j < D; ++j) row[j] += gr[j];
      }
    });
    return grads(gw);
  });
}

}  // namespace ctorch
