#pragma once
// Convolution and pooling layers, named, initialised and printed as in torch.nn, and their
// functional forms in nn::functional (F::conv2d, F::max_pool2d, F::avg_pool2d, F::adaptive_avg_pool2d).
//   nn::Conv2d conv{1, 16, 3, /*stride=*/2, /*padding=*/1};   // Conv2d(1, 16, kernel_size=(3, 3), ...)
//   nn::MaxPool2d pool{2};
#include <optional>
#include <string>

#include "../ops/conv.hpp"
#include "module.hpp"

namespace ctorch::nn {

namespace functional {
using ctorch::adaptive_avg_pool2d;
using ctorch::avg_pool2d;
using ctorch::conv2d;
using ctorch::max_pool2d;
}  // namespace functional

// weight [out, in, kh, kw] ~ kaiming_uniform(a = sqrt(5)), bias [out] ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// with fan_in = in kh kw: the same draws, in the same order, as PyTorch (manual_seed gives torch's weights).
class Conv2dImpl : public Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Int2 stride = 1, Int2 padding = 0,
             bool bias = true, ScalarType dtype = kFloat32);
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  Int2 kernel_size, stride, padding;
  Tensor weight, bias;
};
CTORCH_MODULE(Conv2d);

class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(Int2 kernel_size) : MaxPool2dImpl(kernel_size, kernel_size) {}
  MaxPool2dImpl(Int2 kernel_size, Int2 stride, Int2 padding = 0);
  Tensor forward(const Tensor& input) override { return max_pool2d(input, kernel_size, stride, padding); }
  std::string extra_repr() const override;
  Int2 kernel_size, stride, padding;
};
CTORCH_MODULE(MaxPool2d);

class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(Int2 kernel_size) : AvgPool2dImpl(kernel_size, kernel_size) {}
  AvgPool2dImpl(Int2 kernel_size, Int2 stride, Int2 padding = 0, bool count_include_pad = true);
  Tensor forward(const Tensor& input) override {
    return avg_pool2d(input, kernel_size, stride, padding, count_include_pad);
  }
  std::string extra_repr() const override;
  Int2 kernel_size, stride, padding;
  bool count_include_pad;
};
CTORCH_MODULE(AvgPool2d);

class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(Int2 output_size);
  Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size); }
  std::string extra_repr() const override { return "output_size=" + output_size.str(); }
  Int2 output_size;
};
CTORCH_MODULE(AdaptiveAvgPool2d);

}  // namespace ctorch::nn
