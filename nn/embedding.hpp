#pragma once
// nn::Embedding (torch.nn.Embedding): a table of num_embeddings vectors of size embedding_dim,
// read by int64 indices. Initialised N(0, 1) from the global generator, the same draws as torch's
// with the same seed; the padding_idx row (if any) is zero and gets no gradient.
#include <optional>
#include <string>

#include "../ops/embedding.hpp"
#include "module.hpp"

namespace ctorch::nn {

class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = {},
                ScalarType dtype = kFloat32);
  Tensor forward(const Tensor& input) override { return embedding(input, weight, padding_idx); }
  void reset_parameters();
  std::string extra_repr() const override;  // "10, 3, padding_idx=0"

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  // stored non-negative, as torch does
  Tensor weight;                       // [num_embeddings, embedding_dim]
};
CTORCH_MODULE(Embedding);

}  // namespace ctorch::nn
