// Convolution and pooling: each forward kernel sits beside its backward rule, as in linalg.cpp.
//
// conv2d lowers the batch to one column matrix (im2col: row (c, i, j) of `cols`, column n OH OW +
// oh OW + ow holds input pixel (n, c, oh * sh - ph + i dh, ow * sw - pw + j dw)), so that the
// convolution of the whole batch is one matrix product, run by kernels::batched_gemm on OpenBLAS:
//   out [O, N OH OW] = W [O, C kh kw] @ cols [C kh kw, N OH OW]   (then [N, O, OH, OW], + bias)
// and its backward is two more products and the inverse lowering (col2im, which adds):
//   grad cols = W^T @ g  -> col2im -> grad input
//   grad W    = g @ cols^T   (the columns are kept from the forward)
//   grad bias = sum of g over N, OH, OW
// The backward rules compute with kernels directly: they are not themselves differentiable.
#include "conv.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

std::string Int2::str() const { return scalar ? fmt::format("{}", h) : tuple_str(); }
std::string Int2::tuple_str() const { return fmt::format("({}, {})", h, w); }

namespace {

// Sizes of one convolution or pooling: input [N, C, H, W], window kh x kw, output [N, C', OH, OW].
struct Geometry {
  int64_t N, C, H, W;
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
  int64_t OH = 0, OW = 0;
};

// A 3-D [C, H, W] input is a batch of one (differentiable unsqueeze / squeeze around the 4-D op).
template <class F>
Tensor with_batch(const Tensor& input, F&& f) {
  if (input.dim() == 3) return f(input.unsqueeze(0)).squeeze(0);
  return f(input);
}

void check_input(const Tensor& x, const char* op) {
  CTORCH_CHECK(x.defined(), "{}: the input tensor is undefined", op);
  CTORCH_CHECK(x.dim() == 3 || x.dim() == 4, "{}: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape {}", op,
               shape_str(x.sizes()));
  CTORCH_CHECK(x.is_floating_point(), "{}: expected a float32 or float64 input, got {} (shape {})", op,
               dtype_name(x.dtype()), shape_str(x.sizes()));
  int64_t d = x.dim();
  CTORCH_CHECK(x.size(d - 3) > 0 && x.size(d - 2) > 0 && x.size(d - 1) > 0,
               "{}: expected an input with non-zero channels, height and width, got shape {}", op, shape_str(x.sizes()));
}

Geometry geometry(const Tensor& x) {  // x is 4-D
  return Geometry{x.size(0), x.size(1), x.size(2), x.size(3), 1, 1, 1, 1, 0, 0};
}

// Window checks shared by the fixed-window pools; fills OH, OW.
void pool_window(Geometry& g, const Tensor& x, const char* op) {
  CTORCH_CHECK(g.kh > 0 && g.kw > 0, "{}: kernel_size must be positive, got ({}, {}) (input shape {})", op, g.kh, g.kw,
               shape_str(x.sizes()));
  CTORCH_CHECK(g.sh > 0 && g.sw > 0, "{}: stride must be positive, got ({}, {}) (input shape {})", op, g.sh, g.sw,
               shape_str(x.sizes()));
  CTORCH_CHECK(g.ph >= 0 && g.pw >= 0, "{}: padding must be non-negative, got ({}, {})", op, g.ph, g.pw);
  CTORCH_CHECK(g.ph <= g.kh / 2 && g.pw <= g.kw / 2,
               "{}: padding ({}, {}) should be at most half of kernel_size ({}, {})", op, g.ph, g.pw, g.kh, g.kw);
  CTORCH_CHECK(g.kh <= g.H + 2 * g.ph && g.kw <= g.W + 2 * g.pw,
               "{}: kernel_size ({}, {}) is larger than the padded input {}x{} (input shape {}, padding ({}, {}))", op,
               g.kh, g.kw, g.H + 2 * g.ph, g.W + 2 * g.pw, shape_str(x.sizes()), g.ph, g.pw);
  g.OH = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
}

// ---- conv2d ----

// The output columns ow whose input column iw = ow sw - pw + j dw lies in [0, W): [lo, hi).
inline std::pair<int64_t, int64_t> valid_cols(const Geometry& g, int64_t j) {
  int64_t off = j * g.dw - g.pw;  // iw = ow sw + off
  int64_t lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  int64_t hi = g.W - off <= 0 ? 0 : (g.W - off + g.sw - 1) / g.sw;
  lo = std::min(lo, g.OW), hi = std::min(hi, g.OW);
  return {lo, std::max(lo, hi)};
}

// One image x [C, H, W] -> its block of cols: row (c, i, j) of cols starts at cols + row * ld and
// holds OH OW values (zeros where the window reads padding). ld = N OH OW when the N images sit
// side by side in one [C kh kw, N OH OW] matrix. SW is the column stride when it is one of the
// common 1 and 2 (a constant lets the compiler vectorize the strided copy), 0 to read it from g.
template <class T, int SW>
void im2col_strided(const T* x, T* cols, const Geometry& g, int64_t ld) {
  const int64_t sw = SW > 0 ? SW : g.sw;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        auto [lo, hi] = valid_cols(g, j);
        const int64_t off = j * g.dw - g.pw;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          T* r = row + oh * g.OW;
          int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) {
            std::fill(r, r + g.OW, T(0));
            continue;
          }
          std::fill(r, r + lo, T(0));
          if (hi > lo) {
            const T* xrow = x + (c * g.H + ih) * g.W + lo * sw + off;  // input of output column lo
            for (int64_t k = 0; k < hi - lo; ++k) r[lo + k] = xrow[k * sw];
          }
          std::fill(r + hi, r + g.OW, T(0));
        }
      }
}

