#pragma once
// torch.optim.AdamW (torch 1.13 semantics): Adam with decoupled weight decay, applied to the weight
// before the moment updates: p *= 1 - lr * weight_decay (default weight_decay 1e-2). The rest is
// Adam's update without the L2 term; same state names.
#include <array>

#include "optimizer.hpp"

namespace ctorch::optim {

struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
  Options to_options() const;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
  AdamW(std::vector<ParamGroup> param_groups, const AdamWOptions& options = {});
  std::string_view name() const override { return "AdamW"; }

 protected:
  void check_options(const Options& options) const override;
  void update(ParamGroup& group) override;
};

}  // namespace ctorch::optim
