// Matrix products through OpenBLAS: the hot path of every model. A transposed view reaches BLAS
// as a transpose flag with its leading dimension, never as a copy.
#include <cblas.h>

#include "kernels.hpp"

namespace ctorch::kernels {
namespace {

// How BLAS should read a [rows, cols] matrix with strides (rs, cs): row-major as is, or as the
// transpose of a row-major matrix. Anything else (e.g. a stride-0 expanded view) is copied first.
struct MatrixArg {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};
std::optional<MatrixArg> blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs == 1 && rs >= std::max<int64_t>(1, cols)) return MatrixArg{CblasNoTrans, rs};
  if (rs == 1 && cs >= std::max<int64_t>(1, rows)) return MatrixArg{CblasTrans, cs};
  if (rows == 1 && cs == 1) return MatrixArg{CblasNoTrans, std::max<int64_t>(1, cols)};
  if (cols == 1 && rs == 1) return MatrixArg{CblasTrans, std::max<int64_t>(1, rows)};
  return std::nullopt;
}

// Plain loops for integer matrices and for products too small for a BLAS call to pay off.
template <class T>
void naive_gemm(int64_t M, int64_t N, int64_t K, const T* a, int64_t ars, int64_t acs, const T* b, int64_t brs,
                int64_t bcs, T* c, double beta) {
  for (int64_t i = 0; i < M; ++i) {
    T* crow = c + i * N;
    for (int64_t j = 0; j < N; ++j) crow[j] = beta == 0 ? T(0) : static_cast<T>(crow[j] * static_cast<T>(beta));
    for (int64_t k = 0; k < K; ++k) {
      T aik = a[i * ars + k * acs];
      const T* brow = b + k * brs;
      for (int64_t j = 0; j < N; ++j) crow[j] += aik * brow[j * bcs];
    }
  }
}

}  // namespace

void batched_gemm(const Tensor& a_in, const Tensor& b_in, const Tensor& out, double beta) {
  Tensor a = a_in, b = b_in;
  int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
  auto layout_a = blas_layout(M, K, a.stride(1), a.stride(2));
  auto layout_b = blas_layout(K, N, b.stride(1), b.stride(2));
  if (!layout_a) a = a.contiguous(), layout_a = blas_layout(M, K, a.stride(1), a.stride(2));
  if (!layout_b) b = b.contiguous(), layout_b = blas_layout(K, N, b.stride(1), b.stride(2));
  int64_t sa = a.size(0) == 1 ? 0 : a.stride(0), sb = b.size(0) == 1 ? 0 : b.stride(0);
  bool tiny = M * N * K <= 512;
  dispatch(out.dtype(), [&]<class T>() {
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* pc = static_cast<T*>(out.raw_data());
    for (int64_t i = 0; i < B; ++i) {
      const T* ai = pa + i * sa;
      const T* bi = pb + i * sb;
      T* ci = pc + i * M * N;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        if (!tiny && K > 0) {
          if constexpr (std::is_same_v<T, float>)
            cblas_sgemm(CblasRowMajor, layout_a->trans, layout_b->trans, M, N, K, 1.0f, ai, layout_a->ld, bi,
                        layout_b->ld, static_cast<float>(beta), ci, std::max<int64_t>(1, N));
          else
            cblas_dgemm(CblasRowMajor, layout_a->trans, layout_b->trans, M, N, K, 1.0, ai, layout_a->ld, bi,
                        layout_b->ld, beta, ci, std::max<int64_t>(1, N));
          continue;
        }
      }
      naive_gemm<T>(M, N, K, ai, a.stride(1), a.stride(2), bi, b.stride(1), b.stride(2), ci, beta);
    }
  });
}

}  // namespace ctorch::kernels
