// Loss functions, as torch.nn.functional defines them. Simple ones are compositions of
// differentiable ops (their backward is derived); cross-entropy and the binary cross-entropies
// are fused ops with their backward written out beside them.
#include <cmath>
#include <cstdio>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"
#include "../ops/elementwise.hpp"
#include "../ops/indexing.hpp"
#include "../ops/reduction.hpp"
#include "../ops/shape.hpp"
#include "functional.hpp"

namespace ctorch::nn::functional {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

void check_reduction(const std::string& r, const char* op) {
  CTORCH_CHECK(r == "mean" || r == "sum" || r == "none", "{}: {} is not a valid value for reduction", op, r);
}

Tensor reduce(const Tensor& loss, const std::string& reduction) {
  if (reduction == "mean") return loss.mean();
  if (reduction == "sum") return loss.sum();
  return loss;
}

// Regression losses broadcast input and target like PyTorch, warning when the shapes differ
// (the classic bug: predictions [N, 1] against targets [N] broadcast to [N, N]).
void check_regression(const Tensor& input, const Tensor& target, const char* op, const std::string& reduction) {
  check_reduction(reduction, op);
  CTORCH_CHECK(input.is_floating_point() && target.is_floating_point(),
               "{}: expected floating point input and target, got {} and {}", op, dtype_name(input.dtype()),
               dtype_name(target.dtype()));
  if (!same_shape(input.sizes(), target.sizes())) {
    broadcast_shapes(input.sizes(), target.sizes(), op);  // throws when they cannot broadcast
    std::fprintf(stderr,
                 "UserWarning: %s: using a target size (%s) that is different to the input size (%s). This will "
                 "likely lead to incorrect results due to broadcasting. Please ensure they have the same size.\n",
                 op, shape_str(target.sizes()).c_str(), shape_str(input.sizes()).c_str());
  }
}

}  // namespace

// mean or sum of (x - y)^2 as one fused op when nothing broadcasts (the common case); the rest
// (reduction "none", broadcasting, mixed dtypes) is composed of differentiable ops.
// d/dx = norm * (x - y) * g, d/dy = -d/dx, with norm = 2/N for the mean and 2 for the sum.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_regression(input, target, "mse_loss", reduction);
  if (reduction == "none" || !same_shape(input.sizes(), target.sizes()) || input.dtype() != target.dtype() ||
      !input.is_contiguous() || !target.is_contiguous()) {
    Tensor d = input - target;
    return reduce(d * d, reduction);
  }
  int64_t n = input.numel();
  double scale = reduction == "mean" ? 1.0 / static_cast<double>(n) : 1.0;  // mean of nothing: nan
  Tensor out = empty({}, input.dtype());
  dispatch_floating(input.dtype(), "mse_loss", [&]<class T>() {
    const T* x = static_cast<const T*>(input.raw_data());
    const T* y = static_cast<const T*>(target.raw_data());
    double part[4] = {};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int k = 0; k < 4; ++k) {
        double d = static_cast<double>(x[i + k]) - static_cast<double>(y[i + k]);
        part[k] += d * d;
      }
    double sum = part[0] + part[1] + part[2] + part[3];
    for (; i < n; ++i) {
      double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
      sum += d * d;
    }
    *static_cast<T*>(out.raw_data()) = static_cast<T>(sum * scale);
  });
  return record("MseLossBackward0", out, {input, target}, {input, target}, [scale](const Saved& s, const Tensor& g) {
    Tensor x = s[0], y = s[1], gx = empty(x.sizes(), x.dtype()), gy;
    dispatch_floating(x.dtype(), "mse_loss_backward", [&]<class T>() {
      const T* px = static_cast<const T*>(x.raw_data());
      const T* py = static_cast<const T*>(y.raw_data());
      T* o = static_cast<T*>(gx.raw_data());
      T norm = static_cast<T>(2 * scale), gv = g.item<T>();
      for (int64_t i = 0, n = x.numel(); i < n; ++i) o[i] = (px[i] - py[i]) * norm * gv;
    });
    if (s.needs_grad(1)) gy = -gx;
    return grads(s.needs_grad(0) ? gx : Tensor(), gy);
  });
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_regression(input, target, "l1_loss", reduction);
  return reduce(abs(input - target), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  check_regression(input, target, "huber_loss", reduction);
  CTORCH_CHECK(delta > 0, "huber_loss: delta must be positive, got {}", delta);
  Tensor d = input - target, a = abs(d);
  return reduce(where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  check_regression(input, target, "smooth_l1_loss", reduction);
  CTORCH_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got {}", beta);
  Tensor d = input - target, a = abs(d);
  if (beta == 0) return reduce(a, reduction);
  return reduce(where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta), reduction);
}

