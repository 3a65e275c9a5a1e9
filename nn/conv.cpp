#include "conv.hpp"

#include <cmath>

#include "../core/factories.hpp"
#include "init.hpp"

namespace ctorch::nn {

Conv2dImpl::Conv2dImpl(int64_t in, int64_t out, Int2 k, Int2 s, Int2 p, bool with_bias, ScalarType dtype)
    : in_channels(in), out_channels(out), kernel_size(k), stride(s), padding(p) {
  CTORCH_CHECK(in > 0 && out > 0, "Conv2d: in_channels and out_channels must be positive, got {} and {}", in, out);
  CTORCH_CHECK(k.h > 0 && k.w > 0, "Conv2d: kernel_size must be positive, got {}", k.tuple_str());
  CTORCH_CHECK(s.h > 0 && s.w > 0, "Conv2d: stride must be positive, got {}", s.tuple_str());
  CTORCH_CHECK(p.h >= 0 && p.w >= 0, "Conv2d: padding must be non-negative, got {}", p.tuple_str());
  weight = register_parameter("weight", empty({out, in, k.h, k.w}, dtype));
  if (with_bias) bias = register_parameter("bias", empty({out}, dtype));
  reset_parameters();
}

void Conv2dImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    int64_t fan_in = in_channels * kernel_size.h * kernel_size.w;
    double bound = 1 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2dImpl::forward(const Tensor& input) { return conv2d(input, weight, bias, stride, padding); }

// As torch: kernel_size and stride always as tuples; padding only when non-zero; bias only when absent.
std::string Conv2dImpl::extra_repr() const {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels, out_channels, kernel_size.tuple_str(),
                              stride.tuple_str());
  if (padding.h != 0 || padding.w != 0) s += ", padding=" + padding.tuple_str();
  if (!bias.defined()) s += ", bias=False";
  return s;
}

MaxPool2dImpl::MaxPool2dImpl(Int2 k, Int2 s, Int2 p) : kernel_size(k), stride(s), padding(p) {
  CTORCH_CHECK(k.h > 0 && k.w > 0 && s.h > 0 && s.w > 0 && p.h >= 0 && p.w >= 0,
               "MaxPool2d: kernel_size and stride must be positive and padding non-negative, got kernel_size={}, "
               "stride={}, padding={}",
               k.str(), s.str(), p.str());
}

std::string MaxPool2dImpl::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation=1, ceil_mode=False", kernel_size.str(),
                     stride.str(), padding.str());
}

AvgPool2dImpl::AvgPool2dImpl(Int2 k, Int2 s, Int2 p, bool cip)
    : kernel_size(k), stride(s), padding(p), count_include_pad(cip) {
  CTORCH_CHECK(k.h > 0 && k.w > 0 && s.h > 0 && s.w > 0 && p.h >= 0 && p.w >= 0,
               "AvgPool2d: kernel_size and stride must be positive and padding non-negative, got kernel_size={}, "
               "stride={}, padding={}",
               k.str(), s.str(), p.str());
}

std::string AvgPool2dImpl::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}", kernel_size.str(), stride.str(), padding.str());
}

AdaptiveAvgPool2dImpl::AdaptiveAvgPool2dImpl(Int2 o) : output_size(o) {
  CTORCH_CHECK(o.h > 0 && o.w > 0, "AdaptiveAvgPool2d: output_size must be positive, got {}", o.str());
}

}  // namespace ctorch::nn
