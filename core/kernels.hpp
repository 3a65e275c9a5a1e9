#pragma once
// Loops over strided, broadcast tensors. These know nothing of autograd: the ops in ops/ call them
// for the forward (and backward) arithmetic, passing the math as a small lambda, e.g.
//   kernels::binary(a, b, out_dtype, "mul", [](auto x, auto y) { return x * y; })
#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <type_traits>

#include "tensor.hpp"
#include "threads.hpp"

namespace ctorch::kernels {

// Strides of `t` seen as a tensor of shape `out` (size-1 and missing dims get stride 0).
inline Shape broadcast_strides(const Tensor& t, IntArrayRef out) {
  int64_t n = static_cast<int64_t>(out.size()), k = t.dim();
  Shape st(n, 0);
  for (int64_t i = 0; i < k; ++i) {
    int64_t o = n - k + i;
    st[o] = t.size(i) == 1 && out[o] != 1 ? 0 : t.stride(i);
  }
  return st;
}

// Calls body(p0, p1, ..., count, s0, s1, ...) for each innermost row: pointers to the row's first
// elements, its length and per-operand strides. Every element of `shape` is visited once.
template <size_t N, class Body>
void for_each_row(IntArrayRef shape, const std::array<Shape, N>& strides, std::array<char*, N> base,
                  const std::array<size_t, N>& elem_size, Body&& body) {
  int64_t nd = static_cast<int64_t>(shape.size());
  if (numel_of(shape) == 0) return;
  if (nd == 0) {
    std::array<int64_t, N> st{};
    body(base, int64_t{1}, st);
    return;
  }
  int64_t inner = shape[nd - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][nd - 1];
  int64_t outer = numel_of(shape) / inner;
  Shape counter(nd, 0);
  std::array<char*, N> p = base;
  for (int64_t o = 0; o < outer; ++o) {
    body(p, inner, inner_stride);
    for (int64_t d = nd - 2; d >= 0; --d) {  // odometer over the outer dims
      if (++counter[d] < shape[d]) {
        for (size_t k = 0; k < N; ++k) p[k] += strides[k][d] * static_cast<int64_t>(elem_size[k]);
        break;
      }
      for (size_t k = 0; k < N; ++k) p[k] -= strides[k][d] * (shape[d] - 1) * static_cast<int64_t>(elem_size[k]);
      counter[d] = 0;
    }
  }
}

// out[i] = f(a[i]) with out a new contiguous tensor of dtype Out.
template <class Out, class In, class F>
void unary_loop(const Tensor& a, const Tensor& out, F&& f) {
  const In* pa = static_cast<const In*>(a.raw_data());
  Out* po = static_cast<Out*>(out.raw_data());
  if (a.is_contiguous()) {
    int64_t n = a.numel();
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(pa[i]));
    return;
  }
  std::array<Shape, 2> st{contiguous_strides(a.sizes()), Shape(a.strides())};
  for_each_row<2>(a.sizes(), st, {reinterpret_cast<char*>(po), reinterpret_cast<char*>(const_cast<In*>(pa))},
                  {sizeof(Out), sizeof(In)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                    Out* o = reinterpret_cast<Out*>(p[0]);
                    const In* x = reinterpret_cast<const In*>(p[1]);
                    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = static_cast<Out>(f(x[i * s[1]]));
                  });
}

// out = f(a, b) broadcast, a and b already of dtype In, out new contiguous of dtype Out.
template <class Out, class In, class F>
void binary_loop(const Tensor& a, const Tensor& b, const Tensor& out, F&& f) {
  const In* pa = static_cast<const In*>(a.raw_data());
  const In* pb = static_cast<const In*>(b.raw_data());
  Out* po = static_cast<Out*>(out.raw_data());
  int64_t n = out.numel();
  bool ca = a.is_contiguous() && a.numel() == n, cb = b.is_contiguous() && b.numel() == n;
  if (ca && cb) {
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(pa[i], pb[i]));
    return;
  }
  if (ca && b.numel() == 1) {
    const In y = *pb;
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(pa[i], y));
    return;
  }
  std::array<Shape, 3> st{contiguous_strides(out.sizes()), broadcast_strides(a, out.sizes()),
                          broadcast_strides(b, out.sizes())};
  for_each_row<3>(out.sizes(), st,
                  {reinterpret_cast<char*>(po), reinterpret_cast<char*>(const_cast<In*>(pa)),
                   reinterpret_cast<char*>(const_cast<In*>(pb))},
                  {sizeof(Out), sizeof(In), sizeof(In)},
                  [&](std::array<char*, 3> p, int64_t m, std::array<int64_t, 3> s) {
                    Out* o = reinterpret_cast<Out*>(p[0]);
                    const In* x = reinterpret_cast<const In*>(p[1]);
                    const In* y = reinterpret_cast<const In*>(p[2]);
                    for (int64_t i = 0; i < m; ++i) o[i * s[0]] = static_cast<Out>(f(x[i * s[1]], y[i * s[2]]));
                  });
}

// ---- the entry points the ops use ----

// y = f(x) elementwise; the result has a's dtype (floating ops reject integer input by name).
template <class F>
Tensor unary(const Tensor& a, std::string_view op, F&& f) {
  Tensor out = empty(a.sizes(), a.dtype());
  dispatch(a.dtype(), [&]<class T>() { unary_loop<T, T>(a, out, f); });
  (void)op;
  return out;
}
template <class F>
Tensor unary_float(const Tensor& a, std::string_view op, F&& f) {
  Tensor out = empty(a.sizes(), a.dtype());
  dispatch_floating(a.dtype(), op, [&]<class T>() { unary_loop<T, T>(a, out, f); });
  return out;
}

