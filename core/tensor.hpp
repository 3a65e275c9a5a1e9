#pragma once
// Tensor: a handle (like torch.Tensor) to a TensorImpl that holds a view of a Storage
// (sizes, strides, offset, dtype) and, when autograd is involved, the tensor's place in the graph.
// Copying a Tensor shares it; `clone()` copies the data.
//
// Methods are declared here and implemented beside their backward rules in ops/*.cpp; core/
// itself knows only the data layout.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "dtype.hpp"
#include "pool.hpp"
#include "shape.hpp"
#include "storage.hpp"

namespace ctorch {

namespace autograd {
struct Node;
struct Hooks;
}

struct TensorImpl {
  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset, ScalarType dtype)
      : storage(std::move(storage)), sizes(sizes), strides(strides), offset(offset), dtype(dtype) {}
  ~TensorImpl();

  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  ScalarType dtype;
  bool is_view = false;  // shares storage with the tensor it was made from

  // autograd (see autograd/): a leaf that requires grad has no grad_fn; a non-leaf has the node
  // that produced it and which of that node's outputs it is.
  bool requires_grad = false;
  bool retains_grad = false;
  uint32_t output_nr = 0;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves only: shared by every use
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Hooks> hooks;  // leaves only (a non-leaf's hooks live on its grad_fn)
};

// What Tensor::register_hook returns (torch.utils.hooks.RemovableHandle): remove() unregisters the
// hook; calling it twice, or after the tensor is gone, does nothing.
class RemovableHandle {
 public:
  RemovableHandle() = default;
  RemovableHandle(std::weak_ptr<autograd::Hooks> hooks, uint64_t id) : hooks_(std::move(hooks)), id_(id) {}
  void remove();

 private:
  std::weak_ptr<autograd::Hooks> hooks_;
  uint64_t id_ = 0;
};

// A new TensorImpl (or Storage) from the per-thread object pool rather than malloc.
template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(allocator::PoolAllocator<T>{}, std::forward<Args>(args)...);
}

