#pragma once
// nn::LayerNorm (torch.nn.LayerNorm): normalizes over the last dims given by normalized_shape,
// with a learnable elementwise weight (ones) and bias (zeros) unless elementwise_affine is false.
#include <string>
#include <vector>

#include "../ops/normalization.hpp"
#include "module.hpp"

namespace ctorch::nn {

class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(int64_t normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                         ScalarType dtype = kFloat32);
  explicit LayerNormImpl(std::vector<int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                         ScalarType dtype = kFloat32);
  Tensor forward(const Tensor& input) override { return layer_norm(input, normalized_shape, weight, bias, eps); }
  void reset_parameters();
  std::string extra_repr() const override;  // "(256,), eps=1e-05, elementwise_affine=True"

  std::vector<int64_t> normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;  // undefined without elementwise_affine
};
CTORCH_MODULE(LayerNorm);

}  // namespace ctorch::nn
