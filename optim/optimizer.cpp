#include "optimizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <unordered_set>

#include "../autograd/grad_mode.hpp"
#include "../core/factories.hpp"

namespace ctorch::optim {

// ---- OptionValue ----

double OptionValue::number() const {
  CTORCH_CHECK(kind_ != Kind::Tuple, "optimizer option: expected a number, got the tuple {}", to_string());
  return number_;
}

bool OptionValue::flag() const {
  CTORCH_CHECK(kind_ != Kind::Tuple, "optimizer option: expected a flag, got the tuple {}", to_string());
  return number_ != 0;
}

const std::vector<double>& OptionValue::tuple() const {
  CTORCH_CHECK(kind_ == Kind::Tuple, "optimizer option: expected a tuple, got {}", to_string());
  return tuple_;
}

double OptionValue::operator[](size_t i) const {
  const auto& t = tuple();
  CTORCH_CHECK(i < t.size(), "optimizer option: index {} is out of range for the tuple {}", i, to_string());
  return t[i];
}

std::string OptionValue::to_string() const {
  switch (kind_) {
    case Kind::Flag: return number_ != 0 ? "True" : "False";
    case Kind::Tuple: {
      if (tuple_.size() == 1) return fmt::format("({},)", tuple_[0]);
      return fmt::format("({})", fmt::join(tuple_, ", "));
    }
    case Kind::Number: break;
  }
  return fmt::format("{}", number_);  // shortest form that reads back to the same double
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
double parse_number(std::string_view s, std::string_view whole) {
  s = trim(s);
  std::string buf(s);  // strtod understands inf/nan spellings that from_chars may not
  char* end = nullptr;
  double v = std::strtod(buf.c_str(), &end);
  CTORCH_CHECK(!buf.empty() && end == buf.c_str() + buf.size(), "OptionValue::from_string: cannot parse '{}'", whole);
  return v;
}
}  // namespace

OptionValue OptionValue::from_string(std::string_view s) {
  std::string_view t = trim(s);
  if (t == "True" || t == "true") return OptionValue(true);
  if (t == "False" || t == "false") return OptionValue(false);
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    char close = t.front() == '(' ? ')' : ']';
    CTORCH_CHECK(t.size() >= 2 && t.back() == close, "OptionValue::from_string: cannot parse '{}'", s);
    std::string_view inner = trim(t.substr(1, t.size() - 2));
    std::vector<double> values;
    while (!inner.empty()) {
      size_t comma = inner.find(',');
      values.push_back(parse_number(inner.substr(0, comma), s));
      if (comma == std::string_view::npos) break;
      inner = trim(inner.substr(comma + 1));
    }
    return OptionValue(std::move(values));
  }
  return OptionValue(parse_number(t, s));
}

// ---- ParamGroup ----

const OptionValue& ParamGroup::at(const std::string& key) const {
  auto it = options.find(key);
  CTORCH_CHECK(it != options.end(), "param group has no option '{}'", key);
  return it->second;
}

// ---- Optimizer ----

void Optimizer::init(std::vector<ParamGroup> groups) {
  CTORCH_CHECK(!groups.empty(), "optimizer got an empty parameter list");
  check_options(defaults_);
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::init(std::vector<Tensor> params) {
  CTORCH_CHECK(!params.empty(), "optimizer got an empty parameter list");
  std::vector<ParamGroup> groups;
  groups.push_back(ParamGroup{std::move(params), {}});
  init(std::move(groups));
}

void Optimizer::add_param_group(ParamGroup group) {
  CTORCH_CHECK(!group.params.empty(), "{}: parameter group {} has no parameters", name(), param_groups_.size());
  std::unordered_set<const TensorImpl*> seen;
  for (const Tensor& p : group.params) {
    CTORCH_CHECK(p.defined(), "optimizer can only optimize Tensors, but one of the params is an undefined Tensor");
    CTORCH_CHECK(p.is_leaf() || p.retains_grad(), "can't optimize a non-leaf Tensor");
    CTORCH_CHECK(seen.insert(p.impl()).second, "optimizer contains a parameter group with duplicate parameters");
  }
  for (const ParamGroup& other : param_groups_)
    for (const Tensor& p : other.params)
      CTORCH_CHECK(!seen.count(p.impl()), "some parameters appear in more than one parameter group");
  for (const auto& [key, value] : defaults_) group.options.emplace(key, value);  // keeps the group's own values
  CTORCH_CHECK(group.contains("lr"),
               "parameter group didn't specify a value of required optimization parameter lr");
  check_options(group.options);
  param_groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& g : param_groups_)
    for (Tensor& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
        continue;
      }
      if (grad.grad_fn()) grad.detach_();
      else grad.requires_grad_(false);
      if (grad.is_contiguous() && grad.is_floating_point()) {  // the common case, without a temporary
        dispatch_floating(grad.dtype(), "zero_grad", [&]<class T>() {
          T* g = grad.data_ptr<T>();
          std::fill(g, g + grad.numel(), T(0));
        });
        ++grad.impl()->storage->version;
      } else {
        grad.zero_();
      }
    }
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  if (closure) {
    EnableGradGuard enable;
    loss = closure();
  }
  NoGradGuard no_grad;
  for (ParamGroup& g : param_groups_) update(g);
  return loss;
}

