#pragma once
// torch.optim.lr_scheduler (torch 1.13 semantics): the chainable, recursive forms, so the learning
// rates are the very doubles torch computes. Schedulers write each group's "lr" (and, when
// created with last_epoch = -1, record "initial_lr" in the group, as torch does).
//   scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
//   optim::lr_scheduler::StepLR scheduler(optimizer, 30, 0.1);
//   ... optimizer.step(); scheduler.step(); scheduler.get_last_lr()
// Not ported: the deprecated step(epoch) closed forms, verbose printing of the epoch number,
// state_dict()/load_state_dict() and the warnings about calling order.
#include <functional>
#include <string>
#include <vector>

#include "optimizer.hpp"

namespace ctorch::optim::lr_scheduler {

// torch's _LRScheduler. A subclass implements get_lr() (the chainable form, from the groups'
// current "lr" and last_epoch) and calls initial_step() at the end of its constructor (torch's base
// constructor does that step; in C++ the subclass is not ready before its own constructor ran).
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  void step();
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() const { return optimizer_; }

 protected:
  // last_epoch = -1 starts a schedule (sets each group's "initial_lr" to its "lr" unless there is
  // one already); another value resumes one and needs "initial_lr" in every group.
  LRScheduler(Optimizer& optimizer, int64_t last_epoch, bool verbose);
  void initial_step();
  virtual std::vector<double> get_lr() = 0;
  // The groups' current learning rates.
  std::vector<double> group_lrs() const;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_;
  int64_t step_count_ = 0;
  bool verbose_;
  std::vector<double> last_lr_;
};

// lr = lr * gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1, int64_t last_epoch = -1, bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = lr * gamma^k at each milestone that appears k times in `milestones`.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1, int64_t last_epoch = -1,
              bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<int64_t> milestones_;  // sorted, repeats kept (torch's Counter)
  double gamma_;
};

// lr = lr * gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma, int64_t last_epoch = -1, bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  double gamma_;
};

// Cosine annealing from the initial lr to eta_min over T_max epochs, by torch 1.13's recursive
// formula (including its branch at T_cur = (2k + 1) T_max).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0, int64_t last_epoch = -1,
                    bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// lr = initial_lr * lr_lambda(epoch): one function for every group, or one per group.
class LambdaLR : public LRScheduler {
 public:
  using Lambda = std::function<double(int64_t)>;
  LambdaLR(Optimizer& optimizer, Lambda lr_lambda, int64_t last_epoch = -1, bool verbose = false);
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas, int64_t last_epoch = -1, bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<Lambda> lr_lambdas_;
};

// The factor goes linearly from start_factor to end_factor over total_iters epochs.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5,
           int64_t last_epoch = -1, bool verbose = false);

 protected:
  std::vector<double> get_lr() override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

// torch's ReduceLROnPlateau keyword arguments, in its order. min_lr applies to every group;
// min_lrs, when not empty, gives one per group instead (torch's list form of min_lr).
struct ReduceLROnPlateauOptions {
  std::string mode = "min";            // "min" or "max"
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  // "rel" or "abs"
  int64_t cooldown = 0;
  double min_lr = 0;
  std::vector<double> min_lrs = {};
  double eps = 1e-8;
  bool verbose = false;
};

// Reduces the lr by `factor` when the metric stopped improving for `patience` epochs. Not an
// LRScheduler (as in torch 1.13); step takes the metric. get_last_lr() gives the groups' lrs
// after the last step (before the first one: their current lrs; torch 1.13 has no get_last_lr here).
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  void step(double metrics);
  void step(const Tensor& metrics);  // a one-element tensor, like float(metrics)
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t cooldown_counter() const { return cooldown_counter_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  bool is_better(double a, double best) const;
  Optimizer& optimizer() const { return optimizer_; }

 private:
  void reduce_lr(int64_t epoch);
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions o_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace ctorch::optim::lr_scheduler