// The adjoint of im2col: adds one image's block of cols back into gx [C, H, W].
template <class T, int SW>
void col2im_strided(const T* cols, T* gx, const Geometry& g, int64_t ld) {
  const int64_t sw = SW > 0 ? SW : g.sw;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        auto [lo, hi] = valid_cols(g, j);
        const int64_t off = j * g.dw - g.pw;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H || hi <= lo) continue;
          const T* r = row + oh * g.OW + lo;
          T* xrow = gx + (c * g.H + ih) * g.W + lo * sw + off;
          for (int64_t k = 0; k < hi - lo; ++k) xrow[k * sw] += r[k];
        }
      }
}

template <class T>
void im2col(const T* x, T* cols, const Geometry& g, int64_t ld) {
  if (g.sw == 1) im2col_strided<T, 1>(x, cols, g, ld);
  else if (g.sw == 2) im2col_strided<T, 2>(x, cols, g, ld);
  else im2col_strided<T, 0>(x, cols, g, ld);
}

template <class T>
void col2im(const T* cols, T* gx, const Geometry& g, int64_t ld) {
  if (g.sw == 1) col2im_strided<T, 1>(cols, gx, g, ld);
  else if (g.sw == 2) col2im_strided<T, 2>(cols, gx, g, ld);
  else col2im_strided<T, 0>(cols, gx, g, ld);
}

// cols [C kh kw, N OH OW] of a contiguous input [N, C, H, W]: image n fills columns n L .. n L + L - 1.
Tensor lower(const Tensor& x, const Geometry& g) {
  const int64_t CK = g.C * g.kh * g.kw, L = g.OH * g.OW;
  Tensor cols = empty({CK, g.N * L}, x.dtype());
  dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    T* pc = cols.data_ptr<T>();
    for (int64_t n = 0; n < g.N; ++n) im2col<T>(px + n * g.C * g.H * g.W, pc + n * L, g, g.N * L);
  });
  return cols;
}

