// Matrix products through OpenBLAS: the hot path of every model. A transposed view reaches BLAS
// as a transpose flag with its leading dimension, never as a copy.
#include <cblas.h>

#include "kernels.hpp"
#include "threads.hpp"

namespace ctorch::kernels {
namespace {

// How BLAS should read a [rows, cols] matrix with strides (rs, cs): row-major as is, or as the
// transpose of a row-major matrix. Anything else (e.g. a stride-0 expanded view) is copied first.
struct MatrixArg {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};
std::optional<MatrixArg> blas_layout(const MatRef& m) {
  if (m.cs == 1 && m.rs >= std::max<int64_t>(1, m.cols)) return MatrixArg{CblasNoTrans, m.rs};
  if (m.rs == 1 && m.cs >= std::max<int64_t>(1, m.rows)) return MatrixArg{CblasTrans, m.cs};
  if (m.rows == 1 && m.cs == 1) return MatrixArg{CblasNoTrans, std::max<int64_t>(1, m.cols)};
  if (m.cols == 1 && m.rs == 1) return MatrixArg{CblasTrans, std::max<int64_t>(1, m.rows)};
  return std::nullopt;
}

// Plain loops for integer matrices and for products too small for a BLAS call to pay off: one
// dot product per output, summed in k order and then added to beta * c, as BLAS does.
template <class T>
void naive_gemm(int64_t M, int64_t N, int64_t K, const MatRef& a, const MatRef& b, T* c, int64_t ldc, double beta) {
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  const T tb = static_cast<T>(beta);
  if (K == 1 && N == 1) {  // a column times a number (Linear(1, 1), the regression tutorials' model)
    T b0 = pb[0];
    for (int64_t i = 0; i < M; ++i) c[i * ldc] = beta == 0 ? pa[i * a.rs] * b0 : static_cast<T>(pa[i * a.rs] * b0 + tb * c[i * ldc]);
    return;
  }
  if (K == 1) {  // an outer product
    for (int64_t i = 0; i < M; ++i) {
      T ai = pa[i * a.rs];
      T* crow = c + i * ldc;
      for (int64_t j = 0; j < N; ++j) crow[j] = beta == 0 ? ai * pb[j * b.cs] : static_cast<T>(ai * pb[j * b.cs] + tb * crow[j]);
    }
    return;
  }
  for (int64_t i = 0; i < M; ++i) {
    const T* ai = pa + i * a.rs;
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      const T* x = ai;
      const T* y = pb + j * b.cs;
      T s = 0;
      if (a.cs == 1 && b.rs == 1) for (int64_t k = 0; k < K; ++k) s += x[k] * y[k];
      else for (int64_t k = 0; k < K; ++k, x += a.cs, y += b.rs) s += *x * *y;
      crow[j] = beta == 0 ? s : static_cast<T>(s + tb * crow[j]);
    }
  }
}

// A strided matrix BLAS cannot read, copied into a row-major buffer.
template <class T>
struct Packed {
  MatRef m;
  std::unique_ptr<T[]> buf;
  explicit Packed(const MatRef& src) : m(src) {
    if (blas_layout(src)) return;
    buf.reset(new T[std::max<int64_t>(1, src.rows * src.cols)]);
    const T* p = static_cast<const T*>(src.data);
    for (int64_t i = 0; i < src.rows; ++i)
      for (int64_t j = 0; j < src.cols; ++j) buf[i * src.cols + j] = p[i * src.rs + j * src.cs];
    m = MatRef{buf.get(), src.rows, src.cols, src.cols, 1};
  }
};

}  // namespace

MatRef matrix_of(const Tensor& t) {
  CTORCH_CHECK(t.dim() == 2, "matrix_of: expected a 2-D tensor, got shape {}", shape_str(t.sizes()));
  const TensorImpl* i = t.impl();
  return MatRef{t.raw_data(), i->sizes[0], i->sizes[1], i->strides[0], i->strides[1]};
}

MatRef rows_of(const Tensor& t) {
  CTORCH_CHECK(t.dim() >= 1 && t.is_contiguous(), "rows_of: expected a contiguous tensor, got shape {}",
               shape_str(t.sizes()));
  int64_t cols = t.size(-1), rows = cols ? t.numel() / cols : 0;
  if (t.dim() == 1) rows = 1;
  return MatRef{t.raw_data(), rows, cols, cols, 1};
}

