// Elementwise ops: each forward (the lambda given to the kernel) sits beside its backward rule
// (the lambda given to record). The engine sums every gradient back to its input's shape, so a
// rule may return a broadcast-shaped gradient.
#include "elementwise.hpp"

#include <cmath>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"
#include "inplace.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {
int category(ScalarType t) { return t == kBool ? 0 : t == kInt64 ? 1 : 2; }

// Arithmetic on bool tensors computes in int64, as PyTorch does for +, -, * with numbers.
ScalarType arithmetic_type(const Tensor& a, const Tensor& b) {
  ScalarType t = result_type(a, b);
  return t == kBool ? kInt64 : t;
}
ScalarType float_type(const Tensor& a, const Tensor& b) {  // true division always gives floats
  ScalarType t = result_type(a, b);
  return is_floating_point(t) ? t : kFloat32;
}
Tensor as_float(const Tensor& a) { return a.is_floating_point() ? a : a.to(kFloat32); }
}  // namespace

ScalarType result_type(const Tensor& a, const Tensor& b) {
  bool a0 = a.dim() == 0, b0 = b.dim() == 0;
  if (a0 != b0) {  // a 0-d tensor only decides the dtype when it is of a higher category
    const Tensor& dimmed = a0 ? b : a;
    const Tensor& zero_d = a0 ? a : b;
    if (category(zero_d.dtype()) <= category(dimmed.dtype())) return dimmed.dtype();
  }
  return promote_types(a.dtype(), b.dtype());
}

Tensor wrap_scalar(double v, const Tensor& like) {
  ScalarType t = like.dtype();
  if (!is_floating_point(t)) t = std::floor(v) == v ? kInt64 : kFloat32;
  if (like.dtype() == kBool && t == kInt64 && (v == 0 || v == 1)) t = kInt64;
  return scalar_tensor(v, t);
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  ScalarType t = result_type(a, b);  // bool + bool stays bool (true + true == true), like torch
  Tensor out = kernels::binary(a, b, t, t, "add", [alpha](auto x, auto y) {
    using T = decltype(x);
    return alpha == 1 ? x + y : static_cast<T>(x + static_cast<T>(alpha) * y);
  });
  return record("AddBackward0", out, {a, b}, {}, [alpha](const Saved&, const Tensor& g) {
    return grads(g, alpha == 1 ? g : g * alpha);
  });
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  CTORCH_CHECK(a.dtype() != kBool || b.dtype() != kBool, "sub: subtraction of two bool tensors is not supported");
  ScalarType t = arithmetic_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "sub", [alpha](auto x, auto y) {
    using T = decltype(x);
    return alpha == 1 ? x - y : static_cast<T>(x - static_cast<T>(alpha) * y);
  });
  return record("SubBackward0", out, {a, b}, {}, [alpha](const Saved&, const Tensor& g) {
    return grads(g, g * -alpha);
  });
}

// d(a*b)/da = b, d(a*b)/db = a
Tensor mul(const Tensor& a, const Tensor& b) {
  ScalarType t = result_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "mul", [](auto x, auto y) { return x * y; });
  return record("MulBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    return grads(s.needs_grad(0) ? g * s[1] : Tensor(), s.needs_grad(1) ? g * s[0] : Tensor());
  });
}

// d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
Tensor div(const Tensor& a, const Tensor& b) {
  ScalarType t = float_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "div", [](auto x, auto y) { return x / y; });
  return record("DivBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    return grads(s.needs_grad(0) ? g / s[1] : Tensor(), s.needs_grad(1) ? -g * s[0] / (s[1] * s[1]) : Tensor());
  });
}

Tensor neg(const Tensor& a) {
  CTORCH_CHECK(a.dtype() != kBool, "neg: negation of a bool tensor is not supported, use logical_not");
  Tensor out = kernels::unary(a, "neg", [](auto x) { return -x; });
  return record("NegBackward0", out, {a}, {}, [](const Saved&, const Tensor& g) { return grads(-g); });
}