// [O, N L] (the product's layout) <-> [N, O, L] (the tensor's layout), adding bias[o] on the way out.
template <class T>
void columns_to_batch(const T* src, const T* bias, T* dst, int64_t N, int64_t O, int64_t L) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const T* s = src + o * N * L + n * L;
      T* d = dst + (n * O + o) * L;
      const T b = bias != nullptr ? bias[o] : T(0);
      for (int64_t l = 0; l < L; ++l) d[l] = s[l] + b;
    }
}
template <class T>
void batch_to_columns(const T* src, T* dst, int64_t N, int64_t O, int64_t L) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) std::copy(src + (n * O + o) * L, src + (n * O + o + 1) * L, dst + o * N * L + n * L);
}

// The whole batch is one matrix product each way: the N images' columns sit side by side in one
// cols [C kh kw, N L], so that
//   out  [O, N L]   = W [O, C kh kw] @ cols            (then laid out as [N, O, L], + bias)
//   grad W          = g [O, N L] @ cols^T               (cols kept from the forward: no second im2col)
//   grad cols       = W^T @ g [O, N L]  -> col2im per image -> grad input
//   grad bias       = row sums of g [O, N L]
// Large products keep OpenBLAS busy (one call instead of N small ones, the weight packed once).
Tensor conv2d_4d(const Tensor& x, const Tensor& w, const Tensor& b, const Geometry& g) {
  const int64_t O = w.size(0), CK = g.C * g.kh * g.kw, L = g.OH * g.OW, NL = g.N * L;
  Tensor cols = lower(x.detach().contiguous(), g);
  Tensor prod = empty({1, O, NL}, x.dtype());
  kernels::batched_gemm(w.detach().contiguous().view({1, O, CK}), cols.view({1, CK, NL}), prod);
  Tensor out = empty({g.N, O, g.OH, g.OW}, x.dtype());
  Tensor bc = b.defined() ? b.detach().contiguous() : Tensor();
  dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
    columns_to_batch<T>(prod.data_ptr<T>(), bc.defined() ? bc.data_ptr<T>() : nullptr, out.data_ptr<T>(), g.N, O, L);
  });
  prod = Tensor();
  // grad W needs the columns: save them (not the input) when the weight needs a gradient. Saved,
  // not captured, so that backward frees them like every saved tensor.
  Tensor kept = w.requires_grad() ? cols : Tensor();
  return record("ConvolutionBackward0", out, {x, w, b}, {w, kept}, [g, O, CK, L, NL](const Saved& s, const Tensor& grad) {
    Tensor gy = grad.detach().contiguous();
    Tensor gmat = empty({1, O, NL}, grad.dtype());  // g as [O, N L]
    dispatch_floating(grad.dtype(), "conv2d backward", [&]<class T>() {
      batch_to_columns<T>(gy.data_ptr<T>(), gmat.data_ptr<T>(), g.N, O, L);
    });
    Tensor gx, gw, gb;
    if (s.needs_grad(0)) {  // grad cols = W^T g, then back to image layout
      Tensor w2 = s[0].detach().contiguous().view({1, O, CK});
      Tensor gcols = empty({1, CK, NL}, grad.dtype());
      kernels::batched_gemm(w2.transpose(1, 2), gmat, gcols);
      gx = zeros({g.N, g.C, g.H, g.W}, grad.dtype());
      dispatch_floating(grad.dtype(), "conv2d backward", [&]<class T>() {
        const T* pc = gcols.data_ptr<T>();
        T* px = gx.data_ptr<T>();
        for (int64_t n = 0; n < g.N; ++n) col2im<T>(pc + n * L, px + n * g.C * g.H * g.W, g, NL);
      });
    }
    if (s.needs_grad(1)) {  // grad W = g [O, N L] @ cols^T [N L, C kh kw]: one product over the batch
      gw = empty({O, g.C, g.kh, g.kw}, grad.dtype());
      kernels::batched_gemm(gmat, s[1].view({1, CK, NL}).transpose(1, 2), gw.view({1, O, CK}));
    }
    if (s.needs_grad(2)) gb = gmat.view({O, NL}).sum(1);
    return grads(gx, gw, gb);
  });
}

