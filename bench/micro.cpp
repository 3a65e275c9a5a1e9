// Micro-benchmarks of single ctorch ops with Google Benchmark (libbenchmark-dev): where the time of
// a training step goes, op by op, at the Quickstart's sizes (784-512-512-10, batch 64) and at tiny
// ones. bench/micro_torch.py times the same cases, under the same names, in PyTorch; bench/micro.sh
// runs both and prints the table (see bench/README.md, "Micro-benchmarks").
//
//   OPENBLAS_CORETYPE=SkylakeX build-micro/bench/bench_micro --benchmark_min_time=0.05
//   bench_micro --threads=2 ...        ctorch's threads (default 1; or CTORCH_MICRO_THREADS=2)
//
// Every case times one call (or one forward + backward, one optimizer step) on inputs made once,
// outside the loop. Memory-bound ops report bytes_per_second (the bytes the op must read and
// write: 3 x 4 bytes per element for a + b), the products and the optimizers items_per_second
// (multiply-adds, parameters). The sgemm_* cases call cblas_sgemm on preallocated buffers with the
// shapes, transposes and beta ctorch's op uses: the floor its op shares with PyTorch.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>
#include <ctorch/optim/sgd.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace ctorch;
namespace F = ctorch::nn::functional;

namespace {

using benchmark::DoNotOptimize;
using benchmark::State;

constexpr int64_t kB = 64, kIn = 784, kH = 512, kC = 10;  // the Quickstart's batch and widths

void reg(const std::string& name, std::function<void(State&)> fn) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](State& s) { fn(s); })->UseRealTime();
}

// Bytes moved per iteration: `per_elem` floats (reads + writes) per element of an n-element op.
void set_bytes(State& s, int64_t n, int per_elem) {
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * n * per_elem * static_cast<int64_t>(sizeof(float)));
}

// ---- raw cblas_sgemm on preallocated buffers (row-major, as ctorch calls it) ----
struct Gemm {
  CBLAS_TRANSPOSE ta, tb;
  int M, N, K;
  float beta;
};

// A float buffer 64-byte aligned, as ctorch's allocator aligns tensors (core/storage.cpp).
struct Floats {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  Floats(size_t n, float v) : p(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)), &std::free) {
    std::fill(p.get(), p.get() + n, v);
  }
  float* data() const { return p.get(); }
};

struct GemmBuffers {
  std::vector<Gemm> g;
  std::vector<Floats> a, b, c;
  explicit GemmBuffers(std::vector<Gemm> gemms) : g(std::move(gemms)) {
    for (const Gemm& x : g) {
      a.emplace_back(static_cast<size_t>(x.M) * x.K, 0.01f);
      b.emplace_back(static_cast<size_t>(x.K) * x.N, 0.02f);
      c.emplace_back(static_cast<size_t>(x.M) * x.N, 0.0f);
    }
  }
  void run() {
    for (size_t i = 0; i < g.size(); ++i) {
      const Gemm& x = g[i];
      int lda = x.ta == CblasNoTrans ? x.K : x.M, ldb = x.tb == CblasNoTrans ? x.N : x.K;
      cblas_sgemm(CblasRowMajor, x.ta, x.tb, x.M, x.N, x.K, 1.0f, a[i].data(), lda, b[i].data(), ldb, x.beta,
                  c[i].data(), x.N);
    }
  }
  int64_t macs() const {
    int64_t m = 0;
    for (const Gemm& x : g) m += int64_t{x.M} * x.N * x.K;
    return m;
  }
};

// The floor: OpenBLAS's own threading with as many threads as ctorch has (1 by default).
void gemm_case(const std::string& name, std::vector<Gemm> gemms) {
  reg(name, [gemms](State& s) {
    GemmBuffers buf(gemms);
    openblas_set_num_threads(get_num_threads());
    for (auto _ : s) {
      buf.run();
      benchmark::ClobberMemory();
    }
    openblas_set_num_threads(1);
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * buf.macs());
  });
}