namespace {

// Logits [N, C, d1, ...] as rows [M, C] with the class dim last (no copy for the usual [N, C]).
Tensor class_rows(const Tensor& input) {
  if (input.dim() <= 2) return input.dim() == 1 ? input.unsqueeze(0) : input;
  Shape perm{0};
  for (int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  return input.permute(perm).reshape({-1, input.size(1)});
}

// The shape a per-sample loss has under reduction "none": input's shape without the class dim.
Shape sample_shape(const Tensor& input) {
  Shape s;
  for (int64_t d = 0; d < input.dim(); ++d)
    if (d != (input.dim() == 1 ? 0 : 1)) s.push_back(input.size(d));
  return s;
}

// Fused cross-entropy on class indices. For a row x with target t, p = softmax(x):
//   loss = (1 - eps) * w[t] * (-log p[t]) + eps / C * sum_c w[c] * (-log p[c])
//   dloss/dx[c] = (1 - eps) * w[t] * (p[c] - [c == t]) + eps / C * (p[c] * sum_k w[k] - w[c])
// Ignored rows contribute nothing; "mean" divides by the sum of w[t] over the rows kept.
Tensor cross_entropy_indices(const Tensor& input, const Tensor& target, const CrossEntropyOptions& o) {
  int64_t C = input.dim() == 1 ? input.size(0) : input.size(1);
  Shape want = sample_shape(input);
  CTORCH_CHECK(same_shape(target.sizes(), want),
               "cross_entropy: expected target of shape {} for input of shape {}, got target of shape {}",
               shape_str(want), shape_str(input.sizes()), shape_str(target.sizes()));
  CTORCH_CHECK(!o.weight.defined() || (o.weight.dim() == 1 && o.weight.size(0) == C),
               "cross_entropy: weight tensor should be defined either for all {} classes or no classes but got weight "
               "tensor of shape: {}", C, shape_str(o.weight.sizes()));
  Tensor rows = class_rows(input).detach().contiguous();
  std::vector<int64_t> t = target.reshape({-1}).to_vector<int64_t>();
  int64_t M = rows.size(0);
  double eps = o.label_smoothing;
  Tensor per_row = empty({M}, input.dtype());
  Tensor probs = empty({M, C}, input.dtype());
  double denom = 0;
  dispatch_floating(input.dtype(), "cross_entropy", [&]<class T>() {
    std::vector<double> w(C, 1.0);
    if (o.weight.defined()) w = o.weight.to_vector<double>();
    double wsum = 0;
    for (double x : w) wsum += x;
    const T* x = rows.data_ptr<T>();
    T* p = probs.data_ptr<T>();
    T* l = per_row.data_ptr<T>();
    for (int64_t i = 0; i < M; ++i, x += C, p += C) {
      int64_t ti = t[i];
      if (ti == o.ignore_index) {
        l[i] = 0;
        for (int64_t c = 0; c < C; ++c) p[c] = 0;
        continue;
      }
      CTORCH_CHECK(ti >= 0 && ti < C, "cross_entropy: target {} is out of bounds for {} classes", ti, C);
      T m = x[0];
      for (int64_t c = 1; c < C; ++c) m = std::max(m, x[c]);
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(x[c] - m));
      double lse = std::log(s) + m;
      double smooth = 0;
      for (int64_t c = 0; c < C; ++c) {
        double logp = x[c] - lse;
        p[c] = static_cast<T>(std::exp(logp));
        smooth -= w[c] * logp;
      }
      double nll = -w[ti] * (x[ti] - lse);
      l[i] = static_cast<T>((1 - eps) * nll + eps / C * smooth);
      denom += w[ti];
      (void)wsum;
    }
  });
  Tensor loss;
  if (o.reduction == "none") loss = per_row.view(want);
  else if (o.reduction == "sum") loss = per_row.sum();
  else loss = per_row.sum() / denom;
  std::string reduction = o.reduction;
  Tensor weight = o.weight.defined() ? o.weight.detach() : Tensor();
  int64_t ignore = o.ignore_index;
  Shape in_shape(input.sizes());
  return record("NllLossBackward0", loss, {input}, {probs, target}, [=](const Saved& s, const Tensor& g) {
    Tensor p = s[0];
    std::vector<int64_t> tv = s[1].reshape({-1}).to_vector<int64_t>();
    std::vector<double> gv = reduction == "none" ? g.reshape({-1}).to_vector<double>() : std::vector<double>{};
    double scale = reduction == "none" ? 1.0 : g.item() / (reduction == "mean" ? denom : 1.0);
    Tensor dx = empty({M, C}, p.dtype());
    dispatch_floating(p.dtype(), "cross_entropy_backward", [&]<class T>() {
      std::vector<double> w(C, 1.0);
      if (weight.defined()) w = weight.to_vector<double>();
      double wsum = 0;
      for (double x : w) wsum += x;
      const T* pp = p.data_ptr<T>();
      T* d = dx.data_ptr<T>();
      for (int64_t i = 0; i < M; ++i, pp += C, d += C) {
        int64_t ti = tv[i];
        double gi = reduction == "none" ? gv[i] : scale;
        if (ti == ignore) {
          for (int64_t c = 0; c < C; ++c) d[c] = 0;
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {
          double v = (1 - eps) * w[ti] * (pp[c] - (c == ti ? 1.0 : 0.0)) + eps / C * (pp[c] * wsum - w[c]);
          d[c] = static_cast<T>(gi * v);
        }
      }
    });
    // back from rows [M, C] to the input's layout
    if (in_shape.size() == 1) return grads(dx.view({C}));
    if (in_shape.size() == 2) return grads(dx);
    Shape moved{in_shape[0]};
    for (int64_t d = 2; d < in_shape.size(); ++d) moved.push_back(in_shape[d]);
    moved.push_back(C);
    Shape perm{0, in_shape.size() - 1};
    for (int64_t d = 1; d < in_shape.size() - 1; ++d) perm.push_back(d);
    return grads(dx.view(moved).permute(perm).contiguous());
  });
}

// Probability targets: loss = -sum_c w[c] * target[c] * log_softmax(x)[c] per sample (targets
// smoothed toward uniform by eps); "mean" divides by the number of samples.
Tensor cross_entropy_probs(const Tensor& input, const Tensor& target, const CrossEntropyOptions& o) {
  CTORCH_CHECK(same_shape(input.sizes(), target.sizes()),
               "cross_entropy: probability targets must have the shape of the input {}, got {}",
               shape_str(input.sizes()), shape_str(target.sizes()));
  CTORCH_CHECK(o.ignore_index < 0, "cross_entropy: ignore_index is not supported for floating point target");
  int64_t class_dim = input.dim() == 1 ? 0 : 1;
  int64_t C = input.size(class_dim);
  CTORCH_CHECK(!o.weight.defined() || (o.weight.dim() == 1 && o.weight.size(0) == C),
               "cross_entropy: weight tensor should be defined either for all {} classes or no classes but got weight "
               "tensor of shape: {}", C, shape_str(o.weight.sizes()));
  Tensor logp = log_softmax(input, class_dim);
  Tensor tgt = o.label_smoothing > 0 ? target * (1 - o.label_smoothing) + o.label_smoothing / C : target;
  Tensor prod = logp * tgt;
  if (o.weight.defined()) {
    Shape wshape(input.dim(), 1);
    wshape[class_dim] = C;
    prod = prod * o.weight.view(wshape);
  }
  Tensor per_sample = -prod.sum(class_dim);
  if (o.reduction == "none") return per_sample;
  if (o.reduction == "sum") return per_sample.sum();
  return per_sample.sum() / static_cast<double>(input.numel() / C);
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& o) {
  check_reduction(o.reduction, "cross_entropy");
  CTORCH_CHECK(input.is_floating_point(), "cross_entropy: expected floating point logits, got {}",
               dtype_name(input.dtype()));
  CTORCH_CHECK(input.dim() >= 1, "cross_entropy: input must have at least 1 dimension, got a 0-d tensor");
  CTORCH_CHECK(o.label_smoothing >= 0 && o.label_smoothing <= 1,
               "cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {}", o.label_smoothing);
  if (target.dtype() == kInt64) return cross_entropy_indices(input, target, o);
  CTORCH_CHECK(target.is_floating_point(),
               "cross_entropy: expected target of dtype int64 (class indices) or floating point (probabilities), got {}",
               dtype_name(target.dtype()));
  return cross_entropy_probs(input, target, o);
}

// nll(x, t) = -w[t] x[t]: a gather of the target's log-probability, so the backward is derived.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& o) {
  check_reduction(o.reduction, "nll_loss");
  CTORCH_CHECK(target.dtype() == kInt64, "nll_loss: expected target of dtype int64, got {}", dtype_name(target.dtype()));
  Shape want = sample_shape(input);
  CTORCH_CHECK(input.dim() >= 1 && same_shape(target.sizes(), want),
               "nll_loss: expected target of shape {} for input of shape {}, got {}", shape_str(want),
               shape_str(input.sizes()), shape_str(target.sizes()));
  CTORCH_CHECK(input.is_floating_point(), "nll_loss: expected floating point input (log-probabilities), got {}",
               dtype_name(input.dtype()));
  Tensor rows = class_rows(input);
  int64_t C = rows.size(1);
  CTORCH_CHECK(!o.weight.defined() || (o.weight.dim() == 1 && o.weight.size(0) == C),
               "nll_loss: weight tensor should be defined either for all {} classes or no classes but got weight tensor "
               "of shape: {}", C, shape_str(o.weight.sizes()));
  Tensor t = target.reshape({-1});
  Tensor keep = t != static_cast<double>(o.ignore_index);
  Tensor safe_t = where(keep, t, zeros({}, kInt64));
  for (int64_t v : t.to_vector<int64_t>())
    CTORCH_CHECK(v == o.ignore_index || (v >= 0 && v < C), "nll_loss: target {} is out of bounds for {} classes", v, C);
  Tensor w = o.weight.defined() ? o.weight.index_select(0, safe_t) : ones({t.size(0)}, input.dtype());
  w = w * keep.to(input.dtype());
  Tensor picked = rows.gather(1, safe_t.unsqueeze(1)).squeeze(1);
  Tensor per_row = -(picked * w);
  if (o.reduction == "none") return per_row.view(want);
  if (o.reduction == "sum") return per_row.sum();
  return per_row.sum() / w.sum();
}

// l = -w (y log x + (1 - y) log(1 - x)), each log clamped at -100 (PyTorch's rule).
// dl/dx = w (x - y) / max(x (1 - x), 1e-12); dl/dy = w (log(1 - x) - log(x)), not clamped (PyTorch's
// binary_cross_entropy_target_backward: infinite at x = 0 or 1).
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  check_reduction(reduction, "binary_cross_entropy");
  CTORCH_CHECK(same_shape(input.sizes(), target.sizes()),
               "binary_cross_entropy: using a target size ({}) that is different to the input size ({}) is deprecated. "
               "Please ensure they have the same size.", shape_str(target.sizes()), shape_str(input.sizes()));
  CTORCH_CHECK(input.is_floating_point() && target.is_floating_point(),
               "binary_cross_entropy: expected floating point input and target, got {} and {}",
               dtype_name(input.dtype()), dtype_name(target.dtype()));
  for (double v : input.to_vector<double>())
    CTORCH_CHECK(v >= 0 && v <= 1, "binary_cross_entropy: all elements of input should be between 0 and 1 (got {})", v);
  Tensor loss = kernels::binary(input, target, input.dtype(), input.dtype(), "binary_cross_entropy", [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      T lx = std::max(std::log(x), T(-100)), l1x = std::max(std::log(T(1) - x), T(-100));
      return -(y * lx + (T(1) - y) * l1x);
    } else {
      return x;  // unreachable: checked floating above
    }
  });
  loss = record("BinaryCrossEntropyBackward0", loss, {input, target}, {input, target}, [](const Saved& s, const Tensor& g) {
    Tensor x = s[0], y = s[1];
    Tensor gx = g * (x - y) / clamp(x * (1.0 - x), 1e-12);
    Tensor gy = s.needs_grad(1) ? g * (log(1.0 - x) - log(x)) : Tensor();
    return grads(gx, gy);
  });
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, reduction);
}

