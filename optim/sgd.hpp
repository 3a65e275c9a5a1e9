#pragma once
// torch.optim.SGD (torch 1.13 semantics): optional momentum, dampening, Nesterov momentum, L2
// weight decay added to the gradient, maximize.
//   d = grad (negated if maximize) + weight_decay * p
//   buf = d on the first step, then buf = momentum * buf + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf;   p -= lr * d
// State per param: "momentum_buffer" when momentum != 0. Without momentum there is no state (torch
// records {'momentum_buffer': None} for each param that had a grad; a None has no tensor to save).
#include <optional>

#include "optimizer.hpp"

namespace ctorch::optim {

// torch.optim.SGD's arguments, in its order. lr has no default (torch's `required`): give it here
// or in every param group.
struct SGDOptions {
  std::optional<double> lr;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
  Options to_options() const;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<ParamGroup> param_groups, const SGDOptions& options);
  std::string_view name() const override { return "SGD"; }

 protected:
  void check_options(const Options& options) const override;
  void update(ParamGroup& group) override;
};

}  // namespace ctorch::optim
