#include "module.hpp"

#include <cxxabi.h>

#include <functional>
#include <set>
#include <typeinfo>

#include "../autograd/grad_mode.hpp"
#include "safetensors.hpp"

namespace ctorch::nn {

Tensor Module::forward(const Tensor&) {
  throw Error(fmt::format("{}: forward(const Tensor&) is not implemented for this module", name()));
}

void Module::check_name(const std::string& name, const char* what) const {
  CTORCH_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "{}: {} name '{}' must be non-empty and must not contain '.'", this->name(), what, name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  CTORCH_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "{}: attribute '{}' already exists",
               this->name(), name);
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "parameter");
  CTORCH_CHECK(t.defined(), "{}: parameter '{}' is an undefined tensor", this->name(), name);
  if (requires_grad) t.requires_grad_(true);
  parameters_.emplace_back(name, std::move(t));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "buffer");
  buffers_.emplace_back(name, std::move(t));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "module");
  CTORCH_CHECK(m != nullptr, "{}: submodule '{}' is empty", this->name(), name);
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const {
  for (const auto& [n, t] : params ? parameters_ : buffers_)
    if (t.defined()) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", true, params, out);
}

namespace {
// A tensor shared by two submodules (or one submodule registered twice) is listed once, under
// its first name, like PyTorch's _named_members.
NamedTensors first_occurrences(NamedTensors all) {
  std::set<TensorImpl*> seen;
  NamedTensors unique;
  for (auto& p : all)
    if (seen.insert(p.second.impl()).second) unique.push_back(std::move(p));
  return unique;
}
}  // namespace

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return first_occurrences(std::move(out));
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return first_occurrences(std::move(out));
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  std::set<const Module*> seen;  // a module registered under two names is one child, like PyTorch
  for (const auto& [_, c] : children_)
    if (seen.insert(c.get()).second) out.push_back(c);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  // shared_from_this fails for a module that is not owned by a shared_ptr: alias it instead.
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
  // Pre-order; a module reachable twice (shared, or registered under two names) is listed once,
  // under its first name, like PyTorch's named_modules(remove_duplicate=True).
  std::set<const Module*> seen;
  std::function<void(const std::string&, const std::shared_ptr<Module>&)> walk =
      [&](const std::string& p, const std::shared_ptr<Module>& m) {
        if (!seen.insert(m.get()).second) return;
        out.emplace_back(p, m);
        for (const auto& [n, c] : m->children_) walk(p.empty() ? n : p + "." + n, c);
      };
  walk(prefix, self);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& [_, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else {
      NoGradGuard g;
      p.grad().zero_();
    }
  }
}

Module& Module::requires_grad_(bool requires_grad) {
  for (Tensor& p : parameters()) p.requires_grad_(requires_grad);
  return *this;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  // PyTorch's order: each module's parameters, then its buffers, then its children.
  std::function<void(const std::string&, const Module&)> walk = [&](const std::string& prefix, const Module& m) {
    for (const auto& [n, t] : m.parameters_)
      if (t.defined()) out.emplace_back(prefix + n, t.detach());
    for (const auto& [n, t] : m.buffers_)
      if (t.defined()) out.emplace_back(prefix + n, t.detach());
    for (const auto& [n, c] : m.children_) walk(prefix + n + ".", *c);
  };
  walk("", *this);
  return out;
}

Module::LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors own = state_dict();
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, t] : state) given[n] = &t;
  LoadResult r;
  std::vector<std::string> wrong_shape;
  std::set<std::string> known;
  for (const auto& [n, t] : own) {
    known.insert(n);
    auto it = given.find(n);
    if (it == given.end()) r.missing_keys.push_back(n);
    else if (!same_shape(it->second->sizes(), t.sizes()))
      wrong_shape.push_back(fmt::format("size mismatch for {}: copying a param with shape {} from checkpoint, the "
                                        "shape in current model is {}", n, shape_str(it->second->sizes()),
                                        shape_str(t.sizes())));
  }
  for (const auto& [n, _] : state)
    if (!known.count(n)) r.unexpected_keys.push_back(n);
  std::string problems;
  if (strict && !r.missing_keys.empty())
    problems += fmt::format("\n\tMissing key(s) in state_dict: \"{}\".", fmt::join(r.missing_keys, "\", \""));
  if (strict && !r.unexpected_keys.empty())
    problems += fmt::format("\n\tUnexpected key(s) in state_dict: \"{}\".", fmt::join(r.unexpected_keys, "\", \""));
  for (const auto& w : wrong_shape) problems += "\n\t" + w + ".";
  CTORCH_CHECK(problems.empty(), "Error(s) in loading state_dict for {}:{}", name(), problems);
  NoGradGuard g;
  for (auto& [n, t] : own)
    if (auto it = given.find(n); it != given.end()) Tensor(t).copy_(*it->second);
  return r;
}

void Module::save(const std::string& path) const { save_safetensors(path, state_dict()); }

void Module::load(const std::string& path, bool strict) { load_state_dict(load_safetensors(path), strict); }

std::string Module::name() const {
  if (!name_.empty()) return name_;
  int status = 0;
  char* d = abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status);
  std::string n = status == 0 && d ? d : typeid(*this).name();
  std::free(d);
  if (auto colon = n.rfind("::"); colon != std::string::npos) n = n.substr(colon + 2);
  if (n.size() > 4 && n.ends_with("Impl")) n.resize(n.size() - 4);
  return n;
}

// PyTorch's Module.__repr__: the extra_repr lines, then "(name): child" per child (indented by
// two), one per line; a single extra_repr line and no children stay on one line.
std::string Module::repr() const {
  std::vector<std::string> lines;
  if (std::string extra = extra_repr(); !extra.empty()) {
    for (size_t start = 0;;) {
      size_t nl = extra.find('\n', start);
      lines.push_back(extra.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  size_t extra_lines = lines.size();
  for (const auto& [n, c] : children_) {
    std::string indented;
    for (char ch : c->repr()) indented += ch == '\n' ? std::string("\n  ") : std::string(1, ch);
    lines.push_back("(" + n + "): " + indented);
  }
  std::string s = name() + "(";
  if (extra_lines == 1 && children_.empty()) s += lines[0];
  else if (!lines.empty()) s += "\n  " + fmt::format("{}", fmt::join(lines, "\n  ")) + "\n";
  return s + ")";
}

}  // namespace ctorch::nn
