#include "clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "../autograd/grad_mode.hpp"
#include "../core/factories.hpp"

namespace ctorch::nn::utils {

namespace {

// torch.norm(x, p) of a flat list of values, accumulated in double: p = inf / -inf take the
// largest / smallest |x|, p = 0 counts the non-zeros.
struct NormAcc {
  double p;
  double acc;
  explicit NormAcc(double p)
      : p(p), acc(p == -std::numeric_limits<double>::infinity() ? std::numeric_limits<double>::infinity() : 0) {}
  void add(double x) {
    double a = std::abs(x);
    if (std::isnan(a)) acc = a;  // propagates (torch's max/sum do)
    else if (std::isnan(acc)) return;
    else if (std::isinf(p)) acc = p > 0 ? std::max(acc, a) : std::min(acc, a);
    else if (p == 0) acc += a != 0;
    else if (p == 1) acc += a;
    else if (p == 2) acc += a * a;
    else acc += std::pow(a, p);
  }
  double result() const {
    if (std::isinf(p) || p == 0 || p == 1 || std::isnan(acc)) return acc;
    if (p == 2) return std::sqrt(acc);
    return std::pow(acc, 1 / p);
  }
};

double grad_norm(const Tensor& g, double p) {
  NormAcc acc(p);
  Tensor c = g.contiguous();
  dispatch_floating(c.dtype(), "clip_grad_norm_", [&]<class T>() {
    const T* x = c.data_ptr<T>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i) acc.add(static_cast<double>(x[i]));
  });
  return acc.result();
}

std::vector<Tensor> grads_of(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    CTORCH_CHECK(p.defined(), "clip_grad: undefined Tensor in parameters");
    Tensor g = p.grad();
    if (g.defined()) grads.push_back(g);
  }
  return grads;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  std::vector<Tensor> grads = grads_of(parameters);
  if (grads.empty()) return scalar_tensor(0.0);
  NoGradGuard no_grad;
  ScalarType dtype = grads[0].dtype();
  for (const Tensor& g : grads) dtype = promote_types(dtype, g.dtype());
  NormAcc total(norm_type);  // torch: the norm of the per-grad norms
  for (const Tensor& g : grads) total.add(grad_norm(g, norm_type));
  Tensor total_norm = scalar_tensor(total.result(), dtype);
  const double tn = total_norm.item<double>();
  CTORCH_CHECK(!(error_if_nonfinite && (std::isnan(tn) || std::isinf(tn))),
               "The total norm of order {} for gradients from `parameters` is non-finite, so it cannot be clipped. To "
               "disable this error and scale the gradients by the non-finite norm anyway, set "
               "`error_if_nonfinite=False`",
               norm_type);
  dispatch_floating(dtype, "clip_grad_norm_", [&]<class T>() {
    // torch: clip_coef = max_norm / (total_norm + 1e-6) on a tensor of the grads' dtype, which
    // Python evaluates as (total_norm + 1e-6).reciprocal() * max_norm; then clamp(max=1.0).
    T coef = (T(1) / (static_cast<T>(tn) + static_cast<T>(1e-6))) * static_cast<T>(max_norm);
    if (coef > T(1)) coef = T(1);
    for (Tensor& g : grads) g.mul_(static_cast<double>(coef));
  });
  return total_norm;
}

Tensor clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  NoGradGuard no_grad;
  for (Tensor& g : grads_of(parameters)) g.clamp_(-clip_value, clip_value);
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

}  // namespace ctorch::nn::utils
