#pragma once
// Internal to optim/: the update loops run over raw contiguous buffers. `for_param` hands a loop
// the param's and grad's buffers, in one block per thread when the param is big (and bumps the
// param's version counter, as an in-place op would); a non-contiguous param or grad goes through
// contiguous copies (the slow path: rare).
// `static_bools` turns run-time flags into compile-time ones, so each loop is branch-free.
// `sqrt_chunks` splits a loop that takes square roots in three passes over chunks of 256 elements:
// std::sqrt keeps a loop scalar (it may set errno, unless built with -fno-math-errno), so the roots
// are taken apart, with SSE2 when the target has it; the other two passes vectorise.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../core/tensor.hpp"
#include "../core/threads.hpp"

namespace ctorch::optim::detail {

// f.template operator()<T>(T* param, const T* grad, int64_t n, int64_t at): update the n elements
// that start at element `at` (param and grad already point there; state buffers add `at`
// themselves). T is the param's floating type. A big parameter is cut into one block per thread
// (the updates are elementwise, so the blocks are independent): f must only read what it captures.
inline constexpr int64_t kParallelElements = int64_t{1} << 16;

template <class T, class F>
void update_blocks(T* w, const T* g, int64_t n, F& f) {
  int threads = get_num_threads();
  int parts = n >= kParallelElements ? static_cast<int>(std::min<int64_t>(threads, n / (kParallelElements / 2))) : 1;
  if (parts < 2) return f.template operator()<T>(w, g, n, int64_t{0});
  int64_t step = ((n + parts - 1) / parts + 63) / 64 * 64;  // whole cache lines per block
  parallel_tasks(parts, [&](int i) {
    int64_t lo = i * step, hi = std::min(n, lo + step);
    if (lo < hi) f.template operator()<T>(w + lo, g + lo, hi - lo, lo);
  });
}

template <class F>
void for_param(const Tensor& param, const Tensor& grad, std::string_view op, F&& f) {
  CTORCH_CHECK(same_shape(grad.sizes(), param.sizes()), "{}: grad of shape {} does not match its param of shape {}",
               op, shape_str(grad.sizes()), shape_str(param.sizes()));
  dispatch_floating(param.dtype(), op, [&]<class T>() {
    Tensor g = grad.dtype() == param.dtype() ? grad : grad.to(param.dtype());
    if (!g.is_contiguous()) g = g.contiguous();
    const int64_t n = param.numel();
    if (param.is_contiguous()) {
      update_blocks<T>(param.data_ptr<T>(), static_cast<const T*>(g.data_ptr<T>()), n, f);
      ++param.impl()->storage->version;
    } else {
      Tensor work = param.clone();  // contiguous
      update_blocks<T>(work.data_ptr<T>(), static_cast<const T*>(g.data_ptr<T>()), n, f);
      Tensor(param).copy_(work);    // bumps the version
    }
  });
}

// The gradient an update works with, as torch's first lines make it: negated when maximizing
// (`-grad`), then with weight decay folded in (`grad.add(param, alpha=weight_decay)`). Maximize and
// WeightDecay are the loop's compile-time flags (from static_bools); w matters only with WeightDecay.
template <bool Maximize, bool WeightDecay, class T>
inline T update_grad(T g, T w, T weight_decay) {
  if constexpr (Maximize) g = -g;
  if constexpr (WeightDecay) g = g + weight_decay * w;
  return g;
}

// static_bools(f, b1, b2, ...) calls f(std::bool_constant<b1>{}, std::bool_constant<b2>{}, ...).
template <class F>
void static_bools(F&& f) {
  f();
}
template <class F, class... Rest>
void static_bools(F&& f, bool first, Rest... rest) {
  auto bind = [&](auto c) { static_bools([&](auto... cs) { f(c, cs...); }, rest...); };
  if (first) bind(std::true_type{});
  else bind(std::false_type{});
}

// x[i] = sqrt(x[i]), correctly rounded like std::sqrt (and like torch's vectorised sqrt).
template <class T>
void sqrt_inplace(T* __restrict x, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
  } else if constexpr (std::is_same_v<T, double>) {
    for (; i + 2 <= n; i += 2) _mm_storeu_pd(x + i, _mm_sqrt_pd(_mm_loadu_pd(x + i)));
  }
#endif
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

inline constexpr int64_t kSqrtChunk = 256;

// For each chunk [start, start + len) of [0, n): before(start, len, r) fills r[0, len) with the
// values to take roots of, then r[i] = sqrt(r[i]), then after(start, len, r) uses them.
template <class T, class Before, class After>
void sqrt_chunks(int64_t n, Before&& before, After&& after) {
  alignas(64) T r[kSqrtChunk];
  for (int64_t start = 0; start < n; start += kSqrtChunk) {
    const int64_t len = std::min(kSqrtChunk, n - start);
    before(start, len, r);
    sqrt_inplace(r, len);
    after(start, len, r);
  }
}

}  // namespace ctorch::optim::detail
