#include "tensor.hpp"

#include <ostream>

#include "format.hpp"
#include "kernels.hpp"

namespace ctorch {

namespace autograd {
// Defined in autograd/node.cpp: drops a graph reference without recursing down a long chain.
void release_graph(std::shared_ptr<Node>&& node);
}  // namespace autograd

TensorImpl::~TensorImpl() {
  if (grad_fn) autograd::release_graph(std::move(grad_fn));
}

int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  const TensorImpl* t = checked();
  int64_t expected = 1;
  for (int64_t i = t->sizes.size() - 1; i >= 0; --i) {
    if (t->sizes[i] == 1) continue;
    if (t->strides[i] != expected) return false;
    expected *= t->sizes[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl* t = checked();
  return static_cast<char*>(t->storage->data) + t->offset * static_cast<int64_t>(ctorch::element_size(t->dtype));
}

template <class T> T Tensor::item() const {
  CTORCH_CHECK(numel() == 1, "item: a Tensor with {} elements cannot be converted to a scalar (shape {})", numel(),
               shape_str(sizes()));
  return dispatch(dtype(), [&]<class S>() { return static_cast<T>(*static_cast<const S*>(raw_data())); });
}
template bool Tensor::item<bool>() const;
template int64_t Tensor::item<int64_t>() const;
template int Tensor::item<int>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;

template <class T> std::vector<T> Tensor::to_vector() const {
  Tensor c = detach().contiguous();
  std::vector<T> v(c.numel());
  dispatch(c.dtype(), [&]<class S>() {
    const S* p = static_cast<const S*>(c.raw_data());
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(p[i]);
  });
  return v;
}
template std::vector<bool> Tensor::to_vector<bool>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<int> Tensor::to_vector<int>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;


std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << (t.defined() ? t.str() : "Tensor(undefined)"); }

Tensor empty(IntArrayRef shape, TensorOptions o) {
  for (int64_t s : shape) CTORCH_CHECK(s >= 0, "empty: negative dimension {} in shape {}", s, shape_str(shape));
  auto storage = make_pooled<Storage>(numel_of(shape) * ctorch::element_size(o.dtype_));
  auto impl = make_pooled<TensorImpl>(std::move(storage), Shape(shape), contiguous_strides(shape), 0, o.dtype_);
  impl->requires_grad = o.requires_grad_;
  if (o.requires_grad_)
    CTORCH_CHECK(is_floating_point(o.dtype_), "requires_grad: only floating point tensors can require gradients, got {}",
                 dtype_name(o.dtype_));
  return Tensor(std::move(impl));
}

Tensor empty_like(const Tensor& t) { return empty(t.sizes(), t.dtype()); }

Tensor make_view(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  auto impl = make_pooled<TensorImpl>(t.impl()->storage, Shape(sizes), Shape(strides), offset, t.dtype());
  impl->is_view = true;
  return Tensor(std::move(impl));
}

namespace kernels {

namespace {
// Whether src's shape is dst's trailing dims (leading 1s aside): broadcasting it repeats it whole.
bool repeats_over_leading_dims(const Tensor& dst, const Tensor& src) {
  int64_t ns = src.dim(), nd = dst.dim();
  IntArrayRef ss = src.sizes(), ds = dst.sizes();
  int64_t k = 0;
  while (k < ns && ss[k] == 1 && ns - k > nd) ++k;  // src dims beyond dst's rank are 1s
  while (k < ns && ss[k] == 1 && ns - k > 0 && ds[nd - (ns - k)] != 1) ++k;
  for (int64_t i = k; i < ns; ++i)
    if (ss[i] != ds[nd - (ns - i)]) return false;
  return true;
}
}  // namespace

void copy(const Tensor& dst, const Tensor& src) {
  Shape shape = broadcast_shapes(dst.sizes(), src.sizes(), "copy_");
  CTORCH_CHECK(same_shape(shape, dst.sizes()), "copy_: source of shape {} cannot be broadcast to destination shape {}",
               shape_str(src.sizes()), shape_str(dst.sizes()));
  dispatch(dst.dtype(), [&]<class D>() {
    dispatch(src.dtype(), [&]<class S>() {
      if (dst.is_contiguous() && src.is_contiguous() && repeats_over_leading_dims(dst, src)) {
        // src fills dst once, or once per leading index (a bias written into every row)
        D* o = static_cast<D*>(dst.raw_data());
        const S* x = static_cast<const S*>(src.raw_data());
        int64_t n = src.numel(), total = dst.numel();
        if (n == 1) {
          std::fill(o, o + total, static_cast<D>(*x));
          return;
        }
        for (int64_t r = 0; r + n <= total && n > 0; r += n, o += n)
          for (int64_t i = 0; i < n; ++i) o[i] = static_cast<D>(x[i]);
        return;
      }
      std::array<Shape, 2> st{Shape(dst.strides()), broadcast_strides(src, dst.sizes())};
      for_each_row<2>(dst.sizes(), st, {static_cast<char*>(dst.raw_data()), static_cast<char*>(src.raw_data())},
                      {sizeof(D), sizeof(S)}, [](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> k) {
                        D* o = reinterpret_cast<D*>(p[0]);
                        const S* x = reinterpret_cast<const S*>(p[1]);
                        for (int64_t i = 0; i < n; ++i) o[i * k[0]] = static_cast<D>(x[i * k[1]]);
                      });
    });
  });
}

ReduceRows reduce_rows(const Tensor& a, IntArrayRef dims, bool keepdim, std::string_view op) {
  int64_t nd = a.dim();
  std::array<bool, kMaxDims> reduced{};
  if (dims.empty()) reduced.fill(true);  // no dims given: reduce everything, like PyTorch
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    CTORCH_CHECK(!reduced[w] || dims.empty(), "{}: dim {} appears multiple times in the list of dims", op, w);
    reduced[w] = true;
  }
  Shape perm, out_shape;
  int64_t row = 1;
  for (int64_t i = 0; i < nd; ++i)
    if (!reduced[i]) perm.push_back(i), out_shape.push_back(a.size(i));
    else if (keepdim) out_shape.push_back(1);
  for (int64_t i = 0; i < nd; ++i)
    if (reduced[i]) perm.push_back(i), row *= a.size(i);
  Shape sizes, strides;
  for (int64_t p : perm) sizes.push_back(a.size(p)), strides.push_back(a.stride(p));
  Tensor rows = make_view(a, sizes, strides, a.storage_offset());
  if (!rows.is_contiguous()) {
    Tensor c = empty(sizes, a.dtype());
    copy(c, rows);
    rows = c;
  }
  return {rows, out_shape, row};
}

}  // namespace kernels
}  // namespace ctorch