// ---- pooling kernels over planes (N C planes of H x W) ----

template <class T>
void max_pool_forward(const T* x, T* y, int64_t* idx, const Geometry& g) {
  if (g.ph == 0 && g.pw == 0) {
    // Every window lies inside the plane: one output row at a time, visiting the window's
    // elements in the same (row-major) order for all outputs of the row, branch-free.
    for (int64_t p = 0; p < g.N * g.C; ++p) {
      const T* xp = x + p * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh, y += g.OW, idx += g.OW) {
        std::fill(y, y + g.OW, -std::numeric_limits<T>::infinity());
        for (int64_t ow = 0; ow < g.OW; ++ow) idx[ow] = oh * g.sh * g.W + ow * g.sw;  // the window's first element
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t k0 = (oh * g.sh + i) * g.W + j;
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              const int64_t k = k0 + ow * g.sw;
              const T v = xp[k], cur = y[ow];
              const bool take = (v > cur) | (v != v);  // strict: the first maximum wins; NaN counts as maximal
              const int64_t mask = -static_cast<int64_t>(take);  // selects by masks: random comparisons mispredict
              idx[ow] = (k & mask) | (idx[ow] & ~mask);
              y[ow] = take ? v : cur;
            }
          }
      }
    }
    return;
  }
  for (int64_t p = 0; p < g.N * g.C; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
        int64_t he = std::min(hs + g.kh, g.H), we = std::min(ws + g.kw, g.W);
        hs = std::max<int64_t>(hs, 0), ws = std::max<int64_t>(ws, 0);
        T m = -std::numeric_limits<T>::infinity();
        int64_t mi = hs * g.W + ws;
        for (int64_t ih = hs; ih < he; ++ih)
          for (int64_t iw = ws; iw < we; ++iw) {
            T v = xp[ih * g.W + iw];
            if (v > m || std::isnan(v)) m = v, mi = ih * g.W + iw;  // strict: the first maximum wins
          }
        *y++ = m;
        *idx++ = mi;
      }
  }
}

// PyTorch's window of avg_pool2d: clipped to the input, divided by the window size within the
// padded input (count_include_pad) or by the number of input elements in it.
struct AvgWindow {
  int64_t hs, he, ws, we;
  double div;
};
AvgWindow avg_window(const Geometry& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
  int64_t he = std::min(hs + g.kh, g.H + g.ph), we = std::min(ws + g.kw, g.W + g.pw);
  int64_t pool = (he - hs) * (we - ws);
  hs = std::max<int64_t>(hs, 0), ws = std::max<int64_t>(ws, 0);
  he = std::min(he, g.H), we = std::min(we, g.W);
  return {hs, he, ws, we, static_cast<double>(count_include_pad ? pool : (he - hs) * (we - ws))};
}

// Adaptive windows: floor(i H / OH) to ceil((i + 1) H / OH).
AvgWindow adaptive_window(const Geometry& g, int64_t oh, int64_t ow) {
  int64_t hs = oh * g.H / g.OH, he = ((oh + 1) * g.H + g.OH - 1) / g.OH;
  int64_t ws = ow * g.W / g.OW, we = ((ow + 1) * g.W + g.OW - 1) / g.OW;
  return {hs, he, ws, we, static_cast<double>((he - hs) * (we - ws))};
}

// Forward and backward of an average over windows given by `window(oh, ow)`.
template <class T, class Window>
void avg_forward(const T* x, T* y, const Geometry& g, Window&& window) {
  for (int64_t p = 0; p < g.N * g.C; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        AvgWindow a = window(oh, ow);
        T sum = 0;
        for (int64_t ih = a.hs; ih < a.he; ++ih)
          for (int64_t iw = a.ws; iw < a.we; ++iw) sum += xp[ih * g.W + iw];
        *y++ = static_cast<T>(sum / static_cast<T>(a.div));
      }
  }
}
template <class T, class Window>
void avg_backward(const T* gy, T* gx, const Geometry& g, Window&& window) {
  for (int64_t p = 0; p < g.N * g.C; ++p) {
    T* gp = gx + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        AvgWindow a = window(oh, ow);
        T v = static_cast<T>(*gy++ / static_cast<T>(a.div));
        for (int64_t ih = a.hs; ih < a.he; ++ih)
          for (int64_t iw = a.ws; iw < a.we; ++iw) gp[ih * g.W + iw] += v;
      }
  }
}

