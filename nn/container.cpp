#include "container.hpp"

namespace ctorch::nn {

SequentialImpl::SequentialImpl(std::initializer_list<AnyModule> modules) {
  for (const AnyModule& m : modules) push_back(m);
}
SequentialImpl::SequentialImpl(const std::vector<AnyModule>& modules) {
  for (const AnyModule& m : modules) push_back(m);
}

void SequentialImpl::push_back(const AnyModule& m) {
  register_module(std::to_string(modules_.size()), m.ptr());
  modules_.push_back(m.ptr());
}

Tensor SequentialImpl::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& m : modules_) x = m->forward(x);
  return x;
}

const std::shared_ptr<Module>& SequentialImpl::operator[](size_t i) const {
  CTORCH_CHECK(i < modules_.size(), "Sequential: index {} is out of range for {} modules", i, modules_.size());
  return modules_[i];
}

ModuleListImpl::ModuleListImpl(std::initializer_list<AnyModule> modules) {
  for (const AnyModule& m : modules) push_back(m);
}

void ModuleListImpl::push_back(const AnyModule& m) {
  register_module(std::to_string(modules_.size()), m.ptr());
  modules_.push_back(m.ptr());
}

const std::shared_ptr<Module>& ModuleListImpl::operator[](size_t i) const {
  CTORCH_CHECK(i < modules_.size(), "ModuleList: index {} is out of range for {} modules", i, modules_.size());
  return modules_[i];
}

}  // namespace ctorch::nn
