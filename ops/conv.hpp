#pragma once
// Convolution and pooling over [N, C, H, W] tensors (a 3-D [C, H, W] input is treated as a batch
// of one, as in PyTorch). conv2d is im2col + one sgemm for the whole batch (kernels::batched_gemm),
// and one sgemm each for the gradients of the input and of the weight; the pools are direct loops.
// Float32 and float64 only; every op checks its input and throws ctorch::Error naming the op and
// the shapes.
#include <cstdint>
#include <string>

#include "../core/tensor.hpp"

namespace ctorch {

// A (height, width) pair given either as one number (2 -> (2, 2)) or as {h, w}; remembers which,
// so module reprs print "2" or "(2, 3)" as PyTorch does.
struct Int2 {
  Int2(int64_t v) : h(v), w(v), scalar(true) {}  // NOLINT(google-explicit-constructor)
  Int2(int64_t h_, int64_t w_) : h(h_), w(w_), scalar(false) {}
  int64_t h, w;
  bool scalar;
  std::string str() const;         // "2" or "(2, 3)", as Python prints what was given
  std::string tuple_str() const;   // always "(2, 2)"
  bool operator==(const Int2& o) const { return h == o.h && w == o.w; }
};

// out[n, o] = bias[o] + sum_c weight[o, c] (*) input[n, c], cross-correlation as torch.nn.functional.conv2d.
// input [N, C, H, W], weight [O, C, kh, kw], bias [O] or undefined. Output size per dim:
// floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1. Only groups = 1 is supported.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Int2 stride = 1, Int2 padding = 0,
              Int2 dilation = 1, int64_t groups = 1);

// Max over each window (padding counts as -inf; padding at most half the kernel). The gradient goes
// to the first maximal element of each window (NaN counts as maximal), as in PyTorch.
Tensor max_pool2d(const Tensor& input, Int2 kernel_size);  // stride = kernel_size
Tensor max_pool2d(const Tensor& input, Int2 kernel_size, Int2 stride, Int2 padding = 0);

// Mean over each window. count_include_pad: divide by the window size including padding (PyTorch's
// default) or by the number of real elements in it.
Tensor avg_pool2d(const Tensor& input, Int2 kernel_size);  // stride = kernel_size
Tensor avg_pool2d(const Tensor& input, Int2 kernel_size, Int2 stride, Int2 padding = 0,
                  bool count_include_pad = true);

// Mean over windows chosen so that the output is output_size: rows floor(i H / oh) to
// ceil((i + 1) H / oh) (exclusive), likewise for columns.
Tensor adaptive_avg_pool2d(const Tensor& input, Int2 output_size);

}  // namespace ctorch
