#pragma once
// torch.optim.Optimizer: parameter groups, per-parameter state, zero_grad / step, state_dict.
//
// A PyTorch script ports line by line:
//   opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
//   optim::SGD opt(model_params, {.lr = 0.1, .momentum = 0.9});
//   opt = torch.optim.Adam([{'params': base}, {'params': head, 'lr': 1e-3}], lr=1e-2)
//   optim::Adam opt({{.params = base}, {.params = head, .options = {{"lr", 1e-3}}}}, {.lr = 1e-2});
//   for g in opt.param_groups: g['lr'] *= 0.5
//   for (auto& g : opt.param_groups()) g["lr"] = g["lr"] * 0.5;
//
// Each optimizer takes a typed options struct (SGDOptions, AdamOptions, ...: torch's keyword
// arguments, same names, same defaults, designated initializers in torch's argument order). A param
// group keeps its options as a small dict (`Options`), like the non-'params' entries of a torch
// param group: group-specific values override the optimizer's defaults, and schedulers add
// "initial_lr" to it as torch's do.
#include <array>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::optim {

// One option of a param group: a number (lr, momentum...), a flag (nesterov, amsgrad...) or a tuple
// of numbers (Adam's betas). Reads as a double where a number is expected: `double lr = g["lr"];`.
class OptionValue {
 public:
  enum class Kind : uint8_t { Number, Flag, Tuple };

  OptionValue() = default;                                       // the number 0
  OptionValue(double v) : number_(v) {}                          // NOLINT: implicit, like a Python float
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  OptionValue(I v) : number_(static_cast<double>(v)) {}          // NOLINT
  OptionValue(bool b) : kind_(Kind::Flag), number_(b ? 1 : 0) {}  // NOLINT
  OptionValue(std::initializer_list<double> t) : kind_(Kind::Tuple), tuple_(t) {}
  OptionValue(std::vector<double> t) : kind_(Kind::Tuple), tuple_(std::move(t)) {}  // NOLINT
  template <size_t N>
  OptionValue(const std::array<double, N>& t) : kind_(Kind::Tuple), tuple_(t.begin(), t.end()) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_number() const { return kind_ == Kind::Number; }
  bool is_flag() const { return kind_ == Kind::Flag; }
  bool is_tuple() const { return kind_ == Kind::Tuple; }

  double number() const;                      // a number, or a flag as 0/1; throws for a tuple
  bool flag() const;                          // a flag, or a number's truthiness (Python's bool(x))
  const std::vector<double>& tuple() const;   // throws unless a tuple
  double operator[](size_t i) const;          // tuple element: g["betas"][0]
  operator double() const { return number(); }  // NOLINT: `double lr = g["lr"];`

  // Python's spelling: "0.1", "True", "(0.9, 0.999)". Numbers are printed exactly (shortest
  // round-trip form), so from_string(to_string(v)) == v: the form a safetensors header can carry.
  std::string to_string() const;
  static OptionValue from_string(std::string_view s);

  friend bool operator==(const OptionValue& a, const OptionValue& b) {
    return a.kind_ == b.kind_ && a.number_ == b.number_ && a.tuple_ == b.tuple_;
  }

 private:
  Kind kind_ = Kind::Number;
  double number_ = 0;
  std::vector<double> tuple_;
};

// A param group's options, keyed by torch's names ("lr", "momentum", "betas", "initial_lr", ...).
using Options = std::map<std::string, OptionValue>;

// torch's param group dict: its params and its options.
struct ParamGroup {
  std::vector<Tensor> params = {};
  Options options = {};  // as given: overrides of the defaults; once in an optimizer: every option

  OptionValue& operator[](const std::string& key) { return options[key]; }  // inserts, like dict assignment
  const OptionValue& operator[](const std::string& key) const { return at(key); }
  const OptionValue& at(const std::string& key) const;  // throws ctorch::Error naming a missing key
  bool contains(const std::string& key) const { return options.count(key) != 0; }
};

// One parameter's state: named tensors, e.g. {"step", "exp_avg", "exp_avg_sq"} for Adam. Steps are
// 0-d tensors as in torch 1.13 (float32 for Adam/AdamW/Adagrad, int64 for RMSprop, whose torch
// step is a Python int).
using ParamState = std::map<std::string, Tensor>;

