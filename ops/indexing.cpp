#include "indexing.hpp"

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

void check_index(const Tensor& index, const char* op) {
  CTORCH_CHECK(index.dtype() == kInt64, "{}: index must be an int64 tensor, got {}", op, dtype_name(index.dtype()));
}

// Calls f(out_offset, in_offset) for every element of a tensor of shape `shape` seen through
// two stride sets, iterating in row-major order.
template <class F>
void walk(IntArrayRef shape, IntArrayRef s0, IntArrayRef s1, F&& f) {
  int64_t nd = static_cast<int64_t>(shape.size()), n = numel_of(shape);
  Shape idx(nd, 0);
  int64_t o0 = 0, o1 = 0;
  for (int64_t e = 0; e < n; ++e) {
    f(e, o0, o1);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) { o0 += s0[d]; o1 += s1[d]; break; }
      o0 -= s0[d] * (shape[d] - 1);
      o1 -= s1[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

// out = a.select(dim, index[i]) stacked along dim; backward: index_add of g into zeros
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  check_index(index, "index_select");
  CTORCH_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape {}", shape_str(index.sizes()));
  dim = wrap_dim(dim, a.dim(), "index_select");
  Tensor idx = index.reshape({-1});
  std::vector<int64_t> iv = idx.to_vector<int64_t>();
  int64_t n = a.dim() == 0 ? 1 : a.size(dim);
  for (int64_t i : iv)
    CTORCH_CHECK(i >= -n && i < n, "index_select: index {} is out of bounds for dimension {} with size {}", i, dim, n);
  Shape shape(a.sizes());
  if (a.dim() > 0) shape[dim] = static_cast<int64_t>(iv.size());
  Tensor out = empty(shape, a.dtype());
  for (size_t k = 0; k < iv.size(); ++k) {
    int64_t i = iv[k] < 0 ? iv[k] + n : iv[k];
    if (a.dim() == 0) kernels::copy(out, a);
    else kernels::copy(out.detach().select(dim, static_cast<int64_t>(k)), a.detach().select(dim, i));
  }
  Shape in_shape(a.sizes());
  return record("IndexSelectBackward0", out, {a}, {idx}, [in_shape, dim](const Saved& s, const Tensor& g) {
    return grads(index_add(zeros(in_shape, g.dtype()), dim, s[0], g));
  });
}

// out = a with source's slices added at index positions along dim (repeated indices add up)
Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source) {
  check_index(index, "index_add");
  dim = wrap_dim(dim, a.dim(), "index_add");
  std::vector<int64_t> iv = index.reshape({-1}).to_vector<int64_t>();
  CTORCH_CHECK(a.dim() == 0 || (source.dim() == a.dim() && source.size(dim) == static_cast<int64_t>(iv.size())),
               "index_add: source of shape {} does not match self of shape {} with {} indices along dim {}",
               shape_str(source.sizes()), shape_str(a.sizes()), iv.size(), dim);
  int64_t n = a.dim() == 0 ? 1 : a.size(dim);
  Tensor out = a.detach().clone();
  for (size_t k = 0; k < iv.size(); ++k) {
    int64_t i = iv[k];
    CTORCH_CHECK(i >= -n && i < n, "index_add: index {} is out of bounds for dimension {} with size {}", i, dim, n);
    if (i < 0) i += n;
    Tensor dst = a.dim() == 0 ? out : out.select(dim, i);
    Tensor src = source.dim() == 0 ? source.detach() : source.detach().select(dim, static_cast<int64_t>(k));
    kernels::inplace(dst, src, "index_add", [](auto x, auto y) { return x + y; });
  }
  Tensor idx = index.reshape({-1});
  return record("IndexAddBackward0", out, {a, source}, {idx}, [dim](const Saved& s, const Tensor& g) {
    return grads(g, g.dim() == 0 ? g : index_select(g, dim, s[0]));
  });
}

