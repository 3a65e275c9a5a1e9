#pragma once
// A vector that keeps its first N elements inline: the graph's per-node lists (edges, input
// shapes, saved tensors) hold one to three entries almost always, and then cost no allocation.
// Elements past size() in the inline part stay default-constructed (cheap for handles).
#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace ctorch {

template <class T, size_t N>
class SmallVector {
 public:
  SmallVector() = default;
  SmallVector(std::initializer_list<T> init) {
    reserve(init.size());
    for (const T& v : init) push_back(v);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return size_ <= N ? inline_.data() : heap_.data(); }
  const T* data() const { return size_ <= N ? inline_.data() : heap_.data(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  void reserve(size_t n) {
    if (n > N) heap_.reserve(n);
  }
  void push_back(T v) {
    if (size_ < N) {
      inline_[size_++] = std::move(v);
      return;
    }
    if (size_ == N) {  // spill: from now on every element lives on the heap
      heap_.reserve(2 * N + 1);
      for (T& x : inline_) heap_.push_back(std::move(x)), x = T();
    }
    heap_.push_back(std::move(v));
    ++size_;
  }
  void resize(size_t n) {
    while (size_ < n) push_back(T());
    while (size_ > n) pop_back();
  }
  void pop_back() {
    if (size_ > N) {
      heap_.pop_back();
      if (--size_ == N)  // back inline
        for (size_t i = 0; i < N; ++i) inline_[i] = std::move(heap_[i]);
      if (size_ == N) heap_.clear();
    } else {
      inline_[--size_] = T();
    }
  }
  void clear() {
    for (size_t i = 0; i < std::min(size_, N); ++i) inline_[i] = T();
    heap_.clear();
    size_ = 0;
  }

 private:
  std::array<T, N> inline_{};
  std::vector<T> heap_;
  size_t size_ = 0;
};

}  // namespace ctorch
