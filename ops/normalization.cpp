#include "normalization.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

// Rows are shared between ctorch's threads from this many elements on (kernels::parallel_parts).
constexpr int64_t kParallelElements = int64_t{1} << 16;

// Forward, per row of N elements: mean = sum(x) / N, var = sum((x - mean)^2) / N (two passes, in
// double), rstd = 1 / sqrt(var + eps), xhat = (x - mean) * rstd, y = xhat * w + b.
// Backward, with gh = g * w (or g without weight):
//   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
//   dw = sum over rows of g * xhat,   db = sum over rows of g
Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  CTORCH_CHECK(k >= 1, "layer_norm: normalized_shape must have at least one dimension, got {} (input of shape {})",
               shape_str(normalized_shape), shape_str(input.sizes()));
  bool fits = input.dim() >= k;
  for (int64_t i = 0; fits && i < k; ++i) fits = input.size(input.dim() - k + i) == normalized_shape[i];
  CTORCH_CHECK(fits, "layer_norm: input of shape {} does not end with normalized_shape {} (expected input of shape [*, {}])",
               shape_str(input.sizes()), shape_str(normalized_shape), fmt::join(normalized_shape, ", "));
  CTORCH_CHECK(input.is_floating_point(), "layer_norm: expected a floating point input, got {} (shape {})",
               dtype_name(input.dtype()), shape_str(input.sizes()));
  for (const auto& [t, what] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}}) {
    if (!t->defined()) continue;
    CTORCH_CHECK(same_shape(t->sizes(), normalized_shape),
                 "layer_norm: {} of shape {} does not match normalized_shape {} (input of shape {})", what,
                 shape_str(t->sizes()), shape_str(normalized_shape), shape_str(input.sizes()));
    CTORCH_CHECK(t->dtype() == input.dtype(), "layer_norm: {} has dtype {} but input has {}", what,
                 dtype_name(t->dtype()), dtype_name(input.dtype()));
  }
  CTORCH_CHECK(eps >= 0, "layer_norm: eps must be non-negative, got {}", eps);

  const int64_t N = numel_of(normalized_shape);
  const int64_t M = numel_of(IntArrayRef(input.sizes().data(), input.dim() - k));
  Tensor x = input.detach().contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = empty(input.sizes(), input.dtype());
  Tensor mean = empty({M}, kFloat64), rstd = empty({M}, kFloat64);  // double: see xhat below
  dispatch_floating(input.dtype(), "layer_norm", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    const T* pw = w.defined() ? w.data_ptr<T>() : nullptr;
    const T* pb = b.defined() ? b.data_ptr<T>() : nullptr;
    T* py = out.data_ptr<T>();
    double* pm = mean.data_ptr<double>();
    double* pr = rstd.data_ptr<double>();
    kernels::for_ranges(M, kernels::parallel_parts(M, N, kParallelElements), [&](int, int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* xr = px + r * N;
        T* yr = py + r * N;
        double s = 0;
        for (int64_t j = 0; j < N; ++j) s += xr[j];
        const double mu = s / static_cast<double>(N);
        double v = 0;
        for (int64_t j = 0; j < N; ++j) {
          const double d = xr[j] - mu;
          v += d * d;
        }
        const double rs = 1.0 / std::sqrt(v / static_cast<double>(N) + eps);
        pm[r] = mu;
        pr[r] = rs;
        // xhat in double: x - mean cancels digits when |mean| >> std (mean rounded to float
        // would cost ~|mean| / std float ulps; torch's float kernel does lose them)
        if (pw && pb) for (int64_t j = 0; j < N; ++j) yr[j] = static_cast<T>((xr[j] - mu) * rs) * pw[j] + pb[j];
        else if (pw) for (int64_t j = 0; j < N; ++j) yr[j] = static_cast<T>((xr[j] - mu) * rs) * pw[j];
        else if (pb) for (int64_t j = 0; j < N; ++j) yr[j] = static_cast<T>((xr[j] - mu) * rs) + pb[j];
        else for (int64_t j = 0; j < N; ++j) yr[j] = static_cast<T>((xr[j] - mu) * rs);
      }
    });
  });

  Shape ns(normalized_shape);
  return record("NativeLayerNormBackward0", out, {input, weight, bias}, {x, w, mean, rstd},
                [M, N, ns](const Saved& s, const Tensor& g_in) {
    Tensor x = s[0], w = s[1], mean = s[2], rstd = s[3];  // mean and rstd in double [M]
    Tensor g = g_in.contiguous();
    const bool want_x = s.needs_grad(0), want_w = s.needs_grad(1), want_b = s.needs_grad(2);
    Tensor gx = want_x ? empty(x.sizes(), x.dtype()) : Tensor();
    Tensor gw = want_w ? empty(ns, x.dtype()) : Tensor();
    Tensor gb = want_b ? empty(ns, x.dtype()) : Tensor();
    const int chunks = kernels::parallel_parts(M, N, kParallelElements);
    // per chunk: sum of g * xhat and of g for each of the N columns, in double
    std::vector<double> acc(want_w || want_b ? static_cast<size_t>(chunks) * 2 * N : 0, 0.0);
    dispatch_floating(x.dtype(), "layer_norm_backward", [&]<class T>() {
      const T* px = x.data_ptr<T>();
      const T* pg = g.data_ptr<T>();
      const T* pw = w.defined() ? w.data_ptr<T>() : nullptr;
      const double* pm = mean.data_ptr<double>();
      const double* pr = rstd.data_ptr<double>();
      T* pgx = want_x ? gx.data_ptr<T>() : nullptr;
      kernels::for_ranges(M, chunks, [&](int c, int64_t lo, int64_t hi) {
        double* dw = acc.empty() ? nullptr : acc.data() + static_cast<size_t>(c) * 2 * N;
        double* db = dw ? dw + N : nullptr;
        for (int64_t r = lo; r < hi; ++r) {
          const T* xr = px + r * N;
          const T* gr = pg + r * N;
          const double m = pm[r], a = pr[r];
          if (dw)
            for (int64_t j = 0; j < N; ++j) {
              dw[j] += gr[j] * ((xr[j] - m) * a);
              db[j] += gr[j];
            }
          if (!pgx) continue;
          double s1 = 0, s2 = 0;  // sum(gh), sum(gh * xhat)
          for (int64_t j = 0; j < N; ++j) {
            const double gh = pw ? gr[j] * pw[j] : gr[j];
            s1 += gh;
            s2 += gh * ((xr[j] - m) * a);
          }
          const double c1 = s1 / static_cast<double>(N), c2 = s2 / static_cast<double>(N);
          T* gxr = pgx + r * N;
          for (int64_t j = 0; j < N; ++j) {
            const double gh = pw ? gr[j] * pw[j] : gr[j];
            gxr[j] = static_cast<T>(a * (gh - c1 - (xr[j] - m) * a * c2));
          }
        }
      });
      if (acc.empty()) return;
      for (int c = 1; c < chunks; ++c)
        for (int64_t j = 0; j < 2 * N; ++j) acc[j] += acc[static_cast<size_t>(c) * 2 * N + j];
      if (want_w) std::transform(acc.begin(), acc.begin() + N, gw.data_ptr<T>(), [](double v) { return static_cast<T>(v); });
      if (want_b) std::transform(acc.begin() + N, acc.begin() + 2 * N, gb.data_ptr<T>(), [](double v) { return static_cast<T>(v); });
    });
    return grads(gx, gw, gb);
  });
}

}  // namespace ctorch
