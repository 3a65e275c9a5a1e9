#include "functional.hpp"

#include "../autograd/grad_mode.hpp"
#include "../core/factories.hpp"
#include "../ops/elementwise.hpp"

namespace ctorch::nn::functional {

// PyTorch: noise = empty_like(x).bernoulli_(1 - p).div_(1 - p); return x * noise.
Tensor dropout(const Tensor& input, double p, bool training) {
  CTORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got {}", p);
  if (!training || p == 0 || input.numel() == 0) return input;
  if (p == 1) return input * 0.0;
  Tensor noise = empty(input.sizes(), input.dtype());
  dispatch_floating(input.dtype(), "dropout", [&]<class T>() {
    if constexpr (std::is_same_v<T, float>) {
      random_fill::bernoulli(noise.data_ptr<float>(), noise.numel(), 1 - p, default_generator());
    } else {
      Tensor f = empty(input.sizes(), kFloat32);
      random_fill::bernoulli(f.data_ptr<float>(), f.numel(), 1 - p, default_generator());
      noise = f.to(kFloat64);
    }
  });
  {
    NoGradGuard g;
    noise.div_(1 - p);
  }
  return input * noise;
}

Tensor flatten(const Tensor& input, int64_t start_dim, int64_t end_dim) { return input.flatten(start_dim, end_dim); }

}  // namespace ctorch::nn::functional
