#include "adam.hpp"

#include <cmath>

#include "adamw.hpp"
#include "fused.hpp"

namespace ctorch::optim {

namespace {

void check_adam(const Options& o) {
  detail::check(o, "lr", [](double v) { return !(0.0 <= v); }, "Invalid learning rate: {}");
  detail::check(o, "eps", [](double v) { return !(0.0 <= v); }, "Invalid epsilon value: {}");
  if (auto it = o.find("betas"); it != o.end()) {
    const auto& b = it->second.tuple();
    CTORCH_CHECK(b.size() == 2, "betas: expected 2 values, got {}", it->second.to_string());
    for (size_t i = 0; i < 2; ++i)
      CTORCH_CHECK(0.0 <= b[i] && b[i] < 1.0, "Invalid beta parameter at index {}: {}", i, b[i]);
  }
  detail::check(o, "weight_decay", [](double v) { return !(0.0 <= v); }, "Invalid weight_decay value: {}");
}

// Adam and AdamW share everything but where weight decay goes: into the gradient (L2, Adam) or
// straight onto the weight before the moments (decoupled, AdamW).
void adam_update(Optimizer& opt, ParamGroup& group, bool decoupled, std::string_view op) {
  const double lr = detail::number(group, "lr"), eps = detail::number(group, "eps");
  const double weight_decay = detail::number(group, "weight_decay");
  const double beta1 = group.at("betas")[0], beta2 = group.at("betas")[1];
  const bool amsgrad = detail::flag(group, "amsgrad"), maximize = detail::flag(group, "maximize");
  for (Tensor& p : group.params) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    ParamState& st = opt.state(p);
    const double step = detail::increment_step(st, kFloat32);  // torch: a float32 0-d tensor
    Tensor& exp_avg = detail::buffer(st, "exp_avg", p);
    Tensor& exp_avg_sq = detail::buffer(st, "exp_avg_sq", p);
    Tensor* max_exp_avg_sq = amsgrad ? &detail::buffer(st, "max_exp_avg_sq", p) : nullptr;
    // torch's scalars, in Python floats (double)
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    detail::for_param(p, grad, op, [&]<class T>(T* __restrict w, const T* __restrict g, int64_t n, int64_t at) {
      T* __restrict m = exp_avg.data_ptr<T>() + at;
      T* __restrict v = exp_avg_sq.data_ptr<T>() + at;
      T* __restrict vmax = max_exp_avg_sq ? max_exp_avg_sq->data_ptr<T>() + at : nullptr;
      const T b1 = static_cast<T>(beta1), one_minus_b1 = static_cast<T>(1 - beta1);
      const T b2 = static_cast<T>(beta2), one_minus_b2 = static_cast<T>(1 - beta2);
      const T wd = static_cast<T>(weight_decay), decay = static_cast<T>(1 - lr * weight_decay);
      const T bc2_sqrt = static_cast<T>(bias_correction2_sqrt), e = static_cast<T>(eps);
      const T neg_step_size = static_cast<T>(-step_size);
      detail::static_bools(
          [&](auto MAX, auto L2, auto DECOUPLED, auto AMSGRAD) {
            auto moments = [&](int64_t s, int64_t len, T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = s + k;
                if constexpr (DECOUPLED) w[i] = w[i] * decay;   // param.mul_(1 - lr * weight_decay)
                const T gi = detail::update_grad<MAX, L2>(g[i], w[i], wd);  // L2 and DECOUPLED exclude each other
                m[i] = m[i] * b1 + one_minus_b1 * gi;           // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                v[i] = v[i] * b2 + one_minus_b2 * gi * gi;      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                T vhat = v[i];
                if constexpr (AMSGRAD) {
                  // torch.maximum(max_exp_avg_sq, exp_avg_sq), NaN propagating; two selects vectorise
                  const T mx = vmax[i];
                  const T hi = mx < vhat ? vhat : mx;
                  vhat = vhat != vhat ? vhat : hi;
                  vmax[i] = vhat;
                }
                root[k] = vhat;
              }
            };
            auto apply = [&](int64_t s, int64_t len, const T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = s + k;
                const T denom = root[k] / bc2_sqrt + e;          // (v.sqrt() / bias_correction2_sqrt).add_(eps)
                w[i] = w[i] + neg_step_size * m[i] / denom;      // param.addcdiv_(exp_avg, denom, value=-step_size)
              }
            };
            detail::sqrt_chunks<T>(n, moments, apply);
          },
          maximize, !decoupled && weight_decay != 0, decoupled && weight_decay != 0, amsgrad);
    });
  }
}

Options adam_options(double lr, const std::array<double, 2>& betas, double eps, double weight_decay, bool amsgrad,
                     bool maximize) {
  return Options{{"lr", lr},
                 {"betas", betas},
                 {"eps", eps},
                 {"weight_decay", weight_decay},
                 {"amsgrad", amsgrad},
                 {"maximize", maximize}};
}

}  // namespace

// ---- Adam ----

Options AdamOptions::to_options() const { return adam_options(lr, betas, eps, weight_decay, amsgrad, maximize); }

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Optimizer(options.to_options()) {
  init(std::move(params));
}
Adam::Adam(std::vector<ParamGroup> param_groups, const AdamOptions& options) : Optimizer(options.to_options()) {
  init(std::move(param_groups));
}
void Adam::check_options(const Options& o) const { check_adam(o); }
void Adam::update(ParamGroup& group) { adam_update(*this, group, false, "Adam"); }

// ---- AdamW ----

Options AdamWOptions::to_options() const { return adam_options(lr, betas, eps, weight_decay, amsgrad, maximize); }

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options) : Optimizer(options.to_options()) {
  init(std::move(params));
}
AdamW::AdamW(std::vector<ParamGroup> param_groups, const AdamWOptions& options) : Optimizer(options.to_options()) {
  init(std::move(param_groups));
}
void AdamW::check_options(const Options& o) const { check_adam(o); }
void AdamW::update(ParamGroup& group) { adam_update(*this, group, true, "AdamW"); }

}  // namespace ctorch::optim
