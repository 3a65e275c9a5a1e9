#pragma once
// Tensor printing: reproduces PyTorch 1.13's repr(tensor) character for character
// (torch/_tensor_str.py): number modes, padding, summarization, line wrapping, suffixes.
#include <cstdint>
#include <span>
#include <string>

#include "dtype.hpp"

namespace ctorch {

struct StridedView {  // a read-only look at a tensor's elements
  ScalarType dtype;
  std::span<const int64_t> sizes;
  std::span<const int64_t> strides;  // in elements
  const void* data;                  // address of element [0,0,...] (storage offset already applied)
};

// Same defaults as torch.set_printoptions(profile="default").
struct PrintOptions {
  int precision = 4;
  int64_t threshold = 1000;  // summarize ("...") when numel > threshold
  int64_t edgeitems = 3;     // items kept at each end of a summarized dim
  int64_t linewidth = 80;
};

// The full repr, e.g. "tensor([[1.0000, 2.5000]], requires_grad=True)".
// grad_fn_name: nullptr or e.g. "MulBackward0" (it takes precedence over requires_grad, as in torch).
std::string format_tensor(const StridedView& t, bool requires_grad, const char* grad_fn_name,
                          const PrintOptions& opts = {});

}  // namespace ctorch
