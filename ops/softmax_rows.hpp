#pragma once
// The row kernels of softmax, shared by ops/activation.cpp (softmax, log_softmax) and
// ops/attention.cpp (the fused attention weights): one place for the arithmetic.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace ctorch::kernels {

// e^x for softmax's shifted logits (x <= 0, or NaN) in plain arithmetic the compiler vectorises
// (std::exp is a library call per element: softmax ran 4-6x slower than torch's): e^x = 2^k e^r,
// k = round(x log2(e)), r = x - k ln(2) with ln(2) split in two so r is exact, e^r by Cephes'
// degree-6 polynomial on |r| <= ln(2)/2. Within 1 ulp of e^x at every float in (-87, 0]; 0 below, where e^x
// leaves float's normal range; NaN stays NaN.
inline float exp_shifted(float x) {
  float xc = x > -87.0f ? x : -87.0f;  // also maps NaN to -87
  float t = xc * 1.44269504088896341f + 12582912.0f;  // k = round(x log2(e)) in t's low bits (2^23 + 2^22)
  float k = t - 12582912.0f;
  int32_t kb = std::bit_cast<int32_t>(t) - 0x4B400000;
  float r = (xc - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = (p * r * r + r + 1.0f) * std::bit_cast<float>((kb + 127) << 23);
  float z = x > -87.0f ? e : 0.0f;
  return x == x ? z : x;
}

// Row maximum and sum in independent lanes, so that the loops vectorise without reordering any
// single lane's arithmetic (no -ffast-math). The max uses GCC's vector extension (GCC will not
// vectorise a max reduction itself); NaNs are skipped by the max and come out of exp.
template <class T> struct Vec16;  // 16 bytes of T, one SSE register (vector_size needs a non-dependent type)
template <> struct Vec16<float> { typedef float type __attribute__((vector_size(16))); };
template <> struct Vec16<double> { typedef double type __attribute__((vector_size(16))); };
template <class T> inline T row_max(const T* x, int64_t n) {
  using V = typename Vec16<T>::type;
  constexpr int64_t W = sizeof(V) / sizeof(T);
  T m = x[0];
  int64_t i = 0;
  if (n >= W) {
    V acc, v;
    std::memcpy(&acc, x, sizeof(V));
    for (i = W; i + W <= n; i += W) {
      std::memcpy(&v, x + i, sizeof(V));
      acc = v > acc ? v : acc;
    }
    for (int64_t k = 0; k < W; ++k) m = acc[k] > m ? acc[k] : m;
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}
constexpr int kLanes = 16;
template <class T> inline double row_sum(const T* x, int64_t n) {
  T lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += x[i + k];
  double s = 0;
  for (; i < n; ++i) s += x[i];
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  return s;
}
// y = softmax(x) over one row of n (x may be y): max subtracted, so huge logits stay finite; a row
// of -inf only (or with a NaN) gives NaN, as in torch.
template <class T> inline void softmax_row(const T* x, T* y, int64_t n) {
  T m = row_max(x, n);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, float>) y[i] = exp_shifted(x[i] - m);
    else y[i] = std::exp(x[i] - m);
  }
  T inv = static_cast<T>(1.0 / row_sum(y, n));
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// dx = y (g - sum_j g_j y_j) over one row: the backward of softmax from its output y.
template <class T> inline void softmax_backward_row(const T* y, const T* g, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * y[i];
  T dot = static_cast<T>(row_sum(dx, n));
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (g[i] - dot);
}

}  // namespace ctorch::kernels
