#include "adagrad.hpp"

#include <cmath>

#include "../autograd/grad_mode.hpp"
#include "../core/factories.hpp"
#include "fused.hpp"

namespace ctorch::optim {

Options AdagradOptions::to_options() const {
  return Options{{"lr", lr},
                 {"lr_decay", lr_decay},
                 {"weight_decay", weight_decay},
                 {"initial_accumulator_value", initial_accumulator_value},
                 {"eps", eps},
                 {"maximize", maximize}};
}

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options) : Optimizer(options.to_options()) {
  init(std::move(params));
  init_state(options);
}
Adagrad::Adagrad(std::vector<ParamGroup> param_groups, const AdagradOptions& options)
    : Optimizer(options.to_options()) {
  init(std::move(param_groups));
  init_state(options);
}

// torch fills every param's "sum" with the constructor's initial_accumulator_value (not the group's).
void Adagrad::init_state(const AdagradOptions& options) {
  NoGradGuard no_grad;
  for (ParamGroup& g : param_groups())
    for (Tensor& p : g.params) {
      ParamState& st = state(p);
      st["step"] = scalar_tensor(0, kFloat32);
      st["sum"] = full(p.sizes(), options.initial_accumulator_value, p.dtype());
    }
}

void Adagrad::check_options(const Options& o) const {
  detail::check(o, "lr", [](double v) { return !(0.0 <= v); }, "Invalid learning rate: {}");
  detail::check(o, "lr_decay", [](double v) { return !(0.0 <= v); }, "Invalid lr_decay value: {}");
  detail::check(o, "weight_decay", [](double v) { return !(0.0 <= v); }, "Invalid weight_decay value: {}");
  detail::check(o, "initial_accumulator_value", [](double v) { return !(0.0 <= v); },
                "Invalid initial_accumulator_value value: {}");
  detail::check(o, "eps", [](double v) { return !(0.0 <= v); }, "Invalid epsilon value: {}");
}

void Adagrad::update(ParamGroup& group) {
  const double lr = detail::number(group, "lr"), lr_decay = detail::number(group, "lr_decay");
  const double weight_decay = detail::number(group, "weight_decay"), eps = detail::number(group, "eps");
  const double init = detail::number(group, "initial_accumulator_value");
  const bool maximize = detail::flag(group, "maximize");
  for (Tensor& p : group.params) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    ParamState& st = state(p);
    Tensor& sum = detail::buffer(st, "sum", p, init);
    const double step = detail::increment_step(st, kFloat32);
    const double clr = lr / (1 + (step - 1) * lr_decay);
    detail::for_param(p, grad, "Adagrad", [&]<class T>(T* __restrict w, const T* __restrict g, int64_t n, int64_t at) {
      T* __restrict s = sum.data_ptr<T>() + at;
      const T wd = static_cast<T>(weight_decay), e = static_cast<T>(eps), neg_clr = static_cast<T>(-clr);
      detail::static_bools(
          [&](auto MAX, auto WD) {
            auto grad_at = [&](int64_t i) { return detail::update_grad<MAX, WD>(g[i], w[i], wd); };
            auto accumulate = [&](int64_t start, int64_t len, T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = start + k;
                const T gi = grad_at(i);
                s[i] = s[i] + T(1) * gi * gi;  // state_sum.addcmul_(grad, grad, value=1)
                root[k] = s[i];
              }
            };
            auto apply = [&](int64_t start, int64_t len, const T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = start + k;
                const T gi = grad_at(i);
                const T std_ = root[k] + e;            // state_sum.sqrt().add_(eps)
                w[i] = w[i] + neg_clr * gi / std_;     // param.addcdiv_(grad, std, value=-clr)
              }
            };
            detail::sqrt_chunks<T>(n, accumulate, apply);
          },
          maximize, weight_decay != 0);
    });
  }
}

}  // namespace ctorch::optim
