#include "sgd.hpp"

#include "fused.hpp"

namespace ctorch::optim {

Options SGDOptions::to_options() const {
  Options o{{"momentum", momentum},         {"dampening", dampening}, {"weight_decay", weight_decay},
            {"nesterov", nesterov},         {"maximize", maximize}};
  if (lr) o["lr"] = *lr;
  return o;
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options) : Optimizer(options.to_options()) {
  init(std::move(params));
}
SGD::SGD(std::vector<ParamGroup> param_groups, const SGDOptions& options) : Optimizer(options.to_options()) {
  init(std::move(param_groups));
}

void SGD::check_options(const Options& o) const {
  detail::check(o, "lr", [](double v) { return v < 0; }, "Invalid learning rate: {}");
  detail::check(o, "momentum", [](double v) { return v < 0; }, "Invalid momentum value: {}");
  detail::check(o, "weight_decay", [](double v) { return v < 0; }, "Invalid weight_decay value: {}");
  auto get = [&](const char* k) { auto it = o.find(k); return it == o.end() ? 0.0 : it->second.number(); };
  auto nesterov = o.find("nesterov");
  CTORCH_CHECK(!(nesterov != o.end() && nesterov->second.flag() && (get("momentum") <= 0 || get("dampening") != 0)),
               "Nesterov momentum requires a momentum and zero dampening");
}

void SGD::update(ParamGroup& group) {
  const double lr = detail::number(group, "lr"), momentum = detail::number(group, "momentum");
  const double dampening = detail::number(group, "dampening"), weight_decay = detail::number(group, "weight_decay");
  const bool nesterov = detail::flag(group, "nesterov"), maximize = detail::flag(group, "maximize");
  for (Tensor& p : group.params) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    Tensor* buf = nullptr;
    bool first = false;
    if (momentum != 0) {
      ParamState& st = state(p);
      first = st.count("momentum_buffer") == 0;  // torch: the buffer starts as a copy of the first d_p
      buf = &detail::buffer(st, "momentum_buffer", p);
    }
    detail::for_param(p, grad, "SGD", [&]<class T>(T* __restrict w, const T* __restrict g, int64_t n, int64_t at) {
      T* __restrict b = buf ? buf->data_ptr<T>() + at : nullptr;
      const T wd = static_cast<T>(weight_decay), mom = static_cast<T>(momentum);
      const T keep = static_cast<T>(1 - dampening), neg_lr = static_cast<T>(-lr);
      detail::static_bools(
          [&](auto MAX, auto WD, auto MOM, auto NESTEROV, auto FIRST) {
            for (int64_t i = 0; i < n; ++i) {
              T d = detail::update_grad<MAX, WD>(g[i], w[i], wd);
              if constexpr (MOM) {
                if constexpr (FIRST) b[i] = d;
                else b[i] = b[i] * mom + keep * d;
                if constexpr (NESTEROV) d = d + mom * b[i];
                else d = b[i];
              }
              w[i] = w[i] + neg_lr * d;
            }
          },
          maximize, weight_decay != 0, momentum != 0, nesterov, first);
    });
  }
}

}  // namespace ctorch::optim
