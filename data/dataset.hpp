#pragma once
// Datasets, as torch.utils.data.Dataset / TensorDataset: a dataset has a size and returns one
// (data, target) example per index; get_batch returns the examples of a list of indices stacked
// along a new first dimension, which is what DataLoader hands out (default_collate's result).
#include <cstdint>
#include <span>

#include "../core/tensor.hpp"

namespace ctorch::data {

// One example, or one batch of them: `auto [x, y] = dataset.get(0);`
struct Example {
  Tensor data;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;          // len(dataset)
  virtual Example get(int64_t index) const = 0;  // dataset[index], 0 <= index < size()
  // The examples at `indices`, stacked: data [B, ...], target [B, ...]. The default calls get()
  // per index and stacks (a copy per sample); datasets held in tensors override it.
  virtual Example get_batch(std::span<const int64_t> indices) const;
};

// Samples are the rows of two tensors (torch.utils.data.TensorDataset with two tensors):
// get(i) = (data[i], targets[i]) as views; get_batch is one index_select per tensor.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor data, Tensor targets);
  int64_t size() const override;
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;

  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_, targets_;
};

}  // namespace ctorch::data