namespace {

// One BLAS call on the calling thread.
template <class T>
void blas_gemm(const MatRef& a, const MatRef& b, T* c, int64_t ldc, double beta) {
  int64_t M = a.rows, K = a.cols, N = b.cols;
  MatrixArg la = *blas_layout(a), lb = *blas_layout(b);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, la.trans, lb.trans, M, N, K, 1.0f, static_cast<const float*>(a.data), la.ld,
                static_cast<const float*>(b.data), lb.ld, static_cast<float>(beta), c, std::max<int64_t>(1, ldc));
  else
    cblas_dgemm(CblasRowMajor, la.trans, lb.trans, M, N, K, 1.0, static_cast<const double*>(a.data), la.ld,
                static_cast<const double*>(b.data), lb.ld, beta, c, std::max<int64_t>(1, ldc));
}

// A product big enough to share: C is cut into one block of columns (or of rows, when it is
// taller than wide) per thread, each a single-threaded BLAS call on its own part of C.

template <class T>
void parallel_gemm(const MatRef& a, const MatRef& b, T* c, int64_t ldc, double beta) {
  int64_t M = a.rows, K = a.cols, N = b.cols;
  int threads = get_num_threads();
  bool by_cols = N >= M;
  int64_t extent = by_cols ? N : M;
  int parts = static_cast<int>(std::min<int64_t>(threads, extent / 32));
  if (parts < 2 || M * N * K < kParallelMacs) return blas_gemm(a, b, c, ldc, beta);
  int64_t step = (extent + parts - 1) / parts;
  step = (step + 15) / 16 * 16;  // whole vector blocks for each part
  parallel_tasks(parts, [&](int p) {
    int64_t lo = p * step, hi = std::min(extent, lo + step);
    if (lo >= hi) return;
    if (by_cols) {
      MatRef bp{static_cast<const T*>(b.data) + lo * b.cs, K, hi - lo, b.rs, b.cs};
      blas_gemm(a, bp, c + lo, ldc, beta);
    } else {
      MatRef ap{static_cast<const T*>(a.data) + lo * a.rs, hi - lo, K, a.rs, a.cs};
      blas_gemm(ap, b, c + lo * ldc, ldc, beta);
    }
  });
}

}  // namespace

template <class T>
void gemm(const MatRef& a_in, const MatRef& b_in, T* c, int64_t ldc, double beta) {
  int64_t M = a_in.rows, K = a_in.cols, N = b_in.cols;
  CTORCH_CHECK(b_in.rows == K, "gemm: inner sizes differ ({}x{} times {}x{})", M, K, b_in.rows, N);
  if (M == 0 || N == 0) return;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (M * N * K > 512 && K > 0) {
      Packed<T> a(a_in), b(b_in);
      parallel_gemm(a.m, b.m, c, ldc, beta);
      return;
    }
  }
  naive_gemm<T>(M, N, K, a_in, b_in, c, ldc, beta);
}
template void gemm<float>(const MatRef&, const MatRef&, float*, int64_t, double);
template void gemm<double>(const MatRef&, const MatRef&, double*, int64_t, double);
template void gemm<int64_t>(const MatRef&, const MatRef&, int64_t*, int64_t, double);

void gemm(const MatRef& a, const MatRef& b, const Tensor& out, double beta) {
  CTORCH_CHECK(out.is_contiguous() && out.numel() == a.rows * b.cols,
               "gemm: output of shape {} does not hold a {}x{} result", shape_str(out.sizes()), a.rows, b.cols);
  dispatch(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) throw Error("gemm: not implemented for bool tensors");
    else gemm<T>(a, b, static_cast<T*>(out.raw_data()), b.cols, beta);
  });
}

void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out, double beta) {
  int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
  int64_t sa = a.size(0) == 1 ? 0 : a.stride(0), sb = b.size(0) == 1 ? 0 : b.stride(0);
  dispatch(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("matmul: not implemented for bool tensors");
    } else {
      const T* pa = static_cast<const T*>(a.raw_data());
      const T* pb = static_cast<const T*>(b.raw_data());
      T* pc = static_cast<T*>(out.raw_data());
      auto products = [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          gemm<T>(MatRef{pa + i * sa, M, K, a.stride(1), a.stride(2)},
                  MatRef{pb + i * sb, K, N, b.stride(1), b.stride(2)}, pc + i * M * N, N, beta);
      };
      // big products split themselves across the threads; small ones are shared out whole
      if (M * N * K >= kParallelMacs) products(0, B);
      else for_batches(B, M * N * K, products);
    }
  });
}

}  // namespace ctorch::kernels
