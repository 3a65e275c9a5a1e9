#pragma once
// Random numbers bit-exact with PyTorch 1.13's CPU generator (at::CPUGeneratorImpl): a user who
// ports a script line by line and calls manual_seed(42) gets the very same numbers as torch.
// The engine is the standard 32-bit Mersenne Twister (at::mt19937 == std::mt19937 seeded with the
// low 32 bits of the seed); the random_fill functions mirror torch's CPU kernels for a contiguous
// tensor of n elements, including the fused multiply-adds of torch's AVX2 build.
// Not thread-safe: torch locks a mutex per fill, here one generator belongs to one thread.
#include <cstdint>
#include <optional>
#include <random>

namespace ctorch {

class Generator {  // mirrors at::CPUGeneratorImpl
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL);  // c10::default_rng_seed_val
  void manual_seed(uint64_t seed);  // like set_current_seed: also drops the cached normal samples
  uint64_t initial_seed() const { return seed_; }
  uint32_t random() { return static_cast<uint32_t>(engine_()); }  // CPUGeneratorImpl::random()
  uint64_t random64();  // two draws, first one in the high half: CPUGeneratorImpl::random64()

  // Box-Muller makes two samples; torch's scalar normal path keeps the second one here
  // (next_double_normal_sample_). The float cache exists in torch's state but the CPU normal_
  // kernels never use it; both are cleared by manual_seed.
  std::optional<double> next_double_normal_sample;
  std::optional<float> next_float_normal_sample;

 private:
  uint64_t seed_;
  std::mt19937 engine_;
};

Generator& default_generator();  // the one global generator (torch.default_generator)
void manual_seed(uint64_t seed);  // torch.manual_seed: seeds default_generator()

// Fill a contiguous buffer exactly like torch fills a contiguous tensor of n elements.
namespace random_fill {
void uniform(float* data, int64_t n, double from, double to, Generator& g);  // torch.rand / uniform_
void uniform(double* data, int64_t n, double from, double to, Generator& g);
void normal(float* data, int64_t n, double mean, double std, Generator& g);  // torch.randn / normal_
void normal(double* data, int64_t n, double mean, double std, Generator& g);
void randint(int64_t* data, int64_t n, int64_t low, int64_t high, Generator& g);  // torch.randint
void randint(float* data, int64_t n, int64_t low, int64_t high, Generator& g);    // ... dtype=float32
void randperm(int64_t* data, int64_t n, Generator& g);                            // torch.randperm(n)
void bernoulli(float* data, int64_t n, double p, Generator& g);  // Tensor.bernoulli_(p), as in dropout
}  // namespace random_fill

}  // namespace ctorch
