#include "reduction.hpp"

#include <cmath>
#include <limits>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"
#include "elementwise.hpp"
#include "indexing.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

// Float sums accumulate in double: one rounding per output, however long the row.
template <class T> using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// The gradient of a reduction, reshaped so that it broadcasts against the input again.
Tensor unreduce(const Tensor& g, IntArrayRef in_shape, IntArrayRef dims, bool keepdim) {
  if (keepdim || dims.empty()) return dims.empty() ? g.reshape(Shape(static_cast<int64_t>(in_shape.size()), 1)) : g;
  Shape wrapped;
  for (int64_t d : dims) wrapped.push_back(wrap_dim(d, in_shape.size(), "sum"));
  std::sort(wrapped.begin(), wrapped.end());
  Tensor r = g;
  for (int64_t d : wrapped) r = r.unsqueeze(d);
  return r;
}

Shape dims_copy(IntArrayRef dims) { return Shape(dims); }

}  // namespace

// d(sum x)/dx = 1: the gradient is broadcast back over the reduced dims
// How many leading dims `dims` names when they are exactly 0..k-1 (else 0): summing those of a
// contiguous tensor adds whole rows together, with no transposed copy (the bias gradient).
int64_t leading_dims(const Tensor& a, IntArrayRef dims) {
  if (dims.empty() || !a.is_contiguous()) return 0;
  std::array<bool, kMaxDims> hit{};
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, a.dim(), "sum");
    if (hit[w]) return 0;  // a repeated dim: the general path reports it
    hit[w] = true;
  }
  int64_t k = 0;
  while (k < a.dim() && hit[k]) ++k;
  for (int64_t i = k; i < a.dim(); ++i)
    if (hit[i]) return 0;
  return k < a.dim() ? k : 0;
}

Tensor sum(const Tensor& a, IntArrayRef dims, bool keepdim) {
  ScalarType t = a.dtype() == kBool ? kInt64 : a.dtype();
  Tensor out;
  if (int64_t k = leading_dims(a, dims); k > 0) {
    Shape out_shape;
    for (int64_t i = 0; i < a.dim(); ++i)
      if (i >= k) out_shape.push_back(a.size(i));
      else if (keepdim) out_shape.push_back(1);
    out = empty(out_shape, t);
    int64_t inner = out.numel(), outer = inner ? a.numel() / inner : 0;
    dispatch(a.dtype(), [&]<class T>() {
      using R = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
      std::vector<acc_t<R>> acc(inner, 0);
      const T* p = static_cast<const T*>(a.raw_data());
      for (int64_t i = 0; i < outer; ++i, p += inner)
        for (int64_t j = 0; j < inner; ++j) acc[j] += p[j];
      R* o = static_cast<R*>(out.raw_data());
      for (int64_t j = 0; j < inner; ++j) o[j] = static_cast<R>(acc[j]);
    });
  } else {
    auto r = kernels::reduce_rows(a, dims, keepdim, "sum");
    out = empty(r.out_shape, t);
    dispatch(a.dtype(), [&]<class T>() {
      using R = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
      const T* p = static_cast<const T*>(r.rows.raw_data());
      R* o = static_cast<R*>(out.raw_data());
      for (int64_t i = 0, n = out.numel(); i < n; ++i, p += r.row) {
        acc_t<R> s = 0;
        for (int64_t j = 0; j < r.row; ++j) s += p[j];
        o[i] = static_cast<R>(s);
      }
    });
  }
  Shape in_shape(a.sizes()), d = dims_copy(dims);
  return record(dims.empty() ? "SumBackward0" : "SumBackward1", out, {a}, {}, [in_shape, d, keepdim](const Saved&, const Tensor& g) {
    return grads(unreduce(g, in_shape, d, keepdim).expand(in_shape));
  });
}

Tensor mean(const Tensor& a, IntArrayRef dims, bool keepdim) {
  CTORCH_CHECK(a.is_floating_point(), "mean: could not infer output dtype. Input dtype must be floating point, got {}",
               dtype_name(a.dtype()));
  int64_t count = a.numel() / std::max<int64_t>(1, numel_of(kernels::reduce_rows(a.detach(), dims, true, "mean").out_shape));
  return sum(a, dims, keepdim) / static_cast<double>(count);
}

// var = sum((x - mean)^2) / (N - correction), written with differentiable ops so its backward
// is derived, not hand-written.
Tensor var(const Tensor& a, IntArrayRef dims, int64_t correction, bool keepdim) {
  CTORCH_CHECK(a.is_floating_point(), "var: expected a floating point tensor, got {}", dtype_name(a.dtype()));
  Tensor m = mean(a, dims, true);
  Tensor d = a - m;
  int64_t n = a.numel() / std::max<int64_t>(1, m.numel());
  return sum(d * d, dims, keepdim) / static_cast<double>(std::max<int64_t>(0, n - correction));
}

Tensor std(const Tensor& a, IntArrayRef dims, int64_t correction, bool keepdim) {
  return sqrt(var(a, dims, correction, keepdim));
}

