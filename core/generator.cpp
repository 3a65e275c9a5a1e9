// Mirrors PyTorch 1.13: aten/src/ATen/CPUGeneratorImpl.cpp, core/DistributionsHelper.h,
// core/TransformationHelper.h, native/cpu/DistributionTemplates.h (+ avx_mathfun.h),
// native/TensorFactories.cpp (randperm).
//
// Bit-exactness. On an x86 CPU with AVX2, torch runs the kernels of DistributionKernels.cpp built
// with -mavx2 -mfma, where GCC fused many a*b+c into FMA instructions. The fusions below were read
// off the disassembly of Debian's libtorch_cpu.so 1.13 and are written as std::fma; no other a*b+c
// is left for our compiler to contract, so results do not depend on our flags (-ffast-math would
// break them). torch's DEFAULT kernel (CPUs without AVX2, ARM) computes float normal_ (n >= 16) and
// float uniform_ with from != 0 differently; that kernel is not mirrored. The double paths call the
// C library's log/sin/cos like torch: bit-exact with the same libm (glibc), maybe 1 ulp off elsewhere.
#include "generator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <type_traits>

#include "error.hpp"

namespace ctorch {

Generator::Generator(uint64_t seed) { manual_seed(seed); }

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_.seed(static_cast<uint32_t>(seed));  // at::mt19937 keeps only the low 32 bits
  next_double_normal_sample.reset();
  next_float_normal_sample.reset();
}

uint64_t Generator::random64() {
  const uint64_t hi = random();
  return hi << 32 | random();
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

constexpr double kPi = 3.14159265358979323846;

void check_n(const char* op, int64_t n) { CTORCH_CHECK(n >= 0, "{}: n must be >= 0, got {}", op, n); }

// at::uniform_real_distribution<T>(0, 1): the low 24 (float) / 53 (double) bits of a draw, scaled.
template <class T>
T uniform01(Generator& g) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>(g.random() & 0xFFFFFFu) * 0x1p-24f;
  else return static_cast<double>(g.random64() & ((uint64_t{1} << 53) - 1)) * 0x1p-53;
}

// at::normal_distribution<double>: Box-Muller on two doubles; the sine half is cached in the
// generator and returned by the next call. Used by normal_ for fewer than 16 elements.
double normal_scalar(double mean, double std, Generator& g) {
  if (g.next_double_normal_sample) {
    const double v = *g.next_double_normal_sample;
    g.next_double_normal_sample.reset();
    return std::fma(v, std, mean);
  }
  const double u1 = uniform01<double>(g);
  const double u2 = uniform01<double>(g);
  const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  const double theta = 2.0 * kPi * u1;
  g.next_double_normal_sample = r * std::sin(theta);
  return std::fma(r * std::cos(theta), std, mean);
}

// normal_fill_16<double>: data[0..16) holds uniforms; pairs (j, j+8) become two normals.
void box_muller_16(double* d, double mean, double std) {
  for (int j = 0; j < 8; ++j) {
    const double r = std::sqrt(-2.0 * std::log(1.0 - d[j]));
    const double theta = 2.0 * kPi * d[j + 8];
    d[j] = std::fma(r * std::cos(theta), std, mean);
    d[j + 8] = std::fma(r * std::sin(theta), std, mean);
  }
}

float flip_sign(float v, bool neg) { return neg ? std::bit_cast<float>(std::bit_cast<uint32_t>(v) ^ 0x80000000u) : v; }

// One lane of avx_mathfun.h's log256_ps (Cephes logf) as torch's binary computes it.
// The argument is 1 - u with u in [0, 1), i.e. in [2^-24, 1]: the x <= 0 / denormal guards never fire.
float avx2_log(float v) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127) + 1.0f;
  float x = std::bit_cast<float>((bits & ~0x7f800000u) | 0x3f000000u);  // mantissa in [0.5, 1)
  if (x < 0.707106781186547524f) {
    e = e - 1.0f;
    x = (x - 1.0f) + x;
  } else {
    x = x - 1.0f;
  }
  float y = 7.0376836292E-2f;
  for (float p : {-1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
                  -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f})
    y = std::fma(y, x, p);
  const float z = x * x;
  y = x * y;
  y = std::fma(y, z, e * -2.12194440e-4f);
  y = std::fma(-z, 0.5f, y);
  x = x + y;
  return std::fma(e, 0.693359375f, x);
}

