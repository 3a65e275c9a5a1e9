#pragma once
// Element types. float32 computes, float64 checks gradients (gradcheck runs in double, as
// PyTorch's does), int64 holds indices and class labels, bool holds comparison masks.
#include <cstdint>
#include <string_view>

#include "error.hpp"

namespace ctorch {

enum class ScalarType : uint8_t { Bool, Int64, Float32, Float64 };

inline constexpr ScalarType kBool = ScalarType::Bool;
inline constexpr ScalarType kInt64 = ScalarType::Int64;
inline constexpr ScalarType kLong = ScalarType::Int64;
inline constexpr ScalarType kFloat32 = ScalarType::Float32;
inline constexpr ScalarType kFloat = ScalarType::Float32;
inline constexpr ScalarType kFloat64 = ScalarType::Float64;
inline constexpr ScalarType kDouble = ScalarType::Float64;

constexpr size_t element_size(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return 1;
    case ScalarType::Int64: return 8;
    case ScalarType::Float32: return 4;
    case ScalarType::Float64: return 8;
  }
  return 0;
}

// PyTorch's spelling, used in printing and error messages: "torch.float32".
constexpr std::string_view dtype_name(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return "torch.bool";
    case ScalarType::Int64: return "torch.int64";
    case ScalarType::Float32: return "torch.float32";
    case ScalarType::Float64: return "torch.float64";
  }
  return "?";
}

constexpr bool is_floating_point(ScalarType t) {
  return t == ScalarType::Float32 || t == ScalarType::Float64;
}

// Type promotion of two tensors: bool < int64 < float32 < float64 (PyTorch's category order).
constexpr ScalarType promote_types(ScalarType a, ScalarType b) {
  return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr ScalarType value = ScalarType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr ScalarType value = ScalarType::Int64; };
template <> struct dtype_of<float> { static constexpr ScalarType value = ScalarType::Float32; };
template <> struct dtype_of<double> { static constexpr ScalarType value = ScalarType::Float64; };
template <class T> inline constexpr ScalarType dtype_v = dtype_of<T>::value;

// Calls f.template operator()<T>() with the C++ type of `t`: one switch for every kernel.
template <class F>
decltype(auto) dispatch(ScalarType t, F&& f) {
  switch (t) {
    case ScalarType::Bool: return f.template operator()<bool>();
    case ScalarType::Int64: return f.template operator()<int64_t>();
    case ScalarType::Float32: return f.template operator()<float>();
    case ScalarType::Float64: return f.template operator()<double>();
  }
  throw Error("dispatch: unknown dtype");
}

// Same, for kernels that only make sense on floating types (exp, log, softmax...).
template <class F>
decltype(auto) dispatch_floating(ScalarType t, std::string_view op, F&& f) {
  switch (t) {
    case ScalarType::Float32: return f.template operator()<float>();
    case ScalarType::Float64: return f.template operator()<double>();
    default: throw Error(fmt::format("{}: expected a floating point tensor, got {}", op, dtype_name(t)));
  }
}

}  // namespace ctorch