Tensor avg_pool_4d(const Tensor& x, const Geometry& g, bool count_include_pad, bool adaptive, const char* name,
                   const char* op) {
  Tensor xc = x.detach().contiguous();
  Tensor out = empty({g.N, g.C, g.OH, g.OW}, x.dtype());
  auto window = [g, count_include_pad, adaptive](int64_t oh, int64_t ow) {
    return adaptive ? adaptive_window(g, oh, ow) : avg_window(g, oh, ow, count_include_pad);
  };
  dispatch_floating(x.dtype(), op, [&]<class T>() { avg_forward<T>(xc.data_ptr<T>(), out.data_ptr<T>(), g, window); });
  return record(name, out, {x}, {}, [g, window, op](const Saved&, const Tensor& grad) {
    Tensor gy = grad.detach().contiguous();
    Tensor gx = zeros({g.N, g.C, g.H, g.W}, grad.dtype());
    dispatch_floating(grad.dtype(), op, [&]<class T>() { avg_backward<T>(gy.data_ptr<T>(), gx.data_ptr<T>(), g, window); });
    return grads(gx);
  });
}

}  // namespace

// ---- the ops ----

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Int2 stride, Int2 padding, Int2 dilation,
              int64_t groups) {
  check_input(input, "conv2d");
  CTORCH_CHECK(groups == 1, "conv2d: only groups=1 is supported, got groups={} (input shape {}, weight shape {})", groups,
               shape_str(input.sizes()), weight.defined() ? shape_str(weight.sizes()) : std::string("undefined"));
  CTORCH_CHECK(weight.defined() && weight.dim() == 4,
               "conv2d: expected a 4-D weight [out_channels, in_channels, kH, kW], got shape {} (input shape {})",
               weight.defined() ? shape_str(weight.sizes()) : std::string("undefined"), shape_str(input.sizes()));
  int64_t C = input.size(input.dim() - 3);
  CTORCH_CHECK(weight.size(1) == C,
               "conv2d: input of shape {} has {} channels, but weight of shape {} expects {} input channels", 
               shape_str(input.sizes()), C, shape_str(weight.sizes()), weight.size(1));
  CTORCH_CHECK(input.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == weight.dtype()),
               "conv2d: expected input, weight and bias of the same dtype, got {}, {} and {}", dtype_name(input.dtype()),
               dtype_name(weight.dtype()), bias.defined() ? dtype_name(bias.dtype()) : "none");
  CTORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),
               "conv2d: bias of shape {} does not match weight of shape {} (expected [{}])", shape_str(bias.sizes()),
               shape_str(weight.sizes()), weight.size(0));
  CTORCH_CHECK(stride.h > 0 && stride.w > 0, "conv2d: stride must be positive, got {} (input shape {}, weight shape {})",
               stride.tuple_str(), shape_str(input.sizes()), shape_str(weight.sizes()));
  CTORCH_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: padding must be non-negative, got {}", padding.tuple_str());
  CTORCH_CHECK(dilation.h > 0 && dilation.w > 0, "conv2d: dilation must be positive, got {}", dilation.tuple_str());
  int64_t kh = weight.size(2), kw = weight.size(3);
  int64_t H = input.size(input.dim() - 2), W = input.size(input.dim() - 1);
  int64_t eh = dilation.h * (kh - 1) + 1, ew = dilation.w * (kw - 1) + 1;
  CTORCH_CHECK(eh <= H + 2 * padding.h && ew <= W + 2 * padding.w,
               "conv2d: kernel size ({}, {}) is larger than the padded input {}x{} (input shape {}, padding {}, weight "
               "shape {})",
               eh, ew, H + 2 * padding.h, W + 2 * padding.w, shape_str(input.sizes()), padding.tuple_str(),
               shape_str(weight.sizes()));
  return with_batch(input, [&](const Tensor& x) {
    Geometry g = geometry(x);
    g.kh = kh, g.kw = kw, g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
    g.dh = dilation.h, g.dw = dilation.w;
    g.OH = (H + 2 * g.ph - eh) / g.sh + 1;
    g.OW = (W + 2 * g.pw - ew) / g.sw + 1;
    return conv2d_4d(x, weight, bias, g);
  });
}

