#pragma once
// Loss modules (torch.nn.MSELoss, CrossEntropyLoss, ...): options at construction, then
// loss_fn(input, target). Each forwards to its nn::functional form.
#include "functional.hpp"
#include "module.hpp"

namespace ctorch::nn {

class Loss : public Module {
 public:
  virtual Tensor forward(const Tensor& input, const Tensor& target) const = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
};

class MSELoss : public Loss {
 public:
  explicit MSELoss(std::string reduction = "mean") : reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override { return functional::mse_loss(i, t, reduction); }
  std::string reduction;
};

class L1Loss : public Loss {
 public:
  explicit L1Loss(std::string reduction = "mean") : reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override { return functional::l1_loss(i, t, reduction); }
  std::string reduction;
};

// nn::CrossEntropyLoss loss_fn({.ignore_index = 0, .label_smoothing = 0.1});
class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(functional::CrossEntropyOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override { return functional::cross_entropy(i, t, options); }
  functional::CrossEntropyOptions options;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(functional::NLLLossOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override { return functional::nll_loss(i, t, options); }
  functional::NLLLossOptions options;
};

class BCELoss : public Loss {
 public:
  explicit BCELoss(Tensor weight = {}, std::string reduction = "mean")
      : weight(std::move(weight)), reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override {
    return functional::binary_cross_entropy(i, t, weight, reduction);
  }
  Tensor weight;
  std::string reduction;
};

class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(Tensor weight = {}, std::string reduction = "mean", Tensor pos_weight = {})
      : weight(std::move(weight)), reduction(std::move(reduction)), pos_weight(std::move(pos_weight)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override {
    return functional::binary_cross_entropy_with_logits(i, t, weight, reduction, pos_weight);
  }
  Tensor weight;
  std::string reduction;
  Tensor pos_weight;
};

class HuberLoss : public Loss {
 public:
  explicit HuberLoss(std::string reduction = "mean", double delta = 1.0) : reduction(std::move(reduction)), delta(delta) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override { return functional::huber_loss(i, t, reduction, delta); }
  std::string reduction;
  double delta;
};

class SmoothL1Loss : public Loss {
 public:
  explicit SmoothL1Loss(std::string reduction = "mean", double beta = 1.0) : reduction(std::move(reduction)), beta(beta) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override {
    return functional::smooth_l1_loss(i, t, reduction, beta);
  }
  std::string reduction;
  double beta;
};

class HingeEmbeddingLoss : public Loss {
 public:
  explicit HingeEmbeddingLoss(double margin = 1.0, std::string reduction = "mean")
      : margin(margin), reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override {
    return functional::hinge_embedding_loss(i, t, margin, reduction);
  }
  double margin;
  std::string reduction;
};

class MultiMarginLoss : public Loss {
 public:
  explicit MultiMarginLoss(int64_t p = 1, double margin = 1.0, Tensor weight = {}, std::string reduction = "mean")
      : p(p), margin(margin), weight(std::move(weight)), reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& i, const Tensor& t) const override {
    return functional::multi_margin_loss(i, t, p, margin, weight, reduction);
  }
  int64_t p;
  double margin;
  Tensor weight;
  std::string reduction;
};

}  // namespace ctorch::nn
