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

// How many dims `dims` names when they are exactly 0..k-1, each once (empty dims: all of them;
// anything else, or a repeated dim, which reduce_rows reports: 0). k == a.dim() reduces the whole
// tensor; 0 < k < a.dim() on a contiguous tensor adds whole rows together, with no transposed copy
// (the bias gradient).
int64_t leading_dims(const Tensor& a, IntArrayRef dims, const char* op) {
  if (dims.empty()) return a.dim();
  std::array<bool, kMaxDims> hit{};
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, a.dim(), op);
    if (hit[w]) return 0;
    hit[w] = true;
  }
  int64_t k = 0;
  while (k < a.dim() && hit[k]) ++k;
  for (int64_t i = k; i < a.dim(); ++i)
    if (hit[i]) return 0;
  return k;
}

// A sum rounded to the result type, then divided there (a mean), as PyTorch's mean = sum / count.
template <class R, class A>
R finish(A sum, double divisor) {
  if constexpr (std::is_floating_point_v<R>) return divisor == 1 ? static_cast<R>(sum) : static_cast<R>(sum) / static_cast<R>(divisor);
  else return static_cast<R>(sum);
}

// (sum of each contiguous row of p) / divisor: n rows of `row` elements. Eight partial sums keep the
// loop from waiting on one chain of additions; the order is fixed, so results are reproducible.
template <class T, class R>
void sum_rows(const T* p, int64_t n, int64_t row, R* out, double divisor) {
  for (int64_t i = 0; i < n; ++i, p += row) {
    acc_t<R> part[8] = {};
    int64_t j = 0;
    for (; j + 8 <= row; j += 8)
      for (int k = 0; k < 8; ++k) part[k] += p[j + k];
    acc_t<R> s = 0;
    for (; j < row; ++j) s += p[j];
    for (int k = 0; k < 8; ++k) s += part[k];
    out[i] = finish<R>(s, divisor);
  }
}

// (sum over the rows of a contiguous [rows, cols] block) / divisor: the bias gradient. Columns go in
// blocks of 256; floats are first added in float over runs of up to 64 rows, 16 columns at a time
// in registers (vector adds, like PyTorch's kernel), and those partial sums in double, so long
// columns keep their precision. Leftover columns (fewer than 16) add in double throughout.
template <class T, class R>
void sum_columns(const T* p, int64_t rows, int64_t cols, R* out, double divisor) {
  if (cols == 1) return sum_rows(p, 1, rows, out, divisor);
  constexpr int64_t kBlock = 256, kRun = 64;
  acc_t<R> acc[kBlock];
  for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
    int64_t w = std::min(kBlock, cols - c0);
    std::fill(acc, acc + w, acc_t<R>(0));
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t r0 = 0; r0 < rows; r0 += kRun) {
        int64_t r1 = std::min(rows, r0 + kRun), j = 0;
        for (; j + 16 <= w; j += 16) {  // 16 running sums that stay in registers
          const T* q = p + r0 * cols + c0 + j;
          T s[16];
          for (int k = 0; k < 16; ++k) s[k] = q[k];
          for (int64_t r = r0 + 1; r < r1; ++r) {
            q += cols;
            for (int k = 0; k < 16; ++k) s[k] += q[k];
          }
          for (int k = 0; k < 16; ++k) acc[j + k] += s[k];
        }
        for (; j < w; ++j) {
          const T* q = p + r0 * cols + c0 + j;
          acc_t<R> s = *q;
          for (int64_t r = r0 + 1; r < r1; ++r) s += *(q += cols);
          acc[j] += s;
        }
      }
    } else {
      const T* q = p + c0;
      for (int64_t r = 0; r < rows; ++r, q += cols)
        for (int64_t j = 0; j < w; ++j) acc[j] += q[j];
    }
    for (int64_t j = 0; j < w; ++j) out[c0 + j] = finish<R>(acc[j], divisor);
  }
}

// The values of sum (divisor 1) and mean (divisor: the count) over `dims`; no autograd.
Tensor sum_kernel(const Tensor& a, IntArrayRef dims, bool keepdim, double divisor, const char* op) {
  ScalarType t = a.dtype() == kBool ? kInt64 : a.dtype();
  Tensor out;
  int64_t k = a.is_contiguous() ? leading_dims(a, dims, op) : 0;
  if (a.is_contiguous() && k == a.dim()) {  // the whole tensor is one row
    out = empty(keepdim ? Shape(a.dim(), 1) : Shape(), t);
    dispatch(a.dtype(), [&]<class T>() {
      using R = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
      sum_rows<T, R>(static_cast<const T*>(a.raw_data()), 1, a.numel(), static_cast<R*>(out.raw_data()), divisor);
    });
  } else if (k > 0) {  // whole rows added together
    Shape out_shape;
    for (int64_t i = 0; i < a.dim(); ++i)
      if (i >= k) out_shape.push_back(a.size(i));
      else if (keepdim) out_shape.push_back(1);
    out = empty(out_shape, t);
    int64_t cols = out.numel(), rows = cols ? a.numel() / cols : 0;
    dispatch(a.dtype(), [&]<class T>() {
      using R = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
      sum_columns<T, R>(static_cast<const T*>(a.raw_data()), rows, cols, static_cast<R*>(out.raw_data()), divisor);
    });
  } else {
    auto r = kernels::reduce_rows(a, dims, keepdim, op);
    out = empty(r.out_shape, t);
    dispatch(a.dtype(), [&]<class T>() {
      using R = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
      sum_rows<T, R>(static_cast<const T*>(r.rows.raw_data()), out.numel(), r.row, static_cast<R*>(out.raw_data()), divisor);
    });
  }
  return out;
}

// How many elements each output of a reduction over `dims` adds up.
int64_t reduced_count(const Tensor& a, IntArrayRef dims) {
  if (dims.empty()) return a.numel();
  int64_t n = 1;
  for (int64_t d : dims) n *= a.size(wrap_dim(d, a.dim(), "mean"));
  return n;
}

}  // namespace

// d(sum x)/dx = 1: the gradient is broadcast back over the reduced dims
Tensor sum(const Tensor& a, IntArrayRef dims, bool keepdim) {
  Tensor out = sum_kernel(a, dims, keepdim, 1.0, "sum");
  Shape in_shape(a.sizes()), d = dims_copy(dims);
  return record(dims.empty() ? "SumBackward0" : "SumBackward1", out, {a}, {}, [in_shape, d, keepdim](const Saved&, const Tensor& g) {
    return grads(unreduce(g, in_shape, d, keepdim).expand(in_shape));
  });
}

// d(mean x)/dx = 1/count (divided, as torch does), broadcast back over the reduced dims
Tensor mean(const Tensor& a, IntArrayRef dims, bool keepdim) {
  CTORCH_CHECK(a.is_floating_point(), "mean: could not infer output dtype. Input dtype must be floating point, got {}",
               dtype_name(a.dtype()));
  double count = static_cast<double>(reduced_count(a, dims));  // 0: the mean of nothing is 0/0 = nan
  Tensor out = sum_kernel(a, dims, keepdim, count, "mean");
  Shape in_shape(a.sizes()), d = dims_copy(dims);
  return record(dims.empty() ? "MeanBackward0" : "MeanBackward1", out, {a}, {},
                [in_shape, d, keepdim, count](const Saved&, const Tensor& g) {
                  return grads(unreduce(g / count, in_shape, d, keepdim).expand(in_shape));
                });
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