// The 8 products of one Quickstart step (3 forward, 3 weight grads, 2 input grads), as
// bench_ctorch.cpp's mlp_gemms(64, 784, 512, 10).
std::vector<Gemm> quickstart_gemms() {
  const int B = kB, in = kIn, h = kH, out = kC;
  return {
      {CblasNoTrans, CblasTrans, B, h, in, 1},   {CblasNoTrans, CblasTrans, B, h, h, 1},
      {CblasNoTrans, CblasTrans, B, out, h, 1},  {CblasTrans, CblasNoTrans, out, h, B, 0},
      {CblasNoTrans, CblasNoTrans, B, h, out, 0}, {CblasTrans, CblasNoTrans, h, h, B, 0},
      {CblasNoTrans, CblasNoTrans, B, h, h, 0},  {CblasTrans, CblasNoTrans, h, in, B, 0},
  };
}

nn::Sequential quickstart_model() {
  return nn::Sequential{nn::Linear(kIn, kH), nn::ReLU(), nn::Linear(kH, kH), nn::ReLU(), nn::Linear(kH, kC)};
}

int64_t count_params(const std::vector<Tensor>& ps) {
  int64_t n = 0;
  for (const Tensor& p : ps) n += p.numel();
  return n;
}

// Elementwise op on [64, 512]: contiguous, and on transposed views of [512, 64] tensors.
void elementwise_cases() {
  const int64_t n = kB * kH;
  struct Op {
    const char* name;
    int floats;  // per element: reads + writes
    Tensor (*f)(const Tensor&, const Tensor&);
  };
  const Op ops[] = {
      {"add", 3, [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"mul", 3, [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"relu", 2, [](const Tensor& a, const Tensor&) { return relu(a); }},
  };
  for (const Op& op : ops) {
    auto f = op.f;
    int floats = op.floats;
    reg(std::string(op.name) + "_64x512", [f, floats, n](State& s) {
      manual_seed(0);
      Tensor a = randn({kB, kH}), b = randn({kB, kH});
      for (auto _ : s) DoNotOptimize(f(a, b));
      set_bytes(s, n, floats);
    });
    reg(std::string(op.name) + "_64x512_t", [f, floats, n](State& s) {
      manual_seed(0);
      Tensor a = randn({kH, kB}).t(), b = randn({kH, kB}).t();  // [64, 512], strides (1, 64)
      for (auto _ : s) DoNotOptimize(f(a, b));
      set_bytes(s, n, floats);
    });
  }
  // One contiguous operand and one transposed (x + w.t()): the layouts disagree.
  reg("add_64x512_mixed", [n](State& s) {
    manual_seed(0);
    Tensor a = randn({kB, kH}), b = randn({kH, kB}).t();
    for (auto _ : s) DoNotOptimize(a + b);
    set_bytes(s, n, 3);
  });
}

void register_cases() {
  const int64_t n = kB * kH;

  // ---- creation ----
  reg("empty_64x512", [](State& s) {
    for (auto _ : s) DoNotOptimize(empty({kB, kH}));
  });
  reg("zeros_64x512", [n](State& s) {
    for (auto _ : s) DoNotOptimize(zeros({kB, kH}));
    set_bytes(s, n, 1);
  });

  elementwise_cases();

  // relu's backward alone: the graph is kept (retain_graph) and run again; x.grad is dropped so
  // that each backward stores a fresh gradient rather than accumulating.
  reg("relu_backward_64x512", [n](State& s) {
    manual_seed(0);
    Tensor x = randn({kB, kH}).requires_grad_(), g = randn({kB, kH});
    Tensor y = relu(x);
    for (auto _ : s) {
      y.backward(g, /*retain_graph=*/true);
      x.set_grad(Tensor());
    }
    set_bytes(s, n, 3);  // reads g and x (or its mask), writes dx
  });

  // ---- reductions ----
  reg("sum0_64x512", [n](State& s) {
    manual_seed(0);
    Tensor a = randn({kB, kH});
    for (auto _ : s) DoNotOptimize(a.sum(0));
    set_bytes(s, n, 1);
  });
  reg("sum_64x512", [n](State& s) {
    manual_seed(0);
    Tensor a = randn({kB, kH});
    for (auto _ : s) DoNotOptimize(a.sum());
    set_bytes(s, n, 1);
  });
  reg("softmax_64x10", [](State& s) {
    manual_seed(0);
    Tensor a = randn({kB, kC});
    for (auto _ : s) DoNotOptimize(softmax(a, 1));
    set_bytes(s, kB * kC, 2);
  });
  reg("softmax_64x512", [n](State& s) {
    manual_seed(0);
    Tensor a = randn({kB, kH});
    for (auto _ : s) DoNotOptimize(softmax(a, 1));
    set_bytes(s, n, 2);
  });

  // ---- products ----
  reg("matmul_64x784x512", [](State& s) {
    manual_seed(0);
    Tensor x = randn({kB, kIn}), w = randn({kIn, kH});
    for (auto _ : s) DoNotOptimize(matmul(x, w));
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * kB * kIn * kH);
  });
  gemm_case("sgemm_64x784x512", {{CblasNoTrans, CblasNoTrans, int{kB}, int{kH}, int{kIn}, 0}});
  reg("linear_64x784x512", [](State& s) {
    manual_seed(0);
    Tensor x = randn({kB, kIn}), w = randn({kH, kIn}), b = randn({kH});
    for (auto _ : s) DoNotOptimize(linear(x, w, b));
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * kB * kIn * kH);
  });
  gemm_case("sgemm_linear_64x784x512", {{CblasNoTrans, CblasTrans, int{kB}, int{kH}, int{kIn}, 1}});
  reg("matmul_100x1x1", [](State& s) {
    manual_seed(0);
    Tensor x = randn({100, 1}), w = randn({1, 1});
    for (auto _ : s) DoNotOptimize(matmul(x, w));
  });
  gemm_case("sgemm_100x1x1", {{CblasNoTrans, CblasNoTrans, 100, 1, 1, 0}});
  reg("linear_100x1x1", [](State& s) {
    manual_seed(0);
    Tensor x = randn({100, 1}), w = randn({1, 1}), b = randn({1});
    for (auto _ : s) DoNotOptimize(linear(x, w, b));
  });

  // A whole nn::Linear(784, 512) forward + backward, the input needing a grad too (a hidden layer):
  // 3 products (y = x W^T + b, dx = g W, dW = g^T x) plus the bias copy and its grad's column sum.
  reg("linear_fb_64x784x512", [](State& s) {
    manual_seed(0);
    nn::Linear fc(kIn, kH);
    Tensor x = randn({kB, kIn}).requires_grad_(), g = randn({kB, kH});
    for (auto _ : s) {
      fc(x).backward(g);
      fc->zero_grad();
      x.set_grad(Tensor());
    }
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * 3 * kB * kIn * kH);
  });
  gemm_case("sgemm3_linear_fb_64x784x512", {{CblasNoTrans, CblasTrans, int{kB}, int{kH}, int{kIn}, 1},
                                            {CblasNoTrans, CblasNoTrans, int{kB}, int{kIn}, int{kH}, 0},
                                            {CblasTrans, CblasNoTrans, int{kH}, int{kIn}, int{kB}, 0}});

  // ---- losses ----
  reg("cross_entropy_64x10", [](State& s) {
    manual_seed(0);
    Tensor logits = randn({kB, kC}), y = randint(0, kC, {kB});
    for (auto _ : s) DoNotOptimize(F::cross_entropy(logits, y));
  });
  reg("cross_entropy_fb_64x10", [](State& s) {
    manual_seed(0);
    Tensor logits = randn({kB, kC}).requires_grad_(), y = randint(0, kC, {kB});
    for (auto _ : s) {
      F::cross_entropy(logits, y).backward();
      logits.set_grad(Tensor());
    }
  });
  reg("mse_loss_100x1", [](State& s) {
    manual_seed(0);
    Tensor p = randn({100, 1}), y = randn({100, 1});
    for (auto _ : s) DoNotOptimize(F::mse_loss(p, y));
  });
  reg("mse_loss_fb_100x1", [](State& s) {
    manual_seed(0);
    Tensor p = randn({100, 1}).requires_grad_(), y = randn({100, 1});
    for (auto _ : s) {
      F::mse_loss(p, y).backward();
      p.set_grad(Tensor());
    }
  });

  // ---- optimizers over the Quickstart model's 669,706 parameters, grads fixed ----
  // SGD lr 1e-3 (no momentum): reads w and g, writes w: 3 floats per parameter.
  reg("sgd_step_670k", [](State& s) {
    manual_seed(0);
    nn::Sequential model = quickstart_model();
    std::vector<Tensor> ps = model->parameters();
    for (Tensor& p : ps) p.set_grad(randn(p.sizes()) * 1e-3);
    optim::SGD opt(ps, optim::SGDOptions{.lr = 1e-3});
    for (auto _ : s) opt.step();
    int64_t np = count_params(ps);
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * np);
    set_bytes(s, np, 3);
  });
  // Adam lr 1e-3: reads w, g, m, v and writes w, m, v: 7 floats per parameter.
  reg("adam_step_670k", [](State& s) {
    manual_seed(0);
    nn::Sequential model = quickstart_model();
    std::vector<Tensor> ps = model->parameters();
    for (Tensor& p : ps) p.set_grad(randn(p.sizes()) * 1e-3);
    optim::Adam opt(ps, optim::AdamOptions{.lr = 1e-3});
    for (auto _ : s) opt.step();
    int64_t np = count_params(ps);
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * np);
    set_bytes(s, np, 7);
  });

  // ---- autograd bookkeeping: a 16-element add, so that the kernel is negligible ----
  // plain: no input requires grad; nograd: they do, under NoGradGuard; grad: a node is recorded
  // (and freed with the output). grad - nograd = the cost of recording one graph node.
  reg("add_16_plain", [](State& s) {
    Tensor a = ones({16}), b = ones({16});
    for (auto _ : s) DoNotOptimize(a + b);
  });
  reg("add_16_nograd", [](State& s) {
    Tensor a = ones({16}).requires_grad_(), b = ones({16}).requires_grad_();
    NoGradGuard guard;
    for (auto _ : s) DoNotOptimize(a + b);
  });
  reg("add_16_grad", [](State& s) {
    Tensor a = ones({16}).requires_grad_(), b = ones({16}).requires_grad_();
    for (auto _ : s) DoNotOptimize(a + b);
  });
  // backward() of a 5-node graph (the regression tutorial's loss, ((x w + b - y)^2).mean() on 100
  // samples), kept with retain_graph and run again; the two leaf grads are dropped each time.
  reg("backward_tiny_graph", [](State& s) {
    manual_seed(0);
    Tensor x = randn({100, 1}), y = x * 2.0 + 1.0;
    Tensor w = randn({1}).requires_grad_(), b = randn({1}).requires_grad_();
    Tensor loss = (x * w + b - y).pow(2).mean();
    for (auto _ : s) {
      loss.backward({}, /*retain_graph=*/true);
      w.set_grad(Tensor());
      b.set_grad(Tensor());
    }
  });

  // ---- the whole Quickstart step, for scale: forward, loss, zero_grad, backward, SGD step ----
  reg("quickstart_step", [](State& s) {
    manual_seed(0);
    Tensor x = rand({kB, kIn}), y = randint(0, kC, {kB});
    nn::Sequential model = quickstart_model();
    nn::CrossEntropyLoss loss_fn;
    optim::SGD opt(model->parameters(), optim::SGDOptions{.lr = 1e-3});
    for (auto _ : s) {
      Tensor loss = loss_fn(model(x), y);
      opt.zero_grad(/*set_to_none=*/true);
      loss.backward();
      opt.step();
    }
  });
  gemm_case("sgemm8_quickstart_step", quickstart_gemms());
}

// --threads=N (removed from argv before Google Benchmark sees it), else CTORCH_MICRO_THREADS, else 1.
int take_threads(int& argc, char** argv) {
  int threads = 1;
  if (const char* env = std::getenv("CTORCH_MICRO_THREADS")) threads = std::atoi(env);
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) threads = std::atoi(argv[i] + 10);
    else argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  return threads < 1 ? 1 : threads;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = take_threads(argc, argv);
  set_num_threads(threads);  // also switches OpenBLAS off its Prescott fallback (unless OPENBLAS_CORETYPE is set)
  benchmark::AddCustomContext("ctorch_threads", std::to_string(threads));
  benchmark::AddCustomContext("openblas_corename", openblas_get_corename());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  register_cases();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