// One lane of avx_mathfun.h's sincos256_ps (Cephes sinf/cosf) as torch's binary computes it.
// theta = 2*pi*u >= 0, so the sign of the argument never matters.
void avx2_sincos(float theta, float& s, float& c) {
  int32_t j = static_cast<int32_t>(theta * 1.27323954473516f);  // 4/pi, truncated like cvttps
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  float x = std::fma(y, -0.78515625f, theta);  // extended-precision theta - j*pi/4
  x = std::fma(y, -2.4187564849853515625e-4f, x);
  x = std::fma(y, -3.77489497744594108e-8f, x);
  const float z = x * x;
  float yc = std::fma(z, 2.443315711809948E-005f, -1.388731625493765E-003f);  // cos polynomial
  yc = std::fma(z, yc, 4.166664568298827E-002f);
  yc = z * yc;
  yc = std::fma(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;
  float ys = std::fma(-1.9515295891E-4f, z, 8.3321608736E-3f);  // sin polynomial
  ys = std::fma(z, ys, -1.6666654611E-1f);
  ys = z * ys;
  ys = std::fma(ys, x, x);
  const bool sin_poly = (j & 2) == 0;  // the masked select of avx_mathfun, signed zeros included
  const float ysin2 = sin_poly ? ys : 0.0f, ysin1 = sin_poly ? 0.0f : yc;
  s = flip_sign(ysin1 + ysin2, j & 4);
  c = flip_sign((ys - ysin2) + (yc - ysin1), ~(j - 2) & 4);
}

// normal_fill_16_AVX2, one lane at a time.
void box_muller_16(float* d, float mean, float std) {
  for (int j = 0; j < 8; ++j) {
    const float r = std::sqrt(avx2_log(1.0f - d[j]) * -2.0f);
    float s, c;
    avx2_sincos(6.2831855f * d[j + 8], s, c);  // float(2 * pi)
    const float n1 = r * c, n2 = r * s;
    d[j] = std::fma(n1, std, mean);
    d[j + 8] = std::fma(n2, std, mean);
  }
}

// normal_fill / normal_fill_AVX2: fill with uniforms, transform blocks of 16; if n % 16 != 0,
// draw 16 fresh uniforms for the last 16 slots and transform them again.
template <class T>
void normal_fill(T* data, int64_t n, T mean, T std, Generator& g) {
  for (int64_t i = 0; i < n; ++i) data[i] = uniform01<T>(g);
  for (int64_t i = 0; i + 16 <= n; i += 16) box_muller_16(data + i, mean, std);
  if (n % 16 != 0) {
    T* tail = data + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniform01<T>(g);
    box_muller_16(tail, mean, std);
  }
}

// uniform_kernel: from/to are cast to T first; x * (to - from) + from is one FMA in torch's binary.
template <class T>
void uniform_impl(T* data, int64_t n, double from, double to, Generator& g) {
  check_n("uniform", n);
  CTORCH_CHECK(from <= to, "uniform: from ({}) must be <= to ({})", from, to);
  constexpr double max = std::numeric_limits<T>::max();
  CTORCH_CHECK(-max <= from && to <= max && to - from <= max,
               "uniform: from ({}) and to ({}) must span at most {}", from, to, max);
  const T lo = static_cast<T>(from), width = static_cast<T>(to) - lo;
  for (int64_t i = 0; i < n; ++i) data[i] = std::fma(uniform01<T>(g), width, lo);
}

// int64 -> float -> int64 as x86 does it (an out-of-range float converts to INT64_MIN).
int64_t through_float(int64_t v) {
  const float f = static_cast<float>(v);
  return f >= 0x1p63f ? std::numeric_limits<int64_t>::min() : static_cast<int64_t>(f);
}

// random_from_to_impl + random_from_to_kernel: (draw % range) + low, one 32-bit draw when
// range < 2^32. For a float output, update_from/update_to first move the bounds inwards so that
// rounding a draw to float cannot leave [low, high).
template <class T>
void randint_impl(T* data, int64_t n, int64_t low, int64_t high, Generator& g) {
  check_n("randint", n);
  CTORCH_CHECK(low < high, "randint: low ({}) must be less than high ({})", low, high);
  if constexpr (std::is_same_v<T, float>) {
    const int64_t low0 = low, high0 = high;
    constexpr int digits = std::numeric_limits<float>::digits;
    auto log2 = [](int64_t v) { return static_cast<int>(std::bit_width(static_cast<uint64_t>(std::abs(v)))) - 1; };
    if (const int64_t up = through_float(low + 1); up < low) low = up + (int64_t{1} << (log2(low + 1) - digits + 1));
    if (const int64_t down = through_float(high - 1); down >= high) high = down - (int64_t{1} << (log2(high - 1) - digits + 1));
    CTORCH_CHECK(low < high, "randint: no float32 value in [{}, {}) (bounds round to {} and {})", low0, high0, low, high);
  }
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t v = range >= (uint64_t{1} << 32) ? g.random64() : g.random();
    data[i] = static_cast<T>(static_cast<int64_t>(v % range + static_cast<uint64_t>(low)));
  }
}

}  // namespace

