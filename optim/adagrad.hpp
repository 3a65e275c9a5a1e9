#pragma once
// torch.optim.Adagrad (torch 1.13 semantics, dense gradients):
//   g = grad (negated if maximize) + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay);   sum += g * g;   p -= clr * g / (sqrt(sum) + eps)
// As in torch, the state ("step": 0-d float32, "sum": filled with initial_accumulator_value) is
// made in the constructor for every param, so state_dict() lists them all from the start. Params
// of groups added later get theirs on their first step (torch would fail there), from the group's
// initial_accumulator_value.
#include "optimizer.hpp"

namespace ctorch::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
  Options to_options() const;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  Adagrad(std::vector<ParamGroup> param_groups, const AdagradOptions& options = {});
  std::string_view name() const override { return "Adagrad"; }

 protected:
  void check_options(const Options& options) const override;
  void update(ParamGroup& group) override;

 private:
  void init_state(const AdagradOptions& options);
};

}  // namespace ctorch::optim