// d(x^e)/dx = e x^(e-1)
Tensor pow(const Tensor& a, double e) {
  Tensor x = a.is_floating_point() || std::floor(e) != e ? as_float(a) : a;
  CTORCH_CHECK(x.is_floating_point() || e >= 0, "pow: Integers to negative integer powers are not allowed "
               "(a {} tensor to the power {})", dtype_name(x.dtype()), e);
  Tensor out = kernels::unary(x, "pow", [e](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) return static_cast<T>(std::pow(static_cast<double>(v), e));
    else return e == 2 ? v * v : e == 3 ? v * v * v : std::pow(v, static_cast<T>(e));  // as torch's PowKernel
  });
  return record("PowBackward0", out, {x}, {x}, [e](const Saved& s, const Tensor& g) {
    if (e == 0) return grads(zeros_like(g));
    return grads(g * (e * pow(s[0], e - 1)));
  });
}

// d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log(a) (taken as 0 where a == 0 and b >= 0, like PyTorch)
Tensor pow(const Tensor& a, const Tensor& b) {
  ScalarType t = result_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "pow", [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_integral_v<T>) return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
    else return std::pow(x, y);
  });
  return record("PowBackward1", out, {a, b}, {a, b, out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor ga, gb;
    if (s.needs_grad(0)) ga = where(s[1] == 0.0, zeros_like(g), g * s[1] * pow(s[0], s[1] - 1.0));
    if (s.needs_grad(1)) gb = where((s[0] == 0.0) & (s[1] >= 0.0), zeros_like(g), g * s[2] * log(s[0]));
    return grads(ga, gb);
  });
}

Tensor pow(double base, const Tensor& e) { return pow(wrap_scalar(base, e), e); }

// d(e^x)/dx = e^x: the rule saves the output, not the input
Tensor exp(const Tensor& a) {
  Tensor out = kernels::unary_float(as_float(a), "exp", [](auto x) { return std::exp(x); });
  return record("ExpBackward0", out, {a}, {out.detach()}, [](const Saved& s, const Tensor& g) {
    return grads(g * s[0]);
  });
}

Tensor log(const Tensor& a) {
  Tensor out = kernels::unary_float(as_float(a), "log", [](auto x) { return std::log(x); });
  return record("LogBackward0", out, {a}, {a}, [](const Saved& s, const Tensor& g) { return grads(g / s[0]); });
}

// d(sqrt x)/dx = 1 / (2 sqrt x)
Tensor sqrt(const Tensor& a) {
  Tensor out = kernels::unary_float(as_float(a), "sqrt", [](auto x) { return std::sqrt(x); });
  return record("SqrtBackward0", out, {a}, {out.detach()}, [](const Saved& s, const Tensor& g) {
    return grads(g / (2.0 * s[0]));
  });
}

Tensor sign(const Tensor& a) {
  Tensor out = kernels::unary(a, "sign", [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_same_v<T, bool>) return x;
    else return static_cast<T>((T(0) < x) - (x < T(0)));
  });
  return record("SignBackward0", out, {a}, {}, [](const Saved&, const Tensor& g) { return grads(zeros_like(g)); });
}

// d|x|/dx = sign(x) (0 at 0, like PyTorch)
Tensor abs(const Tensor& a) {
  Tensor out = kernels::unary(a, "abs", [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_same_v<T, bool>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  });
  return record("AbsBackward0", out, {a}, {a}, [](const Saved& s, const Tensor& g) { return grads(g * sign(s[0])); });
}

Tensor sin(const Tensor& a) {
  Tensor out = kernels::unary_float(as_float(a), "sin", [](auto x) { return std::sin(x); });
  return record("SinBackward0", out, {a}, {a}, [](const Saved& s, const Tensor& g) { return grads(g * cos(s[0])); });
}

