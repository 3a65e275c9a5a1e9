#include "activation.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../autograd/node.hpp"
#include "../core/kernels.hpp"
#include "elementwise.hpp"
#include "reduction.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

// relu(x) = max(x, 0); the gradient passes where the output is positive
Tensor relu(const Tensor& a) {
  Tensor out = kernels::unary(a, "relu", [](auto x) { return x > decltype(x)(0) ? x : decltype(x)(0); });
  return record("ReluBackward0", out, {a}, {out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor y = s[0].dtype() == g.dtype() ? s[0] : s[0].to(g.dtype());
    return grads(kernels::binary(g, y, g.dtype(), g.dtype(), "relu_backward", [](auto gv, auto yv) {
      return yv > decltype(yv)(0) ? gv : decltype(gv)(0);
    }));
  });
}

// sigmoid' = y (1 - y), from the saved output y; written so that large |x| stays finite
Tensor sigmoid(const Tensor& a) {
  Tensor x = a.is_floating_point() ? a : a.to(kFloat32);  // integers compute in float32, like torch
  Tensor out = kernels::unary_float(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    return v >= T(0) ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
  });
  return record("SigmoidBackward0", out, {a}, {out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor y = s[0];
    return grads(g * y * (1.0 - y));
  });
}

// tanh' = 1 - y^2
Tensor tanh(const Tensor& a) {
  Tensor x = a.is_floating_point() ? a : a.to(kFloat32);  // integers compute in float32, like torch
  Tensor out = kernels::unary_float(x, "tanh", [](auto v) { return std::tanh(v); });
  return record("TanhBackward0", out, {a}, {out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor y = s[0];
    return grads(g * (1.0 - y * y));
  });
}

constexpr double kSqrt1_2 = 0.70710678118654752440, kSqrt2_pi = 0.79788456080286535588;

// gelu(x) = x Phi(x), Phi the normal CDF; gelu'(x) = Phi(x) + x phi(x), phi the normal density.
// The tanh form: 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi), differentiated as written.
Tensor gelu(const Tensor& a, const std::string& approximate) {
  CTORCH_CHECK(approximate == "none" || approximate == "tanh",
               "gelu: approximate must be 'none' or 'tanh', got '{}'", approximate);
  bool use_tanh = approximate == "tanh";
  Tensor out = kernels::unary_float(a, "gelu", [use_tanh](auto x) {
    using T = decltype(x);
    if (use_tanh) return T(0.5) * x * (T(1) + std::tanh(T(kSqrt2_pi) * (x + T(0.044715) * x * x * x)));
    return x * T(0.5) * (T(1) + std::erf(x * T(kSqrt1_2)));
  });
  return record("GeluBackward0", out, {a}, {a}, [use_tanh](const Saved& s, const Tensor& g) {
    Tensor dx = kernels::unary_float(s[0], "gelu_backward", [use_tanh](auto x) {
      using T = decltype(x);
      if (use_tanh) {
        T inner = T(kSqrt2_pi) * (x + T(0.044715) * x * x * x);
        T t = std::tanh(inner);
        T dinner = T(kSqrt2_pi) * (T(1) + T(3 * 0.044715) * x * x);
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
      }
      T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrt1_2)));
      T pdf = std::exp(T(-0.5) * x * x) * T(kSqrt2_pi * 0.5);
      return cdf + x * pdf;
    });
    return grads(g * dx);
  });
}

