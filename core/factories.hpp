#pragma once
// Making tensors: from literals and vectors, filled, ranges, random (seeded by manual_seed).
#include <initializer_list>
#include <variant>
#include <vector>

#include "generator.hpp"
#include "tensor.hpp"

namespace ctorch {

// A nested list literal: tensor({{1.f, 2.f}, {3.f, 4.f}}). Integers make int64 tensors,
// any floating literal makes the whole tensor float32, bools make bool tensors (like torch.tensor).
class NestedList {
 public:
  NestedList(double v) : value_(v), kind_(kFloat32) {}             // NOLINT
  NestedList(float v) : value_(v), kind_(kFloat32) {}              // NOLINT
  NestedList(int v) : value_(v), kind_(kInt64) {}                  // NOLINT
  NestedList(long v) : value_(static_cast<double>(v)), kind_(kInt64) {}       // NOLINT
  NestedList(long long v) : value_(static_cast<double>(v)), kind_(kInt64) {}  // NOLINT
  NestedList(bool v) : value_(v), kind_(kBool) {}                  // NOLINT
  NestedList(std::initializer_list<NestedList> l) : children_(l), is_list_(true) {}

  bool is_list() const { return is_list_; }
  double value() const { return value_; }
  ScalarType kind() const { return kind_; }
  const std::vector<NestedList>& children() const { return children_; }

 private:
  double value_ = 0;
  ScalarType kind_ = kBool;
  std::vector<NestedList> children_;
  bool is_list_ = false;
};

Tensor tensor(const NestedList& data, TensorOptions o);
Tensor tensor(const NestedList& data);  // dtype inferred from the literals
template <class T>
Tensor tensor(const std::vector<T>& data, IntArrayRef shape, TensorOptions o = dtype(dtype_v<T>));
template <class T>
Tensor tensor(const std::vector<T>& data, std::initializer_list<int64_t> shape, TensorOptions o = dtype(dtype_v<T>)) {
  return tensor(data, IntArrayRef(shape.begin(), shape.size()), o);
}
Tensor scalar_tensor(double v, TensorOptions o = {});

Tensor zeros(IntArrayRef shape, TensorOptions o = {});
Tensor ones(IntArrayRef shape, TensorOptions o = {});
Tensor full(IntArrayRef shape, double value, TensorOptions o = {});
// Without a dtype, like torch: int64 when start, end and step are all whole numbers, else float32.
Tensor arange(double end, std::optional<TensorOptions> o = {});
Tensor arange(double start, double end, double step = 1, std::optional<TensorOptions> o = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions o = {});
Tensor rand(IntArrayRef shape, TensorOptions o = {});
Tensor randn(IntArrayRef shape, TensorOptions o = {});
Tensor randint(int64_t low, int64_t high, IntArrayRef shape, TensorOptions o = kInt64);
Tensor randint(int64_t high, IntArrayRef shape, TensorOptions o = kInt64);
Tensor randperm(int64_t n, TensorOptions o = kInt64);
Tensor eye(int64_t n, TensorOptions o = {});

Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> o = {});
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> o = {});
Tensor full_like(const Tensor& t, double value, std::optional<TensorOptions> o = {});
Tensor rand_like(const Tensor& t, std::optional<TensorOptions> o = {});
Tensor randn_like(const Tensor& t, std::optional<TensorOptions> o = {});

// Braced shapes: zeros({2, 3}).
#define CTORCH_SHAPE_OVERLOAD(name)                                                      \
  inline Tensor name(std::initializer_list<int64_t> s, TensorOptions o = {}) {           \
    return name(IntArrayRef(s.begin(), s.size()), o);                                    \
  }
CTORCH_SHAPE_OVERLOAD(zeros)
CTORCH_SHAPE_OVERLOAD(ones)
CTORCH_SHAPE_OVERLOAD(rand)
CTORCH_SHAPE_OVERLOAD(randn)
#undef CTORCH_SHAPE_OVERLOAD
inline Tensor full(std::initializer_list<int64_t> s, double v, TensorOptions o = {}) {
  return full(IntArrayRef(s.begin(), s.size()), v, o);
}
inline Tensor randint(int64_t low, int64_t high, std::initializer_list<int64_t> s, TensorOptions o = kInt64) {
  return randint(low, high, IntArrayRef(s.begin(), s.size()), o);
}
inline Tensor randint(int64_t high, std::initializer_list<int64_t> s, TensorOptions o = kInt64) {
  return randint(0, high, IntArrayRef(s.begin(), s.size()), o);
}

}  // namespace ctorch