// torch's optimizer.state_dict(): every group's options with the indices of its params (params
// are numbered 0, 1, ... across the groups in order), and the state of each param that has one,
// keyed by that index. Plain data: a serialiser writes state tensors as "state.<i>.<name>" and
// options with OptionValue::to_string.
struct ParamGroupState {
  Options options;
  std::vector<int64_t> params;
};
struct OptimizerStateDict {
  std::map<int64_t, ParamState> state;
  std::vector<ParamGroupState> param_groups;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // An optimizer's state is keyed by its params' identity and schedulers hold it by reference.
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string_view name() const = 0;  // "SGD", "Adam", ...
  const Options& defaults() const { return defaults_; }
  std::vector<ParamGroup>& param_groups() { return param_groups_; }
  const std::vector<ParamGroup>& param_groups() const { return param_groups_; }

  // Adds a group; its missing options take the optimizer's defaults. Throws (like torch) for a
  // non-leaf param, a param already in another group, a group without "lr" when the optimizer has
  // no default lr, or invalid option values. Stricter than torch: an empty group and a group
  // listing a param twice are errors (torch accepts the first and warns about the second).
  void add_param_group(ParamGroup group);

  // Drops the grads (set_to_none = true, the default of torch 2.x and of nn::Module::zero_grad),
  // or sets them to zero in place (torch 1.13's default). The numbers are the same either way;
  // dropping saves a pass over memory and lets the next backward store its gradient as is.
  void zero_grad(bool set_to_none = true);

  // One update of every param that has a grad (params whose grad is undefined are skipped), in
  // place and without recording a graph. `closure`, when given, re-evaluates the loss with grad
  // mode on first, and its result is returned (torch's `loss = opt.step(closure)`); otherwise the
  // result is an undefined Tensor.
  Tensor step(const std::function<Tensor()>& closure = {});

  // optimizer.state[p]: the state of one param (created empty on first use, like torch's defaultdict).
  ParamState& state(const Tensor& param);
  const ParamState* find_state(const Tensor& param) const;  // nullptr when the param has none

  // The returned state tensors are the optimizer's own (as in torch: not copies); load_state_dict
  // deep-copies, casts floating state to each param's dtype (all but "step", like torch) and
  // replaces every group's options with the saved ones. It checks the group/param counts (torch's
  // messages) and, beyond torch, that state tensors have their param's shape.
  OptimizerStateDict state_dict() const;
  void load_state_dict(const OptimizerStateDict& state_dict);

  std::string repr() const;  // torch's __repr__: "SGD (\nParameter Group 0\n    lr: 0.1\n...)"

 protected:
  explicit Optimizer(Options defaults) : defaults_(std::move(defaults)) {}
  // The derived constructor checks its defaults, then adds the groups through this.
  void init(std::vector<ParamGroup> groups);
  void init(std::vector<Tensor> params);
  // Throws ctorch::Error for an invalid option value (torch's constructor checks, in its words).
  // Called on the defaults and on each group's merged options (torch checks only the defaults).
  virtual void check_options(const Options& options) const = 0;
  // The update of one group; runs under NoGradGuard.
  virtual void update(ParamGroup& group) = 0;

 private:
  Options defaults_;
  std::vector<ParamGroup> param_groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

std::ostream& operator<<(std::ostream& os, const Optimizer& opt);

// Helpers for the optimizers' implementations.
namespace detail {
// The step counter: adds 1 to a 0-d "step" tensor (created as `dtype` at 0 when missing), returns
// the new count.
double increment_step(ParamState& state, ScalarType dtype);
// state[key], created as zeros (or `fill`) shaped like `param` when missing; always contiguous, of
// the param's dtype and shape (converted in place when not, so the fused loops can trust it).
Tensor& buffer(ParamState& state, const std::string& key, const Tensor& param, double fill = 0);
// The group option `key` as a number, flag, or tuple element, naming the option when it is absent.
double number(const ParamGroup& g, const char* key);
bool flag(const ParamGroup& g, const char* key);
// When `options` has `key`, throws ctorch::Error(fmt::format(message, value)) if bad(value): the
// torch constructor checks, e.g. check(o, "lr", [](double v) { return v < 0; }, "Invalid learning rate: {}").
template <class Bad>
void check(const Options& options, const char* key, Bad&& bad, fmt::format_string<double> message) {
  auto it = options.find(key);
  if (it == options.end()) return;
  double v = it->second.number();
  if (bad(v)) throw Error(fmt::format(message, double{v}));
}
}  // namespace detail

}  // namespace ctorch::optim

template <>
struct fmt::formatter<ctorch::optim::OptionValue> : fmt::formatter<std::string> {
  auto format(const ctorch::optim::OptionValue& v, format_context& ctx) const {
    return fmt::formatter<std::string>::format(v.to_string(), ctx);
  }
};