namespace {
// log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)), finite for any x.
Tensor softplus_neg(const Tensor& x) {
  return kernels::unary_float(x, "softplus", [](auto v) {
    using T = decltype(v);
    return std::max(-v, T(0)) + std::log1p(std::exp(-std::abs(v)));
  });
}
}  // namespace

// l = (1 - y) x + L softplus(-x) with L = 1 + (pos_weight - 1) y, computed stably;
// dl/dx = (1 - y) + L (sigmoid(x) - 1), dl/dy = -x + (pos_weight - 1) softplus(-x).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const std::string& reduction, const Tensor& pos_weight) {
  check_reduction(reduction, "binary_cross_entropy_with_logits");
  CTORCH_CHECK(same_shape(input.sizes(), target.sizes()),
               "binary_cross_entropy_with_logits: target size ({}) must be the same as input size ({})",
               shape_str(target.sizes()), shape_str(input.sizes()));
  CTORCH_CHECK(input.is_floating_point() && target.is_floating_point(),
               "binary_cross_entropy_with_logits: expected floating point input and target, got {} and {}",
               dtype_name(input.dtype()), dtype_name(target.dtype()));
  Tensor pw = pos_weight.defined() ? pos_weight.detach() : Tensor();
  Tensor sp = softplus_neg(input.detach());
  Tensor L = pw.defined() ? 1.0 + (pw - 1.0) * target.detach() : ones_like(sp);
  Tensor loss = (1.0 - target.detach()) * input.detach() + L * sp;
  loss = record("BinaryCrossEntropyWithLogitsBackward0", loss, {input, target}, {input, target},
                [pw](const Saved& s, const Tensor& g) {
                  Tensor x = s[0], y = s[1];
                  Tensor Lw = pw.defined() ? 1.0 + (pw - 1.0) * y : ones_like(x);
                  Tensor gx = g * ((1.0 - y) + Lw * (sigmoid(x) - 1.0));
                  Tensor gy;
                  if (s.needs_grad(1)) {
                    gy = g * (-x + (pw.defined() ? (pw - 1.0) * softplus_neg(x) : zeros_like(x)));
                  }
                  return grads(gx, gy);
                });
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, reduction);
}

Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, double margin, const std::string& reduction) {
  check_reduction(reduction, "hinge_embedding_loss");
  CTORCH_CHECK(input.is_floating_point(), "hinge_embedding_loss: expected floating point input, got {}",
               dtype_name(input.dtype()));
  broadcast_shapes(input.sizes(), target.sizes(), "hinge_embedding_loss");  // names both shapes when they differ
  Tensor zero = zeros({}, input.dtype());
  Tensor margin_part = where(target != 1.0, clamp(margin - input, 0.0), zero);
  Tensor self_part = where(target != -1.0, input, zero);
  return reduce(margin_part + self_part, reduction);
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p, double margin, const Tensor& weight,
                         const std::string& reduction) {
  check_reduction(reduction, "multi_margin_loss");
  CTORCH_CHECK(p == 1 || p == 2, "multi_margin_loss: only p == 1 and p == 2 supported, got {}", p);
  CTORCH_CHECK(target.dtype() == kInt64, "multi_margin_loss: expected int64 target, got {}", dtype_name(target.dtype()));
  CTORCH_CHECK(input.is_floating_point(), "multi_margin_loss: expected floating point input, got {}",
               dtype_name(input.dtype()));
  CTORCH_CHECK((input.dim() == 1 && input.numel() > 0) || (input.dim() == 2 && input.size(1) > 0),
               "multi_margin_loss: expected a non-empty vector or matrix input, got shape {}", shape_str(input.sizes()));
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  // as PyTorch: target [N] (or 0-d when N is 1); the unreduced loss has the target's shape
  CTORCH_CHECK(target.dim() <= 1 && target.numel() == x.size(0),
               "multi_margin_loss: inconsistent target size, expected [{}] for input of shape {} but got target of "
               "shape {}", x.size(0), shape_str(input.sizes()), shape_str(target.sizes()));
  int64_t C = x.size(1);
  CTORCH_CHECK(!weight.defined() || (weight.dim() <= 1 && weight.numel() == C),
               "multi_margin_loss: inconsistent weight size, expected {} but got {}", C, shape_str(weight.sizes()));
  Tensor t = target.reshape({-1, 1});
  for (int64_t v : t.to_vector<int64_t>())
    CTORCH_CHECK(v >= 0 && v < C, "multi_margin_loss: target {} is out of bounds for {} classes", v, C);
  Tensor xy = x.gather(1, t);
  Tensor m = clamp(margin - xy + x, 0.0);
  if (p == 2) m = m * m;
  if (weight.defined()) m = m * weight.reshape({-1}).index_select(0, t.reshape({-1})).unsqueeze(1);
  Tensor not_target = arange(C).unsqueeze(0) != t;
  Tensor per_row = (m * not_target.to(x.dtype())).sum(1) / static_cast<double>(C);
  if (target.dim() == 0) per_row = per_row.reshape({});
  return reduce(per_row, reduction);
}

}  // namespace ctorch::nn::functional