Tensor cos(const Tensor& a) {
  Tensor out = kernels::unary_float(as_float(a), "cos", [](auto x) { return std::cos(x); });
  return record("CosBackward0", out, {a}, {a}, [](const Saved& s, const Tensor& g) { return grads(-g * sin(s[0])); });
}

Tensor square(const Tensor& a) { return pow(a.dtype() == kBool ? a.to(kInt64) : a, 2.0); }

// The gradient flows where min <= x <= max.
Tensor clamp(const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
  CTORCH_CHECK(lo || hi, "clamp: at least one of 'min' or 'max' must not be None");
  Tensor out = kernels::unary(a, "clamp", [lo, hi](auto x) {
    using T = decltype(x);
    if (lo && x < static_cast<T>(*lo)) x = static_cast<T>(*lo);
    if (hi && x > static_cast<T>(*hi)) x = static_cast<T>(*hi);  // max wins when min > max, like PyTorch
    return x;
  });
  return record("ClampBackward1", out, {a}, {a}, [lo, hi](const Saved& s, const Tensor& g) {
    Tensor x = s[0];
    Tensor keep = ones_like(x, kBool);
    if (lo) keep = keep & (x >= *lo);
    if (hi) keep = keep & (x <= *hi);
    return grads(g * keep);
  });
}

// Ties split the gradient evenly between a and b, as PyTorch does.
Tensor maximum(const Tensor& a, const Tensor& b) {
  ScalarType t = result_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "maximum", [](auto x, auto y) {
    if constexpr (std::is_floating_point_v<decltype(x)>)
      if (std::isnan(x) || std::isnan(y)) return x + y;  // NaN propagates
    return x > y ? x : y;
  });
  return record("MaximumBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    Tensor share = (s[0] > s[1]).to(g.dtype()) + 0.5 * (s[0] == s[1]).to(g.dtype());
    return grads(g * share, g * (1.0 - share));
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  ScalarType t = result_type(a, b);
  Tensor out = kernels::binary(a, b, t, t, "minimum", [](auto x, auto y) {
    if constexpr (std::is_floating_point_v<decltype(x)>)
      if (std::isnan(x) || std::isnan(y)) return x + y;
    return x < y ? x : y;
  });
  return record("MinimumBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    Tensor share = (s[0] < s[1]).to(g.dtype()) + 0.5 * (s[0] == s[1]).to(g.dtype());
    return grads(g * share, g * (1.0 - share));
  });
}

#define CTORCH_COMPARISON(name, op)                                                              \
  Tensor name(const Tensor& a, const Tensor& b) {                                                \
    return kernels::binary(a, b, result_type(a, b), kBool, #name, [](auto x, auto y) { return x op y; }); \
  }
CTORCH_COMPARISON(eq, ==)
CTORCH_COMPARISON(ne, !=)
CTORCH_COMPARISON(lt, <)
CTORCH_COMPARISON(le, <=)
CTORCH_COMPARISON(gt, >)
CTORCH_COMPARISON(ge, >=)
#undef CTORCH_COMPARISON

Tensor operator&(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dtype() == kBool && b.dtype() == kBool, "logical_and: expected bool tensors, got {} and {}",
               dtype_name(a.dtype()), dtype_name(b.dtype()));
  return kernels::binary(a, b, kBool, kBool, "logical_and", [](auto x, auto y) { return x && y; });
}
Tensor operator|(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dtype() == kBool && b.dtype() == kBool, "logical_or: expected bool tensors, got {} and {}",
               dtype_name(a.dtype()), dtype_name(b.dtype()));
  return kernels::binary(a, b, kBool, kBool, "logical_or", [](auto x, auto y) { return x || y; });
}
Tensor operator!(const Tensor& a) {
  CTORCH_CHECK(a.dtype() == kBool, "logical_not: expected a bool tensor, got {}", dtype_name(a.dtype()));
  return kernels::unary(a, "logical_not", [](auto x) { return !x; });
}