namespace random_fill {

void uniform(float* data, int64_t n, double from, double to, Generator& g) { uniform_impl(data, n, from, to, g); }
void uniform(double* data, int64_t n, double from, double to, Generator& g) { uniform_impl(data, n, from, to, g); }

// normal_kernel: >= 16 elements take normal_fill (float: the AVX2 variant), fewer take
// normal_distribution<double> one element at a time, cast to float.
void normal(float* data, int64_t n, double mean, double std, Generator& g) {
  check_n("normal", n);
  CTORCH_CHECK(std >= 0.0, "normal: std must be >= 0, got {}", std);
  if (n >= 16) return normal_fill(data, n, static_cast<float>(mean), static_cast<float>(std), g);
  for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>(normal_scalar(mean, std, g));
}

void normal(double* data, int64_t n, double mean, double std, Generator& g) {
  check_n("normal", n);
  CTORCH_CHECK(std >= 0.0, "normal: std must be >= 0, got {}", std);
  if (n >= 16) return normal_fill(data, n, mean, std, g);
  for (int64_t i = 0; i < n; ++i) data[i] = normal_scalar(mean, std, g);
}

void randint(int64_t* data, int64_t n, int64_t low, int64_t high, Generator& g) { randint_impl(data, n, low, high, g); }
void randint(float* data, int64_t n, int64_t low, int64_t high, Generator& g) { randint_impl(data, n, low, high, g); }

// randperm_cpu (1.13: 32-bit draws for every n): swap each slot with a random later one.
void randperm(int64_t* data, int64_t n, Generator& g) {
  check_n("randperm", n);
  std::iota(data, data + n, int64_t{0});
  for (int64_t i = 0; i < n - 1; ++i) std::swap(data[i], data[i + static_cast<int64_t>(g.random() % (n - i))]);
}

// bernoulli_scalar_kernel_default (no MKL in Debian's torch): a double uniform < p per element.
void bernoulli(float* data, int64_t n, double p, Generator& g) {
  check_n("bernoulli", n);
  CTORCH_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: p must be in [0, 1], got {}", p);
  for (int64_t i = 0; i < n; ++i) data[i] = uniform01<double>(g) < p ? 1.0f : 0.0f;
}

}  // namespace random_fill
}  // namespace ctorch
