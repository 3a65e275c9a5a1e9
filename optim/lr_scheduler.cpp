#include "lr_scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace ctorch::optim::lr_scheduler {

namespace {
// Python's %: the result has the divisor's sign.
int64_t py_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
// torch checks these arguments before _LRScheduler.__init__ touches the groups: so do we (the
// checks run in the base-class initializer, ahead of "initial_lr" being written).
Optimizer& positive(Optimizer& o, int64_t v, const char* what) {
  CTORCH_CHECK(v > 0, "{} must be positive, got {}", what, v);
  return o;
}
Optimizer& linear_factors(Optimizer& o, double start_factor, double end_factor) {
  CTORCH_CHECK(!(start_factor > 1.0 || start_factor < 0),
               "Starting multiplicative factor expected to be between 0 and 1.");
  CTORCH_CHECK(!(end_factor > 1.0 || end_factor < 0), "Ending multiplicative factor expected to be between 0 and 1.");
  return o;
}
Optimizer& lambdas(Optimizer& o, const std::vector<LambdaLR::Lambda>& fs) {
  CTORCH_CHECK(fs.size() == o.param_groups().size(), "Expected {} lr_lambdas, but got {}", o.param_groups().size(),
               fs.size());
  for (const auto& f : fs) CTORCH_CHECK(static_cast<bool>(f), "LambdaLR: an lr_lambda is empty");
  return o;
}
}  // namespace

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer, int64_t last_epoch, bool verbose)
    : optimizer_(optimizer), last_epoch_(last_epoch), verbose_(verbose) {
  auto& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    if (last_epoch == -1) {
      if (!groups[i].contains("initial_lr")) groups[i]["initial_lr"] = groups[i].at("lr").number();
    } else {
      CTORCH_CHECK(groups[i].contains("initial_lr"),
                   "param 'initial_lr' is not specified in param_groups[{}] when resuming an optimizer", i);
    }
    base_lrs_.push_back(groups[i].at("initial_lr").number());
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& g : optimizer_.param_groups()) lrs.push_back(g.at("lr").number());
  return lrs;
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  std::vector<double> values = get_lr();
  auto& groups = optimizer_.param_groups();
  for (size_t i = 0; i < std::min(groups.size(), values.size()); ++i) {
    groups[i]["lr"] = values[i];
    if (verbose_) fmt::print("Adjusting learning rate of group {} to {:.4e}.\n", i, values[i]);
  }
  last_lr_ = group_lrs();
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma, int64_t last_epoch, bool verbose)
    : LRScheduler(positive(optimizer, step_size, "StepLR: step_size"), last_epoch, verbose),
      step_size_(step_size),
      gamma_(gamma) {
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || py_mod(last_epoch_, step_size_) != 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

// ---- MultiStepLR ----

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma, int64_t last_epoch,
                         bool verbose)
    : LRScheduler(optimizer, last_epoch, verbose), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  auto hits = std::equal_range(milestones_.begin(), milestones_.end(), last_epoch_);
  auto count = hits.second - hits.first;
  if (count == 0) return lrs;
  for (double& lr : lrs) lr = lr * std::pow(gamma_, static_cast<double>(count));
  return lrs;
}

// ---- ExponentialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma, int64_t last_epoch, bool verbose)
    : LRScheduler(optimizer, last_epoch, verbose), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min, int64_t last_epoch,
                                     bool verbose)
    : LRScheduler(positive(optimizer, T_max, "CosineAnnealingLR: T_max"), last_epoch, verbose),
      T_max_(T_max),
      eta_min_(eta_min) {
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  constexpr double pi = std::numbers::pi;
  const double T_max = static_cast<double>(T_max_), epoch = static_cast<double>(last_epoch_);
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  if (step_count_ == 1 && last_epoch_ > 0) {  // resumed: the closed form
    for (size_t i = 0; i < lrs.size() && i < base_lrs_.size(); ++i)
      lrs[i] = eta_min_ + (base_lrs_[i] - eta_min_) * (1 + std::cos(epoch * pi / T_max)) / 2;
    return lrs;
  }
  if (py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0) {
    for (size_t i = 0; i < lrs.size() && i < base_lrs_.size(); ++i)
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min_) * (1 - std::cos(pi / T_max)) / 2;
    return lrs;
  }
  for (double& lr : lrs)
    lr = (1 + std::cos(pi * epoch / T_max)) / (1 + std::cos(pi * (epoch - 1) / T_max)) * (lr - eta_min_) + eta_min_;
  return lrs;
}

