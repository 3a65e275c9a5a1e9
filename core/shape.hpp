#pragma once
// Shapes and strides live inline in a small fixed-capacity vector: making a tensor or a view
// never allocates for its metadata.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "error.hpp"

namespace ctorch {

inline constexpr int64_t kMaxDims = 8;

using IntArrayRef = std::span<const int64_t>;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> v) { assign(v.begin(), v.end()); }
  Shape(IntArrayRef v) { assign(v.begin(), v.end()); }  // NOLINT: implicit like PyTorch's IntArrayRef
  explicit Shape(int64_t n, int64_t value) { resize(n, value); }

  int64_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t* data() { return v_.data(); }
  const int64_t* data() const { return v_.data(); }
  int64_t* begin() { return v_.data(); }
  int64_t* end() { return v_.data() + n_; }
  const int64_t* begin() const { return v_.data(); }
  const int64_t* end() const { return v_.data() + n_; }
  int64_t& operator[](int64_t i) { return v_[i]; }
  int64_t operator[](int64_t i) const { return v_[i]; }
  int64_t back() const { return v_[n_ - 1]; }
  operator IntArrayRef() const { return {v_.data(), static_cast<size_t>(n_)}; }  // NOLINT

  void push_back(int64_t x) {
    CTORCH_CHECK(n_ < kMaxDims, "ctorch supports at most {} dimensions", kMaxDims);
    v_[n_++] = x;
  }
  void insert(int64_t pos, int64_t x) {
    push_back(0);
    for (int64_t i = n_ - 1; i > pos; --i) v_[i] = v_[i - 1];
    v_[pos] = x;
  }
  void erase(int64_t pos) {
    for (int64_t i = pos; i + 1 < n_; ++i) v_[i] = v_[i + 1];
    --n_;
  }
  void resize(int64_t n, int64_t value = 0) {
    CTORCH_CHECK(n >= 0 && n <= kMaxDims, "ctorch supports at most {} dimensions, got {}", kMaxDims, n);
    for (int64_t i = n_; i < n; ++i) v_[i] = value;
    n_ = n;
  }
  friend bool operator==(const Shape& a, const Shape& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  template <class It> void assign(It b, It e) {
    n_ = 0;
    for (; b != e; ++b) push_back(*b);
  }
  std::array<int64_t, kMaxDims> v_{};
  int64_t n_ = 0;
};

inline bool same_shape(IntArrayRef a, IntArrayRef b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

inline int64_t numel_of(IntArrayRef s) {
  int64_t n = 1;
  for (int64_t x : s) n *= x;
  return n;
}

// Row-major strides of a contiguous tensor of this shape.
inline Shape contiguous_strides(IntArrayRef sizes) {
  Shape st(static_cast<int64_t>(sizes.size()), 1);
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * std::max<int64_t>(sizes[i + 1], 1);
  return st;
}

// "[2, 3]": the spelling of shapes in every error message.
inline std::string shape_str(IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Turns a possibly negative dim into [0, ndim); names the op when it is out of range.
inline int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, like PyTorch
  CTORCH_CHECK(dim >= -n && dim < n, "{}: dim {} is out of range for a tensor of {} dimension(s) (expected in [{}, {}])",
               op, dim, ndim, -n, n - 1);
  return dim < 0 ? dim + n : dim;
}

// PyTorch's broadcasting: align right, sizes equal or one of them 1.
inline Shape broadcast_shapes(IntArrayRef a, IntArrayRef b, std::string_view op) {
  int64_t na = static_cast<int64_t>(a.size()), nb = static_cast<int64_t>(b.size());
  int64_t n = std::max(na, nb);
  Shape out(n, 1);
  for (int64_t i = 0; i < n; ++i) {
    int64_t da = i < n - na ? 1 : a[i - (n - na)];
    int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
    CTORCH_CHECK(da == db || da == 1 || db == 1,
                 "{}: shapes {} and {} are not broadcastable (size {} vs {} at dim {})", op, shape_str(a),
                 shape_str(b), da, db, i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace ctorch