ParamState& Optimizer::state(const Tensor& param) {
  CTORCH_CHECK(param.defined(), "optimizer.state: undefined Tensor");
  return state_[param.impl()];
}

const ParamState* Optimizer::find_state(const Tensor& param) const {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : &it->second;
}

OptimizerStateDict Optimizer::state_dict() const {
  OptimizerStateDict sd;
  int64_t next = 0;
  for (const ParamGroup& g : param_groups_) {
    ParamGroupState packed{g.options, {}};
    for (const Tensor& p : g.params) {
      int64_t index = next++;
      packed.params.push_back(index);
      auto it = state_.find(p.impl());
      if (it != state_.end() && !it->second.empty()) sd.state.emplace(index, it->second);
    }
    sd.param_groups.push_back(std::move(packed));
  }
  return sd;
}

void Optimizer::load_state_dict(const OptimizerStateDict& sd) {
  CTORCH_CHECK(sd.param_groups.size() == param_groups_.size(),
               "loaded state dict has a different number of parameter groups");
  std::vector<const Tensor*> params;  // the optimizer's params in state_dict order
  std::unordered_map<int64_t, const Tensor*> by_index;
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    const auto& mine = param_groups_[i].params;
    const auto& saved = sd.param_groups[i].params;
    CTORCH_CHECK(mine.size() == saved.size(),
                 "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
    for (size_t j = 0; j < mine.size(); ++j) by_index[saved[j]] = &mine[j];
  }
  NoGradGuard no_grad;
  std::unordered_map<const TensorImpl*, ParamState> state;
  for (const auto& [index, saved] : sd.state) {
    auto it = by_index.find(index);
    CTORCH_CHECK(it != by_index.end(), "load_state_dict: state for parameter {}, which no parameter group lists", index);
    const Tensor& p = *it->second;
    ParamState copy;
    for (const auto& [key, t] : saved) {
      if (!t.defined()) continue;
      Tensor v = t;
      if (key != "step") {
        CTORCH_CHECK(same_shape(t.sizes(), p.sizes()),
                     "load_state_dict: state '{}' of parameter {} has shape {}, but the parameter has shape {}", key,
                     index, shape_str(t.sizes()), shape_str(p.sizes()));
        if (p.is_floating_point()) v = v.to(p.dtype());
      }
      copy[key] = v.detach().clone();
    }
    state[p.impl()] = std::move(copy);
  }
  state_ = std::move(state);
  for (size_t i = 0; i < param_groups_.size(); ++i) param_groups_[i].options = sd.param_groups[i].options;
}

std::string Optimizer::repr() const {
  std::string s = fmt::format("{} (", name());
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    s += fmt::format("\nParameter Group {}\n", i);
    for (const auto& [key, value] : param_groups_[i].options) s += fmt::format("    {}: {}\n", key, value.to_string());
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Optimizer& opt) { return os << opt.repr(); }

// ---- helpers for the optimizers ----

namespace detail {

double increment_step(ParamState& state, ScalarType dtype) {
  auto it = state.find("step");
  if (it == state.end()) it = state.emplace("step", scalar_tensor(0, dtype)).first;
  Tensor& s = it->second;
  CTORCH_CHECK(s.numel() == 1, "optimizer: state 'step' must hold one number, got shape {}", shape_str(s.sizes()));
  double v = 0;
  dispatch(s.dtype(), [&]<class T>() {
    T* p = s.data_ptr<T>();
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("optimizer: state 'step' cannot be a bool tensor");
    } else {
      *p = static_cast<T>(*p + T(1));  // in the tensor's own type, as torch's `step_t += 1`
      v = static_cast<double>(*p);
    }
  });
  ++s.impl()->storage->version;
  return v;
}

Tensor& buffer(ParamState& state, const std::string& key, const Tensor& param, double fill) {
  auto it = state.find(key);
  if (it == state.end()) {
    Tensor t = fill == 0 ? zeros(param.sizes(), param.dtype()) : full(param.sizes(), fill, param.dtype());
    return state.emplace(key, std::move(t)).first->second;
  }
  Tensor& t = it->second;
  CTORCH_CHECK(t.defined() && same_shape(t.sizes(), param.sizes()),
               "optimizer: state '{}' has shape {}, but its parameter has shape {}", key,
               t.defined() ? shape_str(t.sizes()) : std::string("(undefined)"), shape_str(param.sizes()));
  if (t.dtype() != param.dtype() || !t.is_contiguous()) t = t.to(param.dtype()).contiguous().clone();
  return t;
}

double number(const ParamGroup& g, const char* key) { return g.at(key).number(); }
bool flag(const ParamGroup& g, const char* key) { return g.at(key).flag(); }

}  // namespace detail

}  // namespace ctorch::optim
