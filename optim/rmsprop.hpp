#pragma once
// torch.optim.RMSprop (torch 1.13 semantics):
//   g = grad (negated if maximize) + weight_decay * p
//   sq = alpha * sq + (1 - alpha) * g * g
//   avg = centered ? sqrt(sq - ga * ga) with ga = alpha * ga + (1 - alpha) * g : sqrt(sq);  avg += eps
//   momentum > 0: buf = momentum * buf + g / avg, p -= lr * buf;   else p -= lr * g / avg
// State per param: "step" (0-d int64: torch keeps a Python int), "square_avg", "momentum_buffer"
// when momentum > 0, "grad_avg" when centered.
#include "optimizer.hpp"

namespace ctorch::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
  Options to_options() const;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
  RMSprop(std::vector<ParamGroup> param_groups, const RMSpropOptions& options = {});
  std::string_view name() const override { return "RMSprop"; }

 protected:
  void check_options(const Options& options) const override;
  void update(ParamGroup& group) override;
};

}  // namespace ctorch::optim
