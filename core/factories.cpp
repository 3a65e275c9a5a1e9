#include "factories.hpp"

#include <cmath>

#include "../autograd/grad_mode.hpp"
#include "kernels.hpp"

namespace ctorch {
namespace {

Tensor finish(Tensor t, TensorOptions o) {
  if (o.requires_grad_) t.requires_grad_(true);
  return t;
}

// The shape follows the first element at each depth; every other element must agree.
Shape infer_shape(const NestedList& l) {
  Shape shape;
  for (const NestedList* p = &l; p->is_list(); p = &p->children()[0]) {
    shape.push_back(static_cast<int64_t>(p->children().size()));
    if (p->children().empty()) break;
  }
  return shape;
}

void check_nested(const NestedList& l, const Shape& shape, int64_t depth, ScalarType& kind) {
  if (!l.is_list()) {
    CTORCH_CHECK(depth == shape.size(), "tensor: nested list is ragged (a number at depth {}, expected depth {})",
                 depth, shape.size());
    kind = promote_types(kind, l.kind());
    return;
  }
  int64_t n = static_cast<int64_t>(l.children().size());
  CTORCH_CHECK(depth < shape.size() && shape[depth] == n,
               "tensor: nested list is ragged (expected a sequence of length {} at dim {}, got {})",
               depth < shape.size() ? shape[depth] : 0, depth, n);
  for (const NestedList& c : l.children()) check_nested(c, shape, depth + 1, kind);
}

void flatten_into(const NestedList& l, std::vector<double>& out) {
  if (!l.is_list()) return out.push_back(l.value());
  for (const NestedList& c : l.children()) flatten_into(c, out);
}

template <class T> void fill_with(const Tensor& t, T v) {
  T* p = t.data_ptr<T>();
  std::fill(p, p + t.numel(), v);
}

TensorOptions like(const Tensor& t, std::optional<TensorOptions> o) { return o ? *o : TensorOptions(t.dtype()); }

}  // namespace

Tensor tensor(const NestedList& data, TensorOptions o) {
  Shape shape = infer_shape(data);
  ScalarType kind = kBool;
  check_nested(data, shape, 0, kind);
  std::vector<double> flat;
  flatten_into(data, flat);
  return tensor(flat, shape, o);
}

Tensor tensor(const NestedList& data) {
  Shape shape = infer_shape(data);
  ScalarType kind = kBool;
  check_nested(data, shape, 0, kind);
  if (data.is_list() && numel_of(shape) == 0) kind = kFloat32;  // torch.tensor([]) is float32
  return tensor(data, TensorOptions(kind));
}

template <class T> Tensor tensor(const std::vector<T>& data, IntArrayRef shape, TensorOptions o) {
  CTORCH_CHECK(static_cast<int64_t>(data.size()) == numel_of(shape),
               "tensor: {} values cannot fill a tensor of shape {} ({} elements)", data.size(), shape_str(shape),
               numel_of(shape));
  Tensor t = empty(shape, o.dtype_);
  dispatch(o.dtype_, [&]<class D>() {
    D* p = t.data_ptr<D>();
    for (size_t i = 0; i < data.size(); ++i) p[i] = static_cast<D>(data[i]);
  });
  return finish(t, o);
}
template Tensor tensor(const std::vector<float>&, IntArrayRef, TensorOptions);
template Tensor tensor(const std::vector<double>&, IntArrayRef, TensorOptions);
template Tensor tensor(const std::vector<int64_t>&, IntArrayRef, TensorOptions);
template Tensor tensor(const std::vector<int>&, IntArrayRef, TensorOptions);
template Tensor tensor(const std::vector<uint8_t>&, IntArrayRef, TensorOptions);

Tensor scalar_tensor(double v, TensorOptions o) { return full({}, v, o); }

Tensor full(IntArrayRef shape, double value, TensorOptions o) {
  Tensor t = empty(shape, o.dtype_);
  dispatch(o.dtype_, [&]<class T>() { fill_with<T>(t, static_cast<T>(value)); });
  return finish(t, o);
}
Tensor zeros(IntArrayRef shape, TensorOptions o) { return full(shape, 0, o); }
Tensor ones(IntArrayRef shape, TensorOptions o) { return full(shape, 1, o); }

Tensor arange(double end, std::optional<TensorOptions> o) { return arange(0, end, 1, o); }
Tensor arange(double start, double end, double step, std::optional<TensorOptions> given) {
  bool whole = std::floor(start) == start && std::floor(end) == end && std::floor(step) == step;
  TensorOptions o = given ? *given : TensorOptions(whole ? kInt64 : kFloat32);
  CTORCH_CHECK(step != 0, "arange: step must be nonzero");
  CTORCH_CHECK((step > 0 && end >= start) || (step < 0 && end <= start),
               "arange: upper bound and larger bound inconsistent with step sign (start={}, end={}, step={})", start,
               end, step);
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({n}, o.dtype_);
  dispatch(o.dtype_, [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return finish(t, o);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions o) {
  CTORCH_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got {}", steps);
  Tensor t = empty({steps}, o.dtype_);
  // PyTorch fills the first half forward from start and the second half backward from end.
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  int64_t half = steps / 2;
  dispatch(o.dtype_, [&]<class T>() {
    T* p = t.data_ptr<T>();
    using C = std::conditional_t<std::is_same_v<T, float>, float, double>;
    C s = static_cast<C>(step);
    for (int64_t i = 0; i < steps; ++i)  // one step: just start, as torch fills it
      p[i] = static_cast<T>(i < half || steps == 1 ? static_cast<C>(start) + s * static_cast<C>(i)
                                     : static_cast<C>(end) - s * static_cast<C>(steps - i - 1));
  });
  return finish(t, o);
}

Tensor rand(IntArrayRef shape, TensorOptions o) {
  Tensor t = empty(shape, o.dtype_);
  dispatch_floating(o.dtype_, "rand", [&]<class T>() {
    random_fill::uniform(t.data_ptr<T>(), t.numel(), 0, 1, default_generator());
  });
  return finish(t, o);
}

Tensor randn(IntArrayRef shape, TensorOptions o) {
  Tensor t = empty(shape, o.dtype_);
  dispatch_floating(o.dtype_, "randn", [&]<class T>() {
    random_fill::normal(t.data_ptr<T>(), t.numel(), 0, 1, default_generator());
  });
  return finish(t, o);
}

Tensor randint(int64_t low, int64_t high, IntArrayRef shape, TensorOptions o) {
  CTORCH_CHECK(o.dtype_ == kInt64 || o.dtype_ == kFloat32, "randint: dtype must be int64 or float32, got {}",
               dtype_name(o.dtype_));
  Tensor t = empty(shape, o.dtype_);
  if (o.dtype_ == kInt64) random_fill::randint(t.data_ptr<int64_t>(), t.numel(), low, high, default_generator());
  else random_fill::randint(t.data_ptr<float>(), t.numel(), low, high, default_generator());
  return finish(t, o);
}
Tensor randint(int64_t high, IntArrayRef shape, TensorOptions o) { return randint(0, high, shape, o); }

Tensor randperm(int64_t n, TensorOptions o) {
  CTORCH_CHECK(n >= 0, "randperm: n must be non-negative, got {}", n);
  Tensor t = empty({n}, kInt64);
  random_fill::randperm(t.data_ptr<int64_t>(), n, default_generator());
  return o.dtype_ == kInt64 ? t : t.to(o.dtype_);
}

Tensor eye(int64_t n, TensorOptions o) {
  Tensor t = zeros({n, n}, o.dtype_);
  dispatch(o.dtype_, [&]<class T>() {
    for (int64_t i = 0; i < n; ++i) t.data_ptr<T>()[i * n + i] = T(1);
  });
  return finish(t, o);
}

Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> o) { return zeros(t.sizes(), like(t, o)); }
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> o) { return ones(t.sizes(), like(t, o)); }
Tensor full_like(const Tensor& t, double v, std::optional<TensorOptions> o) { return full(t.sizes(), v, like(t, o)); }
Tensor rand_like(const Tensor& t, std::optional<TensorOptions> o) { return rand(t.sizes(), like(t, o)); }
Tensor randn_like(const Tensor& t, std::optional<TensorOptions> o) { return randn(t.sizes(), like(t, o)); }

}  // namespace ctorch

namespace ctorch {
namespace {
// Fills t in place with a generator stream, in row-major order (through a temporary when t is
// not contiguous), and bumps its version like every in-place write.
template <class Fill>
Tensor& fill_random(Tensor& t, const char* op, Fill&& fill) {
  CTORCH_CHECK(!(GradMode::is_enabled() && t.requires_grad() && t.is_leaf()),
               "{}: a leaf Variable that requires grad is being used in an in-place operation.", op);
  Tensor dst = t.is_contiguous() ? t : empty(t.sizes(), t.dtype());
  dispatch_floating(t.dtype(), op, [&]<class T>() { fill(static_cast<T*>(dst.raw_data()), dst.numel()); });
  if (!dst.is_same(t)) kernels::copy(t, dst);
  ++t.impl()->storage->version;
  return t;
}
}  // namespace

Tensor& Tensor::uniform_(double from, double to) {
  return fill_random(*this, "uniform_", [&](auto* p, int64_t n) { random_fill::uniform(p, n, from, to, default_generator()); });
}
Tensor& Tensor::normal_(double mean, double std) {
  return fill_random(*this, "normal_", [&](auto* p, int64_t n) { random_fill::normal(p, n, mean, std, default_generator()); });
}

}  // namespace ctorch
