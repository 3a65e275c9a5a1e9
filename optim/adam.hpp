#pragma once
// torch.optim.Adam (torch 1.13 semantics, single-tensor path): L2 weight decay added to the
// gradient, bias-corrected moments, optional AMSGrad and maximize.
//   g = grad (negated if maximize) + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
//   v_hat = amsgrad ? (v_max = max(v_max, v)) : v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
// State per param: "step" (0-d float32, as torch's), "exp_avg", "exp_avg_sq", and
// "max_exp_avg_sq" with amsgrad.
#include <array>

#include "optimizer.hpp"

namespace ctorch::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  Options to_options() const;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  Adam(std::vector<ParamGroup> param_groups, const AdamOptions& options = {});
  std::string_view name() const override { return "Adam"; }

 protected:
  void check_options(const Options& options) const override;
  void update(ParamGroup& group) override;
};

}  // namespace ctorch::optim
