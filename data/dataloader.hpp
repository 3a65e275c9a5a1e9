#pragma once
// DataLoader and samplers, as torch.utils.data (num_workers=0):
//
//   auto train = std::make_shared<TensorDataset>(X, y);
//   DataLoader loader(train, {.batch_size = 64, .shuffle = true});
//   for (auto [xb, yb] : loader) { ... }      // one epoch; loader.size() batches
//
// Random draws, bit-exact with PyTorch 1.13 after the same manual_seed. Each epoch (each begin()):
//   1. the iterator draws a base seed, int64 random_() = random64() % 2^63, from the loader's
//      generator (options.generator, else the default one), whatever the sampler: torch's
//      _BaseDataLoaderIter.__init__ does so for worker seeding; with no workers it is unused;
//   2. the sampler starts its pass:
//      RandomSampler without a generator draws a seed the same way from the default generator,
//        seeds a fresh Generator with it and takes randperm(n) from that;
//      RandomSampler with a generator takes randperm(n) from it directly, and one more randperm(n)
//        from it when the pass runs out (torch's sampler computes the next, empty, slice of
//        permutations before it stops): while the last batch is gathered if that batch is short
//        (or dropped), else at the end of the epoch;
//      SubsetRandomSampler takes randperm(len(indices)) from its generator (default: the default one);
//      SequentialSampler draws nothing.
// shuffle=true is RandomSampler(n, options.generator), as in torch. torch makes draw 2 at the first
// next() rather than at iter(); in a range-for nothing runs in between, so the streams agree.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "../core/generator.hpp"
#include "dataset.hpp"

namespace ctorch::data {

// Yields the dataset indices of one pass. indices() is called once per epoch, at its start;
// exhausted() when the loader asks for an index past the last one (as torch's BatchSampler does
// once per pass that is run to its end).
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual int64_t size() const = 0;             // len(sampler): indices per pass
  virtual std::vector<int64_t> indices() = 0;   // one pass, in order (makes the pass's random draws)
  virtual void exhausted() {}                   // the pass ran out (draws torch makes at that point)
};

class SequentialSampler : public Sampler {  // 0, 1, ..., n - 1
 public:
  explicit SequentialSampler(int64_t n);
  int64_t size() const override { return n_; }
  std::vector<int64_t> indices() override;

 private:
  int64_t n_;
};

// A random permutation of 0..n-1 per pass (without replacement). Without a generator, each pass
// seeds a private Generator from the default one, as torch's RandomSampler does. The generator,
// if given, must outlive the sampler.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t n, Generator* generator = nullptr);
  int64_t size() const override { return n_; }
  std::vector<int64_t> indices() override;
  void exhausted() override;

 private:
  int64_t n_;
  Generator* generator_;
};

// The given indices in a random order per pass: indices[randperm(len)] (torch: generator=None
// means the default generator, used directly).
class SubsetRandomSampler : public Sampler {
 public:
  explicit SubsetRandomSampler(std::vector<int64_t> indices, Generator* generator = nullptr);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  std::vector<int64_t> indices() override;

 private:
  std::vector<int64_t> indices_;
  Generator* generator_;
};

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;    // RandomSampler; mutually exclusive with an explicit sampler
  bool drop_last = false;  // drop the last batch if it has fewer than batch_size examples
  Generator* generator = nullptr;  // torch's DataLoader(generator=...): base seeds and shuffling
};

class DataLoader {
 public:
  class Iterator;

  explicit DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {},
                      std::shared_ptr<Sampler> sampler = nullptr);

  Iterator begin();  // starts an epoch (the draws above) and fetches its first batch
  std::default_sentinel_t end() const { return {}; }
  int64_t size() const;  // batches per epoch: len(dataloader)

  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }
  const std::shared_ptr<Sampler>& sampler() const { return sampler_; }
  const DataLoaderOptions& options() const { return options_; }

  // One epoch's batches. Holds the dataset (not the loader) and the epoch's index order; each
  // batch is the dataset's get_batch of the next batch_size indices.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    using reference = const Example&;
    using pointer = const Example*;

    Iterator() = default;
    const Example& operator*() const { return batch_; }
    const Example* operator->() const { return &batch_; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return done_; }
    int64_t base_seed() const { return base_seed_; }  // torch's _base_seed of this epoch

   private:
    friend class DataLoader;
    void fetch();

    std::shared_ptr<Dataset> dataset_;
    std::shared_ptr<Sampler> sampler_;
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t batch_size_ = 1;
    bool drop_last_ = false;
    size_t pos_ = 0;
    int64_t base_seed_ = 0;
    bool done_ = true;
    bool exhausted_ = false;  // sampler_->exhausted() was called
    Example batch_;
  };

 private:
  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  std::shared_ptr<Sampler> sampler_;
};

}  // namespace ctorch::data