namespace {
// values and indices of the max (or min) of each row; NaN wins, like PyTorch; first index on ties.
std::tuple<Tensor, Tensor> extreme(const Tensor& a, std::optional<int64_t> dim, bool keepdim, bool is_max,
                                   const char* op) {
  CTORCH_CHECK(a.numel() > 0 || (dim && a.dim() > 0 && a.size(*dim) > 0),
               "{}: expected reduction dim to be specified for input.numel() == 0 / cannot reduce over an empty "
               "dimension (shape {})", op, shape_str(a.sizes()));
  Shape dims;
  if (dim) dims.push_back(*dim);
  auto r = kernels::reduce_rows(a, dims, keepdim, op);
  CTORCH_CHECK(r.row > 0, "{}: cannot reduce over a zero-size dimension (shape {})", op, shape_str(a.sizes()));
  Tensor values = empty(r.out_shape, a.dtype());
  Tensor indices = empty(r.out_shape, kInt64);
  dispatch(a.dtype(), [&]<class T>() {
    const T* p = static_cast<const T*>(r.rows.raw_data());
    T* v = static_cast<T*>(values.raw_data());
    int64_t* ix = static_cast<int64_t*>(indices.raw_data());
    for (int64_t i = 0, n = values.numel(); i < n; ++i, p += r.row) {
      int64_t best = 0;
      for (int64_t j = 1; j < r.row; ++j) {
        if constexpr (std::is_floating_point_v<T>)
          if (std::isnan(p[best])) break;
        bool better = is_max ? p[j] > p[best] : p[j] < p[best];
        if constexpr (std::is_floating_point_v<T>) better = better || std::isnan(p[j]);
        if (better) best = j;
      }
      v[i] = p[best];
      ix[i] = best;
    }
  });
  return {values, indices};
}
}  // namespace

// max over a dim: the gradient goes to the element that was picked
std::tuple<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) {
  auto [values, indices] = extreme(a, dim, keepdim, true, "max");
  Shape in_shape(a.sizes());
  int64_t d = wrap_dim(dim, a.dim(), "max");
  values = record("MaxBackward0", values, {a}, {indices}, [in_shape, d, keepdim](const Saved& s, const Tensor& g) {
    Tensor idx = keepdim || in_shape.empty() ? s[0] : s[0].unsqueeze(d);
    Tensor gk = keepdim || in_shape.empty() ? g : g.unsqueeze(d);
    return grads(scatter_add(zeros(in_shape, g.dtype()), d, idx, gk));
  });
  return {values, indices};
}

std::tuple<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) {
  auto [values, indices] = extreme(a, dim, keepdim, false, "min");
  Shape in_shape(a.sizes());
  int64_t d = wrap_dim(dim, a.dim(), "min");
  values = record("MinBackward0", values, {a}, {indices}, [in_shape, d, keepdim](const Saved& s, const Tensor& g) {
    Tensor idx = keepdim || in_shape.empty() ? s[0] : s[0].unsqueeze(d);
    Tensor gk = keepdim || in_shape.empty() ? g : g.unsqueeze(d);
    return grads(scatter_add(zeros(in_shape, g.dtype()), d, idx, gk));
  });
  return {values, indices};
}

// max of all elements: ties share the gradient evenly, as in PyTorch
Tensor max(const Tensor& a) {
  Tensor out = std::get<0>(extreme(a.detach().reshape({-1}), 0, false, true, "max"));
  return record("MaxBackward1", out, {a}, {a, out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor hit = (s[0] == s[1]).to(g.dtype());
    return grads(hit * (g / hit.sum()));
  });
}

Tensor min(const Tensor& a) {
  Tensor out = std::get<0>(extreme(a.detach().reshape({-1}), 0, false, false, "min"));
  return record("MinBackward1", out, {a}, {a, out.detach()}, [](const Saved& s, const Tensor& g) {
    Tensor hit = (s[0] == s[1]).to(g.dtype());
    return grads(hit * (g / hit.sum()));
  });
}

Tensor argmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) return std::get<1>(extreme(a.detach().reshape({-1}), 0, false, true, "argmax"));
  return std::get<1>(extreme(a.detach(), dim, keepdim, true, "argmax"));
}
Tensor argmin(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) return std::get<1>(extreme(a.detach().reshape({-1}), 0, false, false, "argmin"));
  return std::get<1>(extreme(a.detach(), dim, keepdim, false, "argmin"));
}

// ---- methods ----
Tensor Tensor::sum() const { return ctorch::sum(*this); }
Tensor Tensor::sum(IntArrayRef dims, bool keepdim) const { return ctorch::sum(*this, dims, keepdim); }
Tensor Tensor::sum(int64_t dim, bool keepdim) const { return ctorch::sum(*this, Shape{dim}, keepdim); }
Tensor Tensor::mean() const { return ctorch::mean(*this); }
Tensor Tensor::mean(IntArrayRef dims, bool keepdim) const { return ctorch::mean(*this, dims, keepdim); }
Tensor Tensor::mean(int64_t dim, bool keepdim) const { return ctorch::mean(*this, Shape{dim}, keepdim); }
Tensor Tensor::var() const { return ctorch::var(*this); }
Tensor Tensor::var(IntArrayRef dims, int64_t correction, bool keepdim) const {
  return ctorch::var(*this, dims, correction, keepdim);
}
Tensor Tensor::var(int64_t dim, int64_t correction, bool keepdim) const {
  return ctorch::var(*this, Shape{dim}, correction, keepdim);
}
Tensor Tensor::std() const { return ctorch::std(*this); }
Tensor Tensor::std(IntArrayRef dims, int64_t correction, bool keepdim) const {
  return ctorch::std(*this, dims, correction, keepdim);
}
Tensor Tensor::std(int64_t dim, int64_t correction, bool keepdim) const {
  return ctorch::std(*this, Shape{dim}, correction, keepdim);
}
Tensor Tensor::max() const { return ctorch::max(*this); }
std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const { return ctorch::max(*this, dim, keepdim); }
Tensor Tensor::min() const { return ctorch::min(*this); }
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const { return ctorch::min(*this, dim, keepdim); }
Tensor Tensor::argmax() const { return ctorch::argmax(*this); }
Tensor Tensor::argmax(int64_t dim, bool keepdim) const { return ctorch::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin() const { return ctorch::argmin(*this); }
Tensor Tensor::argmin(int64_t dim, bool keepdim) const { return ctorch::argmin(*this, dim, keepdim); }

}  // namespace ctorch
