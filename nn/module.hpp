#pragma once
// nn::Module: a tree of modules owning parameters and buffers under PyTorch's dotted names
// ("fc1.weight", "0.bias"). A layer is written like a PyTorch one:
//
//   struct NetImpl : nn::Module {
//     nn::Linear fc1{10, 5}, fc2{5, 1};
//     NetImpl() { register_module("fc1", fc1); register_module("fc2", fc2); }
//     Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
//   };
//   CTORCH_MODULE(Net);   // Net is a shared handle: Net model; model(x); model->parameters()
//
// Holders (nn::Linear, nn::Net) share their module like Python references do; a module can
// also be used directly (NetImpl model; model(x)).
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = default;
  Module& operator=(const Module&) = default;

  // The computation. Modules with one tensor in and one out override this; others (losses,
  // multi-input modules) define their own forward/operator().
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // ---- registration (names must be unique, non-empty and without '.') ----
  Tensor& register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class Holder>
    requires requires(Holder& h) { std::shared_ptr<Module>(h.ptr()); }
  Holder& register_module(const std::string& name, Holder& holder) {
    add_child(name, holder.ptr());
    return holder;
  }
  // Any shared_ptr to a module type (an lvalue std::shared_ptr<MyImpl> too), returned as given.
  template <class M>
    requires std::is_base_of_v<Module, M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // ---- the tree ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(const std::string& prefix = "");

  // ---- modes and gradients ----
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad(bool set_to_none = true);
  Module& requires_grad_(bool requires_grad = true);

  // ---- state: parameters and buffers by dotted name ----
  NamedTensors state_dict() const;
  // Copies values into this module's own tensors (so references to them stay valid). strict:
  // missing or unexpected keys are an error; a wrong shape always is. The message names them all.
  struct LoadResult {
    std::vector<std::string> missing_keys, unexpected_keys;
  };
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);
  void save(const std::string& path) const;  // safetensors, written atomically
  void load(const std::string& path, bool strict = true);

  // ---- printing like PyTorch's repr ----
  virtual std::string name() const;        // "Linear"; defaults to the C++ class name without "Impl"
  virtual std::string extra_repr() const { return ""; }
  std::string repr() const;

 protected:
  bool training_ = true;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const;

  std::string name_;
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A shared handle to a module of type Impl, like libtorch's ModuleHolder: copying shares.
template <class Impl>
class ModuleHolder {
 public:
  template <class... Args>
    requires(!(sizeof...(Args) == 1 && (std::is_base_of_v<ModuleHolder, std::decay_t<Args>> && ...)))
  explicit ModuleHolder(Args&&... args) : impl_(std::make_shared<Impl>(std::forward<Args>(args)...)) {}
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT
  ModuleHolder(std::nullptr_t) {}                                       // NOLINT: an empty slot

  Impl* operator->() const { return impl_.get(); }
  Impl& operator*() const { return *impl_; }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return impl_->forward(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<Impl> impl_;
};

// CTORCH_MODULE(Linear) declares `Linear`, a holder of `LinearImpl`.
#define CTORCH_MODULE(Name)                               \
  class Name : public ::ctorch::nn::ModuleHolder<Name##Impl> { \
   public:                                                \
    using ::ctorch::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }

}  // namespace ctorch::nn