Tensor max_pool2d(const Tensor& input, Int2 kernel_size) { return max_pool2d(input, kernel_size, kernel_size, 0); }

Tensor max_pool2d(const Tensor& input, Int2 kernel_size, Int2 stride, Int2 padding) {
  check_input(input, "max_pool2d");
  return with_batch(input, [&](const Tensor& x) {
    Geometry g = geometry(x);
    g.kh = kernel_size.h, g.kw = kernel_size.w, g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
    pool_window(g, input, "max_pool2d");
    Tensor xc = x.detach().contiguous();
    Tensor out = empty({g.N, g.C, g.OH, g.OW}, x.dtype());
    Tensor indices = empty({g.N, g.C, g.OH, g.OW}, kInt64);
    dispatch_floating(x.dtype(), "max_pool2d", [&]<class T>() {
      max_pool_forward<T>(xc.data_ptr<T>(), out.data_ptr<T>(), indices.data_ptr<int64_t>(), g);
    });
    return record("MaxPool2DWithIndicesBackward0", out, {x}, {indices}, [g](const Saved& s, const Tensor& grad) {
      Tensor idx = s[0];
      Tensor gy = grad.detach().contiguous();
      Tensor gx = zeros({g.N, g.C, g.H, g.W}, grad.dtype());
      dispatch_floating(grad.dtype(), "max_pool2d backward", [&]<class T>() {
        const T* py = gy.data_ptr<T>();
        const int64_t* pi = idx.data_ptr<int64_t>();
        T* px = gx.data_ptr<T>();
        const int64_t per_plane = g.OH * g.OW;
        for (int64_t p = 0; p < g.N * g.C; ++p)
          for (int64_t k = 0; k < per_plane; ++k) px[p * g.H * g.W + pi[p * per_plane + k]] += py[p * per_plane + k];
      });
      return grads(gx);
    });
  });
}

Tensor avg_pool2d(const Tensor& input, Int2 kernel_size) { return avg_pool2d(input, kernel_size, kernel_size, 0, true); }

Tensor avg_pool2d(const Tensor& input, Int2 kernel_size, Int2 stride, Int2 padding, bool count_include_pad) {
  check_input(input, "avg_pool2d");
  return with_batch(input, [&](const Tensor& x) {
    Geometry g = geometry(x);
    g.kh = kernel_size.h, g.kw = kernel_size.w, g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
    pool_window(g, input, "avg_pool2d");
    return avg_pool_4d(x, g, count_include_pad, false, "AvgPool2DBackward0", "avg_pool2d");
  });
}

Tensor adaptive_avg_pool2d(const Tensor& input, Int2 output_size) {
  check_input(input, "adaptive_avg_pool2d");
  CTORCH_CHECK(output_size.h > 0 && output_size.w > 0,
               "adaptive_avg_pool2d: output_size must be positive, got {} (input shape {})", output_size.tuple_str(),
               shape_str(input.sizes()));
  return with_batch(input, [&](const Tensor& x) {
    Geometry g = geometry(x);
    g.OH = output_size.h, g.OW = output_size.w;
    return avg_pool_4d(x, g, true, true, "AdaptiveAvgPool2DBackward0", "adaptive_avg_pool2d");
  });
}

}  // namespace ctorch
