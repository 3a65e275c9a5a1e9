#include "linalg.hpp"

#include <lapacke.h>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"
#include "../core/threads.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

// The data of t in row-major order: t itself when it already is, else a copy (no autograd).
Tensor dense(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = empty(t.sizes(), t.dtype());
  kernels::copy(c, t);
  return c;
}

// x as the [rows, in] matrix gemm reads: a 2-D x as it is (any strides), else its row-major data,
// which `hold` keeps alive for as long as the MatRef is used.
kernels::MatRef input_rows(const Tensor& x, Tensor& hold) {
  if (x.dim() == 2) return kernels::matrix_of(x);
  hold = dense(x);
  return kernels::rows_of(hold);
}

// The product of two matrices, straight to gemm (no views made): the 2-D case of matmul, and
// what the backward rules below are made of.
// d(A B)/dA = G B^T, d(A B)/dB = A^T G
Tensor matmul_2d(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.size(0), b.size(1)}, a.dtype());
  kernels::gemm(kernels::matrix_of(a), kernels::matrix_of(b), out);
  return record("MmBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    return grads(s.needs_grad(0) ? matmul_2d(g, s[1].t()) : Tensor(),
                 s.needs_grad(1) ? matmul_2d(s[0].t(), g) : Tensor());
  });
}

// The product of two tensors of >= 2 dims with broadcast batch dims:
// d(A B)/dA = G B^T, d(A B)/dB = A^T G (the engine sums over broadcast batch dims).
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  CTORCH_CHECK(b.size(-2) == K, "matmul: mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{}; shapes {} and {})",
               M, K, b.size(-2), N, shape_str(a.sizes()), shape_str(b.sizes()));
  if (a.dim() == 2 && b.dim() == 2) return matmul_2d(a, b);
  Shape batch = broadcast_shapes(IntArrayRef(a.sizes().data(), a.dim() - 2), IntArrayRef(b.sizes().data(), b.dim() - 2),
                                 "matmul");
  int64_t B = numel_of(batch);
  // Fold the batch dims into one: a is [B or 1, M, K], b is [B or 1, K, N].
  auto fold = [&](const Tensor& t, int64_t rows, int64_t cols) {
    Shape want(batch);
    want.push_back(rows);
    want.push_back(cols);
    Tensor e = t.detach();
    if (numel_of(IntArrayRef(t.sizes().data(), t.dim() - 2)) == 1 && t.dim() - 2 <= static_cast<int64_t>(batch.size()))
      return e.reshape({1, rows, cols});
    return e.expand(want).reshape({B, rows, cols});
  };
  ScalarType t = a.dtype();
  Tensor a3 = fold(a, M, K), b3 = fold(b, K, N);
  Shape out_shape(batch);
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, t);
  kernels::batched_gemm(a3, b3, out.view({B, M, N}));
  return record("BmmBackward0", out, {a, b}, {a, b}, [](const Saved& s, const Tensor& g) {
    return grads(s.needs_grad(0) ? batched_matmul(g, s[1].mT()) : Tensor(),
                 s.needs_grad(1) ? batched_matmul(s[0].mT(), g) : Tensor());
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dimension, but they have shapes {} and {}",
               shape_str(a.sizes()), shape_str(b.sizes()));
  CTORCH_CHECK(a.dtype() == b.dtype(), "matmul: expected both arguments to have the same dtype, but got {} and {}",
               dtype_name(a.dtype()), dtype_name(b.dtype()));
  CTORCH_CHECK(a.dtype() != kBool, "matmul: not implemented for bool tensors");
  if (a.dim() == 1 && b.dim() == 1) {
    CTORCH_CHECK(a.size(0) == b.size(0), "matmul: 1D tensors expected to have the same size, but got {} and {}", a.size(0),
                 b.size(0));
    return batched_matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  // A 1-D operand becomes a matrix by a differentiable unsqueeze, and that dim is squeezed away.
  if (a.dim() == 1) return batched_matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return batched_matmul(a, b.unsqueeze(1)).squeeze(-1);
  return batched_matmul(a, b);
}

// y = x W^T + b: the bias is written into the output first and sgemm adds x W^T to it (beta = 1).
// dy/dx = g W, dy/dW = g^T x, dy/db = sum of g over the rows
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  CTORCH_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1),
               "linear: input of shape {} cannot be multiplied by weight of shape {} (expected input [*, {}])",
               shape_str(x.sizes()), shape_str(w.sizes()), w.dim() == 2 ? w.size(1) : -1);
  CTORCH_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == w.size(0)),
               "linear: bias of shape {} does not match weight of shape {}", shape_str(b.sizes()), shape_str(w.sizes()));
  CTORCH_CHECK(x.dtype() == w.dtype() && (!b.defined() || b.dtype() == w.dtype()) && x.is_floating_point(),
               "linear: expected input, weight and bias of the same floating dtype, got {} and {}", dtype_name(x.dtype()),
               dtype_name(w.dtype()));
  Shape out_shape(x.sizes());
  out_shape[out_shape.size() - 1] = w.size(0);
  Tensor out = empty(out_shape, x.dtype());
  Tensor x_rows;
  kernels::MatRef xm = input_rows(x, x_rows);
  if (b.defined()) kernels::copy(out, b);
  kernels::gemm(xm, kernels::matrix_of(w).t(), out, b.defined() ? 1 : 0);
  return record("AddmmBackward0", out, {x, w, b}, {x, w}, [](const Saved& s, const Tensor& g_in) {
    Tensor g = dense(g_in), x = s[0], w = s[1];
    kernels::MatRef gm = kernels::rows_of(g);
    Tensor gx, gw, gb;
    auto input_grad = [&] {
      gx = empty(x.sizes(), x.dtype());
      kernels::gemm(gm, kernels::matrix_of(w), gx);
    };
    auto weight_grad = [&] {
      gw = empty(w.sizes(), w.dtype());
      Tensor x_rows;
      kernels::gemm(gm.t(), input_rows(x, x_rows), gw);
    };
    // Two products of the same size: on two threads each runs whole, rather than each cut in two.
    if (s.needs_grad(0) && s.needs_grad(1) && get_num_threads() >= 2 &&
        gm.rows * w.size(0) * w.size(1) >= kernels::kParallelMacs) {
      parallel_tasks(2, [&](int i) { i == 0 ? input_grad() : weight_grad(); });
    } else {
      if (s.needs_grad(0)) input_grad();
      if (s.needs_grad(1)) weight_grad();
    }
    if (s.needs_grad(2)) gb = g.dim() == 1 ? g : g.reshape({-1, g.size(-1)}).sum(0);
    return grads(gx, gw, gb);
  });
}