namespace {
// Runs f(row_a, row_b, row_out, n) over every 1-D row along `dim` (row_b is null when b is
// undefined; b has a's shape), and returns the output in a's layout.
template <class F>
Tensor along_dim(const Tensor& a, const Tensor& b, int64_t dim, const char* op, F&& f) {
  CTORCH_CHECK(a.is_floating_point(), "{}: expected a floating point tensor, got {}", op, dtype_name(a.dtype()));
  dim = wrap_dim(dim, a.dim(), op);
  int64_t last = std::max<int64_t>(a.dim() - 1, 0);
  auto rows = [&](const Tensor& t) { return t.detach().to(a.dtype()).transpose(dim, last).contiguous(); };
  Tensor x = rows(a);
  Tensor y = b.defined() ? rows(b) : Tensor();
  Tensor out = empty(x.sizes(), x.dtype());
  int64_t n = a.dim() == 0 ? 1 : x.size(last);
  dispatch_floating(a.dtype(), op, [&]<class T>() {
    const T* p = static_cast<const T*>(x.raw_data());
    const T* q = y.defined() ? static_cast<const T*>(y.raw_data()) : nullptr;
    T* o = static_cast<T*>(out.raw_data());
    for (int64_t r = 0, count = n ? x.numel() / n : 0; r < count; ++r)
      f(p + r * n, q ? q + r * n : nullptr, o + r * n, n);
  });
  return dim == last ? out : out.transpose(dim, last).contiguous();
}

// e^x for softmax's shifted logits (x <= 0, or NaN) in plain arithmetic the compiler vectorises
// (std::exp is a library call per element: softmax ran 4-6x slower than torch's): e^x = 2^k e^r,
// k = round(x log2(e)), r = x - k ln(2) with ln(2) split in two so r is exact, e^r by Cephes'
// degree-6 polynomial on |r| <= ln(2)/2. Within 1 ulp of e^x at every float in (-87, 0]; 0 below, where e^x
// leaves float's normal range; NaN stays NaN.
inline float exp_shifted(float x) {
  float xc = x > -87.0f ? x : -87.0f;  // also maps NaN to -87
  float t = xc * 1.44269504088896341f + 12582912.0f;  // k = round(x log2(e)) in t's low bits (2^23 + 2^22)
  float k = t - 12582912.0f;
  int32_t kb = std::bit_cast<int32_t>(t) - 0x4B400000;
  float r = (xc - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = (p * r * r + r + 1.0f) * std::bit_cast<float>((kb + 127) << 23);
  float z = x > -87.0f ? e : 0.0f;
  return x == x ? z : x;
}

// Row maximum and sum in independent lanes, so that the loops vectorise without reordering any
// single lane's arithmetic (no -ffast-math). The max uses GCC's vector extension (GCC will not
// vectorise a max reduction itself); NaNs are skipped by the max and come out of exp.
template <class T> struct Vec16;  // 16 bytes of T, one SSE register (vector_size needs a non-dependent type)
template <> struct Vec16<float> { typedef float type __attribute__((vector_size(16))); };
template <> struct Vec16<double> { typedef double type __attribute__((vector_size(16))); };
template <class T> T row_max(const T* x, int64_t n) {
  using V = typename Vec16<T>::type;
  constexpr int64_t W = sizeof(V) / sizeof(T);
  T m = x[0];
  int64_t i = 0;
  if (n >= W) {
    V acc, v;
    std::memcpy(&acc, x, sizeof(V));
    for (i = W; i + W <= n; i += W) {
      std::memcpy(&v, x + i, sizeof(V));
      acc = v > acc ? v : acc;
    }
    for (int64_t k = 0; k < W; ++k) m = acc[k] > m ? acc[k] : m;
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}
constexpr int kLanes = 16;
template <class T> double row_sum(const T* x, int64_t n) {
  T lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += x[i + k];
  double s = 0;
  for (; i < n; ++i) s += x[i];
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  return s;
}
}  // namespace

// softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max): subtracting the max keeps huge logits finite.
// Backward, one fused pass per row: dx_i = y_i (g_i - sum_j g_j y_j).
Tensor softmax(const Tensor& a, int64_t dim) {
  Tensor out = along_dim(a, Tensor(), dim, "softmax", []<class T>(const T* x, const T*, T* y, int64_t n) {
    T m = row_max(x, n);
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, float>) y[i] = exp_shifted(x[i] - m);
      else y[i] = std::exp(x[i] - m);
    }
    T inv = static_cast<T>(1.0 / row_sum(y, n));
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  });
  int64_t d = dim;
  return record("SoftmaxBackward0", out, {a}, {out.detach()}, [d](const Saved& s, const Tensor& g) {
    return grads(along_dim(s[0], g, d, "softmax_backward", []<class T>(const T* y, const T* g, T* dx, int64_t n) {
      for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * y[i];
      T dot = static_cast<T>(row_sum(dx, n));
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (g[i] - dot);
    }));
  });
}

// log_softmax(x)_i = x_i - max - log(sum_j exp(x_j - max)). Backward: dx = g - exp(y) * sum(g).
Tensor log_softmax(const Tensor& a, int64_t dim) {
  Tensor out = along_dim(a, Tensor(), dim, "log_softmax", []<class T>(const T* x, const T*, T* y, int64_t n) {
    T m = row_max(x, n);
    double s = 0;
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t i = 0; i < n; ++i) y[i] = exp_shifted(x[i] - m);  // y as scratch
      s = row_sum(y, n);
    } else {
      for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    }
    // (x_i - max) - log(s) in this order, as torch does: max + log(s) would round to the spacing
    // of max (~1e-3 at logits of 1e4) and lose the small log-probabilities.
    T log_s = static_cast<T>(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - m - log_s;
  });
  int64_t d = dim;
  return record("LogSoftmaxBackward0", out, {a}, {out.detach()}, [d](const Saved& s, const Tensor& g) {
    return grads(g - exp(s[0]) * g.sum(d, true));
  });
}

Tensor Tensor::relu() const { return ctorch::relu(*this); }
Tensor Tensor::sigmoid() const { return ctorch::sigmoid(*this); }
Tensor Tensor::tanh() const { return ctorch::tanh(*this); }
Tensor Tensor::softmax(int64_t dim) const { return ctorch::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return ctorch::log_softmax(*this, dim); }

}  // namespace ctorch
