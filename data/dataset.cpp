#include "dataset.hpp"

#include "../core/factories.hpp"
#include "../ops/indexing.hpp"
#include "../ops/shape.hpp"

namespace ctorch::data {

namespace {

void check_index(int64_t index, int64_t size, const char* who) {
  CTORCH_CHECK(index >= 0 && index < size, "{}: index {} is out of range for a dataset of size {}", who, index, size);
}

}  // namespace

Example Dataset::get_batch(std::span<const int64_t> indices) const {
  CTORCH_CHECK(!indices.empty(), "Dataset::get_batch: no indices");
  TensorList xs, ys;
  xs.reserve(indices.size());
  ys.reserve(indices.size());
  for (int64_t i : indices) {
    auto [x, y] = get(i);
    xs.push_back(std::move(x));
    ys.push_back(std::move(y));
  }
  return {stack(xs), stack(ys)};
}

TensorDataset::TensorDataset(Tensor data, Tensor targets) : data_(std::move(data)), targets_(std::move(targets)) {
  CTORCH_CHECK(data_.defined() && targets_.defined(), "TensorDataset: data and targets must be defined tensors");
  CTORCH_CHECK(data_.dim() >= 1 && targets_.dim() >= 1 && data_.size(0) == targets_.size(0),
               "TensorDataset: size mismatch between tensors: data has shape {} and targets {} (their first "
               "dimensions must agree)", shape_str(data_.sizes()), shape_str(targets_.sizes()));
}

int64_t TensorDataset::size() const { return data_.size(0); }

Example TensorDataset::get(int64_t index) const {
  check_index(index, size(), "TensorDataset");
  return {data_.select(0, index), targets_.select(0, index)};
}

Example TensorDataset::get_batch(std::span<const int64_t> indices) const {
  const int64_t n = size();
  for (int64_t i : indices) check_index(i, n, "TensorDataset");
  std::vector<int64_t> iv(indices.begin(), indices.end());
  const Tensor index = tensor(iv, {static_cast<int64_t>(iv.size())});
  return {data_.index_select(0, index), targets_.index_select(0, index)};
}

}  // namespace ctorch::data
