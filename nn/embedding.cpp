#include "embedding.hpp"

#include "../autograd/grad_mode.hpp"
#include "../core/factories.hpp"
#include "init.hpp"

namespace ctorch::nn {

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim, std::optional<int64_t> pad, ScalarType dtype)
    : num_embeddings(num), embedding_dim(dim) {
  CTORCH_CHECK(num >= 0 && dim >= 0, "Embedding: num_embeddings and embedding_dim must be non-negative, got {} and {}",
               num, dim);
  CTORCH_CHECK(is_floating_point(dtype), "Embedding: dtype must be floating point, got {}", dtype_name(dtype));
  if (pad) {
    CTORCH_CHECK(*pad >= -num && *pad < num, "Embedding: padding_idx {} must be within num_embeddings ({})", *pad, num);
    padding_idx = *pad < 0 ? *pad + num : *pad;  // torch keeps it non-negative
  }
  weight = register_parameter("weight", empty({num, dim}, dtype));
  reset_parameters();
}

// torch: init.normal_(weight), then the padding row filled with zeros under no_grad.
void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard g;
    weight.select(0, *padding_idx).fill_(0);
  }
}

std::string EmbeddingImpl::extra_repr() const {
  std::string s = fmt::format("{}, {}", num_embeddings, embedding_dim);
  if (padding_idx) s += fmt::format(", padding_idx={}", *padding_idx);
  return s;
}

}  // namespace ctorch::nn