// z = f(x, y) with broadcasting, computed in `compute` dtype; the result has dtype `result`
// (the same, or bool for comparisons).
template <class F>
Tensor binary(const Tensor& a, const Tensor& b, ScalarType compute, ScalarType result, std::string_view op, F&& f) {
  Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor x = a.dtype() == compute ? a : a.detach().to(compute);
  Tensor y = b.dtype() == compute ? b : b.detach().to(compute);
  Tensor out = empty(shape, result);
  dispatch(compute, [&]<class T>() {
    if (result == compute) binary_loop<T, T>(x, y, out, f);
    else binary_loop<bool, T>(x, y, out, f);
  });
  return out;
}

// dst[...] = src[...] with broadcasting of src to dst's shape and dtype conversion.
void copy(const Tensor& dst, const Tensor& src);

// dst = f(dst, src) in place, src broadcast to dst's shape and converted to dst's dtype.
template <class F>
void inplace(const Tensor& dst, const Tensor& src, std::string_view op, F&& f) {
  Shape shape = broadcast_shapes(dst.sizes(), src.sizes(), op);
  CTORCH_CHECK(same_shape(shape, dst.sizes()), "{}: the in-place result of shape {} cannot broadcast to shape {}", op,
               shape_str(dst.sizes()), shape_str(shape));
  Tensor s = src.dtype() == dst.dtype() ? src : src.detach().to(dst.dtype());
  dispatch(dst.dtype(), [&]<class T>() {
    std::array<Shape, 2> st{Shape(dst.strides()), broadcast_strides(s, dst.sizes())};
    for_each_row<2>(dst.sizes(), st, {static_cast<char*>(dst.raw_data()), static_cast<char*>(s.raw_data())},
                    {sizeof(T), sizeof(T)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> k) {
                      T* o = reinterpret_cast<T*>(p[0]);
                      const T* x = reinterpret_cast<const T*>(p[1]);
                      for (int64_t i = 0; i < n; ++i) o[i * k[0]] = static_cast<T>(f(o[i * k[0]], x[i * k[1]]));
                    });
  });
}

// ---- reductions: the tensor seen as [outer, reduced] rows ----

// Moves `dims` last and makes the result contiguous, so that each output element reduces one
// contiguous row. Returns the rows tensor, the output shape and the row length.
struct ReduceRows {
  Tensor rows;    // contiguous, shape [outer..., reduced...]
  Shape out_shape;
  int64_t row = 1;  // elements reduced per output
};
ReduceRows reduce_rows(const Tensor& a, IntArrayRef dims, bool keepdim, std::string_view op);

// ---- matrix products ----
// A strided 2-D matrix in memory: element (i, j) is at data + i*rs + j*cs (in elements).
struct MatRef {
  const void* data;
  int64_t rows, cols, rs, cs;
  MatRef t() const { return MatRef{data, cols, rows, cs, rs}; }  // the transpose, no copy
};
MatRef matrix_of(const Tensor& t);  // a 2-D tensor as it is (any strides)
MatRef rows_of(const Tensor& t);    // a contiguous tensor as [numel / last, last]

// Products of at least this many multiply-adds are shared between ctorch's threads.
inline constexpr int64_t kParallelMacs = int64_t{1} << 21;

// How many consecutive ranges to cut n items of `work_each` into: one per thread once the total
// reaches `min_work` (below it, handing work to another thread costs more than it saves), else 1.
inline int parallel_parts(int64_t n, int64_t work_each, int64_t min_work = kParallelMacs) {
  if (n * work_each < min_work) return 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), n)));
}

// f(part, lo, hi) over the items [0, n) cut into `parts` consecutive ranges, run at once; a part
// index lets f keep per-part partial sums. A product inside f runs on its caller's thread only.
template <class F> void for_ranges(int64_t n, int parts, F&& f) {
  if (parts <= 1) return f(0, int64_t{0}, n);
  int64_t step = (n + parts - 1) / parts;
  parallel_tasks(parts, [&](int p) {
    int64_t lo = p * step, hi = std::min(n, lo + step);
    if (lo < hi) f(p, lo, hi);
  });
}

// f(lo, hi) over a batch of n products of `macs_each` multiply-adds each (attention's heads).
template <class F> void for_batches(int64_t n, int64_t macs_each, F&& f) {
  for_ranges(n, parallel_parts(n, macs_each), [&](int, int64_t lo, int64_t hi) { f(lo, hi); });
}

// c = a @ b + beta * c, c row-major with leading dimension ldc. Float types go through
// cblas_sgemm / cblas_dgemm (transposed operands as flags, other strides packed first); products
// of at most 512 multiply-adds run in a plain loop, cheaper than a BLAS call's set-up.
template <class T> void gemm(const MatRef& a, const MatRef& b, T* c, int64_t ldc, double beta = 0);
void gemm(const MatRef& a, const MatRef& b, const Tensor& out, double beta = 0);  // out contiguous

// out[b] = a[b] @ b[b] + beta * out[b] for 3-D a [B, M, K] and b [B, K, N] (B may be 1 on one
// side: broadcast), out contiguous. beta = 1 accumulates into out (a bias already written there).
void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out, double beta = 0);

}  // namespace ctorch::kernels