// ---- LambdaLR ----

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda, int64_t last_epoch, bool verbose)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.param_groups().size(), lr_lambda), last_epoch, verbose) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas, int64_t last_epoch, bool verbose)
    : LRScheduler(lambdas(optimizer, lr_lambdas), last_epoch, verbose), lr_lambdas_(std::move(lr_lambdas)) {
  initial_step();
}

std::vector<double> LambdaLR::get_lr() {
  std::vector<double> lrs;
  for (size_t i = 0; i < base_lrs_.size() && i < lr_lambdas_.size(); ++i)
    lrs.push_back(base_lrs_[i] * lr_lambdas_[i](last_epoch_));
  return lrs;
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters,
                   int64_t last_epoch, bool verbose)
    : LRScheduler(linear_factors(optimizer, start_factor, end_factor), last_epoch, verbose),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr = lr * start_factor_;
    return lrs;
  }
  if (last_epoch_ > total_iters_) return lrs;
  const double delta = end_factor_ - start_factor_;
  for (double& lr : lrs)
    lr = lr * (1. + delta / (static_cast<double>(total_iters_) * start_factor_ +
                             static_cast<double>(last_epoch_ - 1) * delta));
  return lrs;
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), o_(std::move(options)) {
  CTORCH_CHECK(o_.factor < 1.0, "Factor should be < 1.0.");
  const size_t n = optimizer_.param_groups().size();
  if (!o_.min_lrs.empty()) {
    CTORCH_CHECK(o_.min_lrs.size() == n, "expected {} min_lrs, got {}", n, o_.min_lrs.size());
    min_lrs_ = o_.min_lrs;
  } else {
    min_lrs_.assign(n, o_.min_lr);
  }
  CTORCH_CHECK(o_.mode == "min" || o_.mode == "max", "mode {} is unknown!", o_.mode);
  CTORCH_CHECK(o_.threshold_mode == "rel" || o_.threshold_mode == "abs", "threshold mode {} is unknown!",
               o_.threshold_mode);
  best_ = o_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (const ParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.at("lr").number());
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  if (o_.mode == "min" && o_.threshold_mode == "rel") return a < best * (1. - o_.threshold);
  if (o_.mode == "min") return a < best - o_.threshold;
  if (o_.threshold_mode == "rel") return a > best * (o_.threshold + 1.);
  return a > best + o_.threshold;
}

void ReduceLROnPlateau::step(const Tensor& metrics) {
  CTORCH_CHECK(metrics.numel() == 1, "ReduceLROnPlateau.step: expected a one-element metric, got shape {}",
               shape_str(metrics.sizes()));
  step(metrics.item<double>());
}

void ReduceLROnPlateau::step(double current) {
  const int64_t epoch = last_epoch_ + 1;
  last_epoch_ = epoch;
  if (is_better(current, best_)) {
    best_ = current;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (in_cooldown()) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // ignore any bad epochs in cooldown
  }
  if (num_bad_epochs_ > o_.patience) {
    reduce_lr(epoch);
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const ParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.at("lr").number());
}

void ReduceLROnPlateau::reduce_lr(int64_t epoch) {
  auto& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const double old_lr = groups[i].at("lr").number();
    const double min_lr = i < min_lrs_.size() ? min_lrs_[i] : 0.0;
    const double new_lr = std::max(old_lr * o_.factor, min_lr);
    if (old_lr - new_lr > o_.eps) {
      groups[i]["lr"] = new_lr;
      if (o_.verbose) fmt::print("Epoch {:05d}: reducing learning rate of group {} to {:.4e}.\n", epoch, i, new_lr);
    }
  }
}

}  // namespace ctorch::optim::lr_scheduler
