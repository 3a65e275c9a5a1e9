#pragma once
// Sequential and ModuleList, named "0", "1", ... like PyTorch's.
//   nn::Sequential model{nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 10)};
// Use braces: they build the layers left to right, so after manual_seed they draw the same
// initial weights as the Python line. With parentheses, C++ leaves the order in which the
// arguments are built unspecified (GCC builds the last one first).
#include <initializer_list>

#include "module.hpp"

namespace ctorch::nn {

// Anything that holds a module (a holder like nn::Linear, or a shared_ptr to a Module).
class AnyModule {
 public:
  template <class Holder>
    requires requires(const Holder& h) { std::shared_ptr<Module>(h.ptr()); }
  AnyModule(const Holder& h) : m_(h.ptr()) {}  // NOLINT
  template <class M>
    requires std::is_base_of_v<Module, M>
  AnyModule(std::shared_ptr<M> m) : m_(std::move(m)) {}  // NOLINT
  const std::shared_ptr<Module>& ptr() const { return m_; }

 private:
  std::shared_ptr<Module> m_;
};

class SequentialImpl : public Module {
 public:
  SequentialImpl() = default;
  SequentialImpl(std::initializer_list<AnyModule> modules);
  template <class... Ms>
    requires(sizeof...(Ms) > 0 && (std::is_convertible_v<Ms, AnyModule> && ...))
  explicit SequentialImpl(Ms&&... modules) : SequentialImpl({AnyModule(modules)...}) {}
  explicit SequentialImpl(const std::vector<AnyModule>& modules);
  void push_back(const AnyModule& m);
  Tensor forward(const Tensor& input) override;  // each module's output feeds the next
  size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};
CTORCH_MODULE(Sequential);

// Holds submodules so that they are registered; it has no forward of its own.
class ModuleListImpl : public Module {
 public:
  ModuleListImpl() = default;
  ModuleListImpl(std::initializer_list<AnyModule> modules);
  template <class... Ms>
    requires(sizeof...(Ms) > 0 && (std::is_convertible_v<Ms, AnyModule> && ...))
  explicit ModuleListImpl(Ms&&... modules) : ModuleListImpl({AnyModule(modules)...}) {}
  void push_back(const AnyModule& m);
  size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};
CTORCH_MODULE(ModuleList);

}  // namespace ctorch::nn
