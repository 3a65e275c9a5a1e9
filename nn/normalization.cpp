#include "normalization.hpp"

#include "../core/factories.hpp"
#include "init.hpp"

namespace ctorch::nn {

LayerNormImpl::LayerNormImpl(int64_t n, double eps, bool affine, ScalarType dtype)
    : LayerNormImpl(std::vector<int64_t>{n}, eps, affine, dtype) {}

LayerNormImpl::LayerNormImpl(std::vector<int64_t> shape, double eps, bool affine, ScalarType dtype)
    : normalized_shape(std::move(shape)), eps(eps), elementwise_affine(affine) {
  CTORCH_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must have at least one dimension");
  for (int64_t d : normalized_shape)
    CTORCH_CHECK(d >= 0, "LayerNorm: normalized_shape {} has a negative dimension", shape_str(normalized_shape));
  CTORCH_CHECK(eps >= 0, "LayerNorm: eps must be non-negative, got {}", eps);
  CTORCH_CHECK(is_floating_point(dtype), "LayerNorm: dtype must be floating point, got {}", dtype_name(dtype));
  if (affine) {
    weight = register_parameter("weight", empty(normalized_shape, dtype));
    bias = register_parameter("bias", empty(normalized_shape, dtype));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (!elementwise_affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

std::string LayerNormImpl::extra_repr() const {
  // Python's tuple repr: (256,) for one dim, (2, 3) for more
  std::string shape = normalized_shape.size() == 1 ? fmt::format("({},)", normalized_shape[0])
                                                   : fmt::format("({})", fmt::join(normalized_shape, ", "));
  return fmt::format("{}, eps={}, elementwise_affine={}", shape, eps, elementwise_affine ? "True" : "False");
}

}  // namespace ctorch::nn