// Options of a factory function, as in libtorch: ctorch::zeros({2, 3}, ctorch::dtype(kFloat64)).
struct TensorOptions {
  ScalarType dtype_ = kFloat32;
  bool requires_grad_ = false;
  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t) {}  // NOLINT: zeros({2}, kInt64) reads well
  TensorOptions dtype(ScalarType t) const { auto o = *this; o.dtype_ = t; return o; }
  TensorOptions requires_grad(bool r = true) const { auto o = *this; o.requires_grad_ = r; return o; }
};
inline TensorOptions dtype(ScalarType t) { return TensorOptions().dtype(t); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // ---- metadata ----
  ScalarType dtype() const { return checked()->dtype; }
  ScalarType scalar_type() const { return dtype(); }
  int64_t dim() const { return checked()->sizes.size(); }
  int64_t ndimension() const { return dim(); }
  IntArrayRef sizes() const { return checked()->sizes; }
  IntArrayRef shape() const { return sizes(); }
  IntArrayRef strides() const { return checked()->strides; }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t storage_offset() const { return checked()->offset; }
  int64_t numel() const { return numel_of(sizes()); }
  size_t element_size() const { return ctorch::element_size(dtype()); }
  bool is_contiguous() const;
  bool is_floating_point() const { return ctorch::is_floating_point(dtype()); }
  uint32_t version() const { return checked()->storage->version; }
  bool shares_storage(const Tensor& o) const { return impl_->storage == o.impl_->storage; }

  // ---- element access ----
  template <class T> T* data_ptr() const;   // checks the dtype
  void* raw_data() const;                   // address of element 0
  template <class T> T item() const;        // one-element tensors, converted to T
  double item() const { return item<double>(); }
  template <class T> std::vector<T> to_vector() const;   // all elements, row-major, converted to T
  Tensor operator[](int64_t i) const { return select(0, i); }
  std::string str() const;                  // PyTorch's repr

  // ---- autograd ----
  bool requires_grad() const { return checked()->requires_grad; }
  Tensor& requires_grad_(bool r = true);
  Tensor grad() const;                      // undefined Tensor when none
  void set_grad(const Tensor& g);
  bool is_leaf() const { return checked()->grad_fn == nullptr; }
  void retain_grad() const;
  bool retains_grad() const { return checked()->retains_grad; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked()->grad_fn; }
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  Tensor detach() const;                    // same data, no history
  Tensor& detach_();
  // Hooks (autograd/hooks.hpp). hook(grad) may return a replacement gradient of the same shape and
  // dtype, or an undefined Tensor (or nothing: a void hook) to leave it as it is.
  RemovableHandle register_hook(std::function<Tensor(const Tensor&)> hook) const;
  template <class F>
    requires std::is_void_v<std::invoke_result_t<F, const Tensor&>>
  RemovableHandle register_hook(F hook) const {
    return register_hook(std::function<Tensor(const Tensor&)>([hook = std::move(hook)](const Tensor& g) {
      hook(g);
      return Tensor();
    }));
  }
  // hook(param) runs after param's gradient has been accumulated into param.grad(); leaves only.
  RemovableHandle register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;

  // ---- copies and conversion (differentiable) ----
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(ScalarType t) const;
  Tensor to(TensorOptions o) const { return to(o.dtype_); }

  // ---- views (share storage; differentiable) ----
  Tensor view(IntArrayRef shape) const;
  Tensor view(std::initializer_list<int64_t> s) const { return view(IntArrayRef(s.begin(), s.size())); }
  Tensor reshape(IntArrayRef shape) const;
  Tensor reshape(std::initializer_list<int64_t> s) const { return reshape(IntArrayRef(s.begin(), s.size())); }
  Tensor view_as(const Tensor& o) const { return view(o.sizes()); }
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;
  Tensor mT() const { return transpose(-2, -1); }
  Tensor permute(IntArrayRef dims) const;
  Tensor permute(std::initializer_list<int64_t> d) const { return permute(IntArrayRef(d.begin(), d.size())); }
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t d) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;
  Tensor slice(int64_t d, std::optional<int64_t> start = {}, std::optional<int64_t> end = {}, int64_t step = 1) const;
  Tensor select(int64_t d, int64_t index) const;
  Tensor expand(IntArrayRef shape) const;
  Tensor expand(std::initializer_list<int64_t> s) const { return expand(IntArrayRef(s.begin(), s.size())); }
  Tensor expand_as(const Tensor& o) const { return expand(o.sizes()); }

  // ---- elementwise (broadcasting) ----
  Tensor add(const Tensor& o, double alpha = 1) const;
  Tensor sub(const Tensor& o, double alpha = 1) const;
  Tensor mul(const Tensor& o) const;
  Tensor div(const Tensor& o) const;
  Tensor neg() const;
  Tensor pow(const Tensor& e) const;
  Tensor pow(double e) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor square() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor clamp(std::optional<double> min, std::optional<double> max = {}) const;
  Tensor maximum(const Tensor& o) const;
  Tensor minimum(const Tensor& o) const;
  Tensor eq(const Tensor& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor le(const Tensor& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor ge(const Tensor& o) const;
  Tensor masked_fill(const Tensor& mask, double value) const;

  // ---- in place (bump the version counter; for parameter updates under no_grad) ----
  Tensor& add_(const Tensor& o, double alpha = 1);
  Tensor& add_(double s);
  Tensor& sub_(const Tensor& o, double alpha = 1);
  Tensor& sub_(double s);
  Tensor& mul_(const Tensor& o);
  Tensor& mul_(double s);
  Tensor& div_(const Tensor& o);
  Tensor& div_(double s);
  Tensor& clamp_(std::optional<double> min, std::optional<double> max = {});
  Tensor& zero_();
  Tensor& fill_(double v);
  Tensor& copy_(const Tensor& src);
  Tensor& uniform_(double from = 0, double to = 1);
  Tensor& normal_(double mean = 0, double std = 1);

  // ---- reductions ----
  Tensor sum() const;
  Tensor sum(IntArrayRef dims, bool keepdim = false) const;
  Tensor sum(int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(IntArrayRef dims, bool keepdim = false) const;
  Tensor mean(int64_t dim, bool keepdim = false) const;
  Tensor max() const;
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor argmax() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  Tensor var() const;  // all elements, correction 1; x.var(1) is over dim 1, as in PyTorch
  Tensor var(IntArrayRef dims, int64_t correction = 1, bool keepdim = false) const;
  Tensor var(int64_t dim, int64_t correction = 1, bool keepdim = false) const;
  Tensor std() const;  // all elements, correction 1 (other corrections: ctorch::std(x, {}, c))
  Tensor std(IntArrayRef dims, int64_t correction = 1, bool keepdim = false) const;
  Tensor std(int64_t dim, int64_t correction = 1, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- linear algebra and indexing ----
  Tensor matmul(const Tensor& o) const;
  Tensor mm(const Tensor& o) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;

 private:
  TensorImpl* checked() const {
    CTORCH_CHECK(impl_ != nullptr, "tensor is undefined (default-constructed Tensor)");
    return impl_.get();
  }
  std::shared_ptr<TensorImpl> impl_;
};

using TensorList = std::vector<Tensor>;

// ---- making tensors (core/factories.cpp) ----
Tensor empty(IntArrayRef shape, TensorOptions o = {});
inline Tensor empty(std::initializer_list<int64_t> s, TensorOptions o = {}) { return empty(IntArrayRef(s.begin(), s.size()), o); }
Tensor empty_like(const Tensor& t);
// A new tensor sharing t's storage with other sizes/strides/offset (no autograd; see ops/shape.cpp).
Tensor make_view(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset);

std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T> T* Tensor::data_ptr() const {
  CTORCH_CHECK(dtype() == dtype_v<T>, "data_ptr: tensor has dtype {}, asked for {}", dtype_name(dtype()),
               dtype_name(dtype_v<T>));
  return static_cast<T*>(raw_data());
}

}  // namespace ctorch

template <>
struct fmt::formatter<ctorch::Tensor> : fmt::formatter<std::string> {
  auto format(const ctorch::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(t.defined() ? t.str() : std::string("Tensor(undefined)"), ctx);
  }
};