// where(c, a, b) picks a where c is true: the gradient goes to whichever side was picked.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(cond.dtype() == kBool, "where: condition must be a bool tensor, got {}", dtype_name(cond.dtype()));
  ScalarType t = result_type(a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor x = a.dtype() == t ? a : a.detach().to(t), y = b.dtype() == t ? b : b.detach().to(t);
  Tensor out = empty(shape, t);
  dispatch(t, [&]<class T>() {
    std::array<Shape, 4> st{contiguous_strides(shape), kernels::broadcast_strides(cond, shape),
                            kernels::broadcast_strides(x, shape), kernels::broadcast_strides(y, shape)};
    kernels::for_each_row<4>(shape, st,
                             {static_cast<char*>(out.raw_data()), static_cast<char*>(cond.raw_data()),
                              static_cast<char*>(x.raw_data()), static_cast<char*>(y.raw_data())},
                             {sizeof(T), sizeof(bool), sizeof(T), sizeof(T)},
                             [](std::array<char*, 4> p, int64_t n, std::array<int64_t, 4> k) {
                               T* o = reinterpret_cast<T*>(p[0]);
                               const bool* c = reinterpret_cast<const bool*>(p[1]);
                               const T* u = reinterpret_cast<const T*>(p[2]);
                               const T* v = reinterpret_cast<const T*>(p[3]);
                               for (int64_t i = 0; i < n; ++i) o[i * k[0]] = c[i * k[1]] ? u[i * k[2]] : v[i * k[3]];
                             });
  });
  return record("WhereBackward0", out, {a, b}, {cond}, [](const Saved& s, const Tensor& g) {
    Tensor zero = zeros({}, g.dtype());
    return grads(where(s[0], g, zero), where(s[0], zero, g));
  });
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  CTORCH_CHECK(mask.dtype() == kBool, "masked_fill: mask must be a bool tensor, got {}", dtype_name(mask.dtype()));
  Shape shape = broadcast_shapes(a.sizes(), mask.sizes(), "masked_fill");
  CTORCH_CHECK(same_shape(shape, a.sizes()), "masked_fill: mask of shape {} does not broadcast to the tensor's shape {}",
               shape_str(mask.sizes()), shape_str(a.sizes()));
  return where(mask, scalar_tensor(value, a.dtype()), a);
}

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, wrap_scalar(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, wrap_scalar(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, wrap_scalar(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, wrap_scalar(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(wrap_scalar(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(wrap_scalar(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(wrap_scalar(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(wrap_scalar(a, b), b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, double b) { return eq(a, wrap_scalar(b, a)); }
Tensor operator!=(const Tensor& a, double b) { return ne(a, wrap_scalar(b, a)); }
Tensor operator<(const Tensor& a, double b) { return lt(a, wrap_scalar(b, a)); }
Tensor operator<=(const Tensor& a, double b) { return le(a, wrap_scalar(b, a)); }
Tensor operator>(const Tensor& a, double b) { return gt(a, wrap_scalar(b, a)); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, wrap_scalar(b, a)); }
Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
Tensor& operator+=(Tensor& a, double b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, double b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, double b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, double b) { return a.div_(b); }

// ---- methods ----
Tensor Tensor::add(const Tensor& o, double alpha) const { return ctorch::add(*this, o, alpha); }
Tensor Tensor::sub(const Tensor& o, double alpha) const { return ctorch::sub(*this, o, alpha); }
Tensor Tensor::mul(const Tensor& o) const { return ctorch::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return ctorch::div(*this, o); }
Tensor Tensor::neg() const { return ctorch::neg(*this); }
Tensor Tensor::pow(const Tensor& e) const { return ctorch::pow(*this, e); }
Tensor Tensor::pow(double e) const { return ctorch::pow(*this, e); }
Tensor Tensor::exp() const { return ctorch::exp(*this); }
Tensor Tensor::log() const { return ctorch::log(*this); }
Tensor Tensor::sqrt() const { return ctorch::sqrt(*this); }
Tensor Tensor::abs() const { return ctorch::abs(*this); }
Tensor Tensor::sin() const { return ctorch::sin(*this); }
Tensor Tensor::cos() const { return ctorch::cos(*this); }
Tensor Tensor::square() const { return ctorch::square(*this); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return ctorch::clamp(*this, lo, hi); }
Tensor Tensor::maximum(const Tensor& o) const { return ctorch::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return ctorch::minimum(*this, o); }
Tensor Tensor::eq(const Tensor& o) const { return ctorch::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return ctorch::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return ctorch::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return ctorch::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return ctorch::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return ctorch::ge(*this, o); }
Tensor Tensor::masked_fill(const Tensor& mask, double v) const { return ctorch::masked_fill(*this, mask, v); }

// ---- in place: the same math written into this tensor's storage ----
Tensor& Tensor::add_(const Tensor& o, double alpha) {
  return inplace_update(*this, o, "add_", [&](const Tensor& self) { return ctorch::add(self, o, alpha); },
                        [alpha](auto x, auto y) { return alpha == 1 ? x + y : x + static_cast<decltype(x)>(alpha) * y; });
}
Tensor& Tensor::sub_(const Tensor& o, double alpha) {
  return inplace_update(*this, o, "sub_", [&](const Tensor& self) { return ctorch::sub(self, o, alpha); },
                        [alpha](auto x, auto y) { return alpha == 1 ? x - y : x - static_cast<decltype(x)>(alpha) * y; });
}
Tensor& Tensor::mul_(const Tensor& o) {
  return inplace_update(*this, o, "mul_", [&](const Tensor& self) { return ctorch::mul(self, o); }, [](auto x, auto y) { return x * y; });
}
Tensor& Tensor::div_(const Tensor& o) {
  CTORCH_CHECK(is_floating_point(), "div_: result type float can't be cast to the desired output type {}",
               dtype_name(dtype()));
  return inplace_update(*this, o, "div_", [&](const Tensor& self) { return ctorch::div(self, o); }, [](auto x, auto y) { return x / y; });
}
Tensor& Tensor::add_(double s) { return add_(wrap_scalar(s, *this)); }
Tensor& Tensor::sub_(double s) { return sub_(wrap_scalar(s, *this)); }
Tensor& Tensor::mul_(double s) { return mul_(wrap_scalar(s, *this)); }
Tensor& Tensor::div_(double s) { return div_(wrap_scalar(s, *this)); }
Tensor& Tensor::clamp_(std::optional<double> lo, std::optional<double> hi) {
  Tensor none = zeros({}, dtype());
  return inplace_update(*this, none, "clamp_", [&](const Tensor& self) { return ctorch::clamp(self, lo, hi); }, [lo, hi](auto x, auto) {
    using T = decltype(x);
    if (lo && x < static_cast<T>(*lo)) x = static_cast<T>(*lo);
    if (hi && x > static_cast<T>(*hi)) x = static_cast<T>(*hi);
    return x;
  });
}
// Tracked, fill_ and copy_ compute where(true, new value, self): self stays in the graph with a zero
// gradient (and src gets g), as in torch, instead of the tensor turning into a leaf.
Tensor& Tensor::fill_(double v) {
  Tensor value = scalar_tensor(v, dtype());
  return inplace_update(*this, value, "fill_",
                        [&](const Tensor& self) { return where(ones_like(self, kBool), value, self); },
                        [](auto, auto y) { return y; });
}
Tensor& Tensor::zero_() { return fill_(0); }
Tensor& Tensor::copy_(const Tensor& src) {
  return inplace_update(*this, src, "copy_",
                        [&](const Tensor& self) { return where(ones_like(self, kBool), src.to(self.dtype()), self); },
                        [](auto, auto y) { return y; });
}

}  // namespace ctorch
