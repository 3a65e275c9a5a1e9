#include "activation.hpp"

#include <cmath>

#include "../autograd/node.hpp"
#include "../core/kernels.hpp"
#include "elementwise.hpp"
#include "reduction.hpp"
#include "softmax_rows.hpp"

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

}  // namespace

// softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max): subtracting the max keeps huge logits finite.
// Backward, one fused pass per row: dx_i = y_i (g_i - sum_j g_j y_j).
Tensor softmax(const Tensor& a, int64_t dim) {
  Tensor out = along_dim(a, Tensor(), dim, "softmax", []<class T>(const T* x, const T*, T* y, int64_t n) {
    kernels::softmax_row(x, y, n);
  });
  int64_t d = dim;
  return record("SoftmaxBackward0", out, {a}, {out.detach()}, [d](const Saved& s, const Tensor& g) {
    return grads(along_dim(s[0], g, d, "softmax_backward", []<class T>(const T* y, const T* g, T* dx, int64_t n) {
      kernels::softmax_backward_row(y, g, dx, n);
    }));
  });
}

// log_softmax(x)_i = x_i - max - log(sum_j exp(x_j - max)). Backward: dx = g - exp(y) * sum(g).
Tensor log_softmax(const Tensor& a, int64_t dim) {
  Tensor out = along_dim(a, Tensor(), dim, "log_softmax", []<class T>(const T* x, const T*, T* y, int64_t n) {
    T m = kernels::row_max(x, n);
    double s = 0;
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::exp_shifted(x[i] - m);  // y as scratch
      s = kernels::row_sum(y, n);
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
