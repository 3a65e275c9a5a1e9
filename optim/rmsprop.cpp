#include "rmsprop.hpp"

#include <cmath>

#include "fused.hpp"

namespace ctorch::optim {

Options RMSpropOptions::to_options() const {
  return Options{{"lr", lr},         {"alpha", alpha},       {"eps", eps},          {"weight_decay", weight_decay},
                 {"momentum", momentum}, {"centered", centered}, {"maximize", maximize}};
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options) : Optimizer(options.to_options()) {
  init(std::move(params));
}
RMSprop::RMSprop(std::vector<ParamGroup> param_groups, const RMSpropOptions& options)
    : Optimizer(options.to_options()) {
  init(std::move(param_groups));
}

void RMSprop::check_options(const Options& o) const {
  detail::check(o, "lr", [](double v) { return !(0.0 <= v); }, "Invalid learning rate: {}");
  detail::check(o, "eps", [](double v) { return !(0.0 <= v); }, "Invalid epsilon value: {}");
  detail::check(o, "momentum", [](double v) { return !(0.0 <= v); }, "Invalid momentum value: {}");
  detail::check(o, "weight_decay", [](double v) { return !(0.0 <= v); }, "Invalid weight_decay value: {}");
  detail::check(o, "alpha", [](double v) { return !(0.0 <= v); }, "Invalid alpha value: {}");
}

void RMSprop::update(ParamGroup& group) {
  const double lr = detail::number(group, "lr"), alpha = detail::number(group, "alpha");
  const double eps = detail::number(group, "eps"), weight_decay = detail::number(group, "weight_decay");
  const double momentum = detail::number(group, "momentum");
  const bool centered = detail::flag(group, "centered"), maximize = detail::flag(group, "maximize");
  for (Tensor& p : group.params) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    ParamState& st = state(p);
    detail::increment_step(st, kInt64);  // torch: a Python int; the update does not use it
    Tensor& square_avg = detail::buffer(st, "square_avg", p);
    Tensor* momentum_buffer = momentum > 0 ? &detail::buffer(st, "momentum_buffer", p) : nullptr;
    Tensor* grad_avg = centered ? &detail::buffer(st, "grad_avg", p) : nullptr;
    detail::for_param(p, grad, "RMSprop", [&]<class T>(T* __restrict w, const T* __restrict g, int64_t n, int64_t at) {
      T* __restrict sq = square_avg.data_ptr<T>() + at;
      T* __restrict buf = momentum_buffer ? momentum_buffer->data_ptr<T>() + at : nullptr;
      T* __restrict ga = grad_avg ? grad_avg->data_ptr<T>() + at : nullptr;
      const T a = static_cast<T>(alpha), one_minus_a = static_cast<T>(1 - alpha);
      const T wd = static_cast<T>(weight_decay), e = static_cast<T>(eps), mom = static_cast<T>(momentum);
      const T neg_lr = static_cast<T>(-lr);
      detail::static_bools(
          [&](auto MAX, auto WD, auto CENTERED, auto MOMENTUM) {
            // the (possibly weight-decayed) gradient, as torch's `grad` after its first two lines
            auto grad_at = [&](int64_t i) { return detail::update_grad<MAX, WD>(g[i], w[i], wd); };
            auto averages = [&](int64_t s, int64_t len, T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = s + k;
                const T gi = grad_at(i);
                sq[i] = sq[i] * a + one_minus_a * gi * gi;   // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                if constexpr (CENTERED) {
                  ga[i] = ga[i] * a + one_minus_a * gi;      // grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
                  root[k] = sq[i] + T(-1) * ga[i] * ga[i];   // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                } else {
                  root[k] = sq[i];                           // square_avg.sqrt()
                }
              }
            };
            auto apply = [&](int64_t s, int64_t len, const T* __restrict root) {
              for (int64_t k = 0; k < len; ++k) {
                const int64_t i = s + k;
                const T gi = grad_at(i);  // w is unchanged since `averages` read it
                const T avg = root[k] + e;                   // avg.add_(eps)
                if constexpr (MOMENTUM) {
                  buf[i] = buf[i] * mom + gi / avg;          // buf.mul_(momentum).addcdiv_(grad, avg)
                  w[i] = w[i] + neg_lr * buf[i];             // param.add_(buf, alpha=-lr)
                } else {
                  w[i] = w[i] + neg_lr * gi / avg;           // param.addcdiv_(grad, avg, value=-lr)
                }
              }
            };
            detail::sqrt_chunks<T>(n, averages, apply);
          },
          maximize, weight_decay != 0, centered, momentum > 0);
    });
  }
}

}  // namespace ctorch::optim