// out[i][j] = a[index[i][j]][j] (dim 0): backward scatters g back where it was gathered from
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  check_index(index, "gather");
  dim = wrap_dim(dim, a.dim(), "gather");
  CTORCH_CHECK(index.dim() == a.dim() || (a.dim() == 0 && index.dim() <= 1),
               "gather: index tensor must have the same number of dimensions as input tensor (input {}, index {})",
               shape_str(a.sizes()), shape_str(index.sizes()));
  for (int64_t d = 0; d < index.dim(); ++d)
    CTORCH_CHECK(d == dim || index.size(d) <= a.size(d),
                 "gather: size does not match at dimension {}: index {} is larger than input {}", d,
                 shape_str(index.sizes()), shape_str(a.sizes()));
  Tensor out = empty(index.sizes(), a.dtype());
  int64_t n = a.dim() == 0 ? 1 : a.size(dim);
  Shape ostr = contiguous_strides(index.sizes());
  Shape astr(a.strides());
  if (a.dim() > 0) astr[dim] = 0;  // the gathered dim's offset comes from the index value
  int64_t dstride = a.dim() == 0 ? 0 : a.stride(dim);
  Tensor index_c = index.contiguous();
  dispatch(a.dtype(), [&]<class T>() {
    const T* pa = static_cast<const T*>(a.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    const int64_t* pi = static_cast<const int64_t*>(index_c.raw_data());
    walk(index.sizes(), ostr, astr, [&](int64_t e, int64_t o, int64_t ia) {
      int64_t i = pi[e];
      CTORCH_CHECK(i >= -n && i < n, "gather: index {} is out of bounds for dimension {} with size {}", i, dim, n);
      if (i < 0) i += n;
      po[o] = pa[ia + i * dstride];
    });
  });
  Shape in_shape(a.sizes());
  return record("GatherBackward0", out, {a}, {index}, [in_shape, dim](const Saved& s, const Tensor& g) {
    return grads(scatter_add(zeros(in_shape, g.dtype()), dim, s[0], g));
  });
}

// out = a; out[index[i][j]][j] += source[i][j] (dim 0)
Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source) {
  check_index(index, "scatter_add");
  dim = wrap_dim(dim, a.dim(), "scatter_add");
  CTORCH_CHECK(index.dim() == a.dim() && source.dim() == a.dim(),
               "scatter_add: index {} and source {} must have as many dims as self {}", shape_str(index.sizes()),
               shape_str(source.sizes()), shape_str(a.sizes()));
  for (int64_t d = 0; d < index.dim(); ++d)
    CTORCH_CHECK(index.size(d) <= source.size(d) && (d == dim || index.size(d) <= a.size(d)),
                 "scatter_add: expected index {} to be no larger than self {} apart from dimension {} and to be no "
                 "larger than source {}", shape_str(index.sizes()), shape_str(a.sizes()), dim,
                 shape_str(source.sizes()));
  Tensor out = a.detach().clone();
  Tensor src = source.dtype() == a.dtype() ? source.detach() : source.detach().to(a.dtype());
  int64_t n = a.dim() == 0 ? 1 : a.size(dim);
  Shape ostr(out.strides());
  if (a.dim() > 0) ostr[dim] = 0;
  int64_t dstride = a.dim() == 0 ? 0 : out.stride(dim);
  Tensor index_c = index.contiguous();
  dispatch(a.dtype(), [&]<class T>() {
    T* po = static_cast<T*>(out.raw_data());
    const T* ps = static_cast<const T*>(src.raw_data());
    const int64_t* pi = static_cast<const int64_t*>(index_c.raw_data());
    walk(index.sizes(), ostr, src.strides(), [&](int64_t e, int64_t o, int64_t is) {
      int64_t i = pi[e];
      CTORCH_CHECK(i >= -n && i < n, "scatter_add: index {} is out of bounds for dimension {} with size {}", i, dim, n);
      if (i < 0) i += n;
      po[o + i * dstride] += ps[is];
    });
  });
  return record("ScatterAddBackward0", out, {a, source}, {index}, [dim](const Saved& s, const Tensor& g) {
    return grads(g, gather(g, dim, s[0]));
  });
}

Tensor Tensor::index_select(int64_t dim, const Tensor& index) const { return ctorch::index_select(*this, dim, index); }
Tensor Tensor::gather(int64_t dim, const Tensor& index) const { return ctorch::gather(*this, dim, index); }

}  // namespace ctorch