Tensor mm(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D tensors, got shapes {} and {}", shape_str(a.sizes()),
               shape_str(b.sizes()));
  return matmul(a, b);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() == 1 && b.dim() == 1, "dot: 1D tensors expected, but got shapes {} and {}", shape_str(a.sizes()),
               shape_str(b.sizes()));
  return matmul(a, b);
}

Tensor lstsq(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() == 2 && (b.dim() == 1 || b.dim() == 2),
               "lstsq: expected a 2-D matrix and a 1-D or 2-D right-hand side, got shapes {} and {}",
               shape_str(a.sizes()), shape_str(b.sizes()));
  int64_t m = a.size(0), n = a.size(1);
  CTORCH_CHECK(b.size(0) == m, "lstsq: a has {} rows but b has {} (shapes {} and {})", m, b.size(0),
               shape_str(a.sizes()), shape_str(b.sizes()));
  CTORCH_CHECK(m >= n, "lstsq: needs at least as many rows as columns, got shape {}", shape_str(a.sizes()));
  int64_t nrhs = b.dim() == 1 ? 1 : b.size(1);
  Tensor A = a.detach().to(kFloat64).contiguous().clone();
  Tensor B = b.detach().to(kFloat64).reshape({m, nrhs}).contiguous().clone();
  lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', static_cast<lapack_int>(m), static_cast<lapack_int>(n),
                                  static_cast<lapack_int>(nrhs), A.data_ptr<double>(), static_cast<lapack_int>(n),
                                  B.data_ptr<double>(), static_cast<lapack_int>(nrhs));
  CTORCH_CHECK(info == 0, "lstsq: LAPACK dgels failed (info = {}): the matrix of shape {} does not have full rank",
               info, shape_str(a.sizes()));
  Tensor x = B.narrow(0, 0, n);
  if (b.dim() == 1) x = x.reshape({n});
  return x.contiguous().to(promote_types(a.dtype(), b.dtype()) == kFloat64 ? kFloat64 : kFloat32);
}

Tensor Tensor::matmul(const Tensor& o) const { return ctorch::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return ctorch::mm(*this, o); }

}  // namespace ctorch
