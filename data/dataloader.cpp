#include "dataloader.hpp"

#include <algorithm>
#include <numeric>

#include "../core/error.hpp"

namespace ctorch::data {

namespace {

// torch.empty((), dtype=torch.int64).random_(generator=g): uniform_int_distribution<int64_t>
// takes random64() and transformation::uniform_int reduces it modulo int64's max + 1 = 2^63.
int64_t draw_int64(Generator& g) { return static_cast<int64_t>(g.random64() % (uint64_t{1} << 63)); }

std::vector<int64_t> randperm(int64_t n, Generator& g) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  random_fill::randperm(p.data(), n, g);
  return p;
}

}  // namespace

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  CTORCH_CHECK(n >= 0, "SequentialSampler: n must be >= 0, got {}", n);
}

std::vector<int64_t> SequentialSampler::indices() {
  std::vector<int64_t> v(static_cast<size_t>(n_));
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

RandomSampler::RandomSampler(int64_t n, Generator* generator) : n_(n), generator_(generator) {
  CTORCH_CHECK(n > 0, "RandomSampler: num_samples should be a positive integer value, but got num_samples={}", n);
}

std::vector<int64_t> RandomSampler::indices() {
  if (generator_) return randperm(n_, *generator_);
  Generator g(static_cast<uint64_t>(draw_int64(default_generator())));
  return randperm(n_, g);
}

// torch's RandomSampler.__iter__ ends with `yield from torch.randperm(n, generator=generator)
// .tolist()[:num_samples % n]`: a permutation computed, and sliced to nothing, when the pass runs
// out. With a private generator that is invisible; with the caller's it moves that generator on.
void RandomSampler::exhausted() {
  if (generator_) (void)randperm(n_, *generator_);
}

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, Generator* generator)
    : indices_(std::move(indices)), generator_(generator) {}

std::vector<int64_t> SubsetRandomSampler::indices() {
  const std::vector<int64_t> p = randperm(size(), generator_ ? *generator_ : default_generator());
  std::vector<int64_t> out(p.size());
  for (size_t k = 0; k < p.size(); ++k) out[k] = indices_[static_cast<size_t>(p[k])];
  return out;
}

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options, std::shared_ptr<Sampler> sampler)
    : dataset_(std::move(dataset)), options_(options), sampler_(std::move(sampler)) {
  CTORCH_CHECK(dataset_ != nullptr, "DataLoader: dataset is null");
  CTORCH_CHECK(options_.batch_size > 0, "DataLoader: batch_size should be a positive integer value, but got "
               "batch_size={}", options_.batch_size);
  if (sampler_) {
    CTORCH_CHECK(!options_.shuffle, "DataLoader: sampler option is mutually exclusive with shuffle");
  } else if (options_.shuffle) {
    sampler_ = std::make_shared<RandomSampler>(dataset_->size(), options_.generator);
  } else {
    sampler_ = std::make_shared<SequentialSampler>(dataset_->size());
  }
}

int64_t DataLoader::size() const {
  const int64_t n = sampler_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::Iterator DataLoader::begin() {
  Iterator it;
  it.base_seed_ = draw_int64(options_.generator ? *options_.generator : default_generator());
  auto order = sampler_->indices();
  const int64_t n = dataset_->size();
  for (int64_t i : order)
    CTORCH_CHECK(i >= 0 && i < n, "DataLoader: the sampler gave index {}, out of range for a dataset of size {}", i, n);
  it.order_ = std::make_shared<const std::vector<int64_t>>(std::move(order));
  it.dataset_ = dataset_;
  it.sampler_ = sampler_;
  it.batch_size_ = options_.batch_size;
  it.drop_last_ = options_.drop_last;
  it.fetch();
  return it;
}

void DataLoader::Iterator::fetch() {
  const size_t left = order_->size() - pos_;
  const size_t b = static_cast<size_t>(batch_size_);
  // torch's BatchSampler asks its sampler for one index past the last one when fewer than a batch
  // are left: before a short last batch, or to find that there is none.
  if (left < b && !exhausted_) {
    exhausted_ = true;
    sampler_->exhausted();
  }
  done_ = left == 0 || (drop_last_ && left < b);
  if (done_) {
    batch_ = {};
    return;
  }
  const size_t take = std::min(left, b);
  batch_ = dataset_->get_batch(std::span<const int64_t>(order_->data() + pos_, take));
  pos_ += take;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  CTORCH_CHECK(!done_, "DataLoader::Iterator: incremented past the end of the epoch");
  fetch();
  return *this;
}

}  // namespace ctorch::data
