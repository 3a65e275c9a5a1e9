// ctorch's side of the benchmark suite: the same cases, shapes and recipes as bench_torch.py and
// bench_libtorch.cpp (see bench/README.md). One binary; `--case NAME` times one case and prints a
// JSON line, `--serve` is what bench/run.py drives. --threads N sets OpenBLAS's threads
// (ctorch::set_num_threads); ctorch's own loops are single-threaded.
#include <cblas.h>

#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>
#include <ctorch/optim/sgd.hpp>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

using namespace ctorch;

namespace {

// A model, its loss, its optimizer and one fixed batch; step() is one training step in the
// tutorial's order: forward, loss, zero_grad, backward, step. zero_grad drops the grads
// (set_to_none = true) in all three implementations: explicit, because the libraries' defaults
// differ (torch 1.13 zeroes in place, ctorch and torch 2.x drop).
struct Trainer {
  nn::Sequential model;
  std::unique_ptr<nn::Loss> loss_fn;
  std::unique_ptr<optim::Optimizer> opt;
  Tensor x, y;
  void step() {
    Tensor loss = (*loss_fn)(model(x), y);
    opt->zero_grad(/*set_to_none=*/true);
    loss.backward();
    opt->step();
  }
  double initial_loss() {
    NoGradGuard g;
    return (*loss_fn)(model(x), y).item();
  }
};

bench::Prepared prepare(std::shared_ptr<Trainer> t) {
  double check = t->initial_loss();
  return {[t] { t->step(); }, check};
}

// The data and the model are drawn in the same order as in bench_torch.py, after manual_seed(0).
bench::Prepared tiny() {
  manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = randn({100, 1});
  t->y = t->x * 2.0 + 1.0;
  t->model = nn::Sequential{nn::Linear(1, 1)};
  t->loss_fn = std::make_unique<nn::MSELoss>();
  t->opt = std::make_unique<optim::SGD>(t->model->parameters(), optim::SGDOptions{.lr = 0.01});
  return prepare(t);
}

bench::Prepared mlp(bool adam) {
  manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = randn({32, 10});
  t->y = randn({32, 1});
  t->model = nn::Sequential{nn::Linear(10, 5), nn::ReLU(), nn::Linear(5, 1)};
  t->loss_fn = std::make_unique<nn::MSELoss>();
  if (adam) t->opt = std::make_unique<optim::Adam>(t->model->parameters(), optim::AdamOptions{.lr = 1e-3});
  else t->opt = std::make_unique<optim::SGD>(t->model->parameters(), optim::SGDOptions{.lr = 0.01});
  return prepare(t);
}

// One step of the Quickstart's training loop on a fixed batch: 784-512-512-10, batch 64,
// CrossEntropyLoss, SGD lr 1e-3 (the epoch cases add data loading and 938 of these).
bench::Prepared quickstart_step() {
  manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = rand({64, 784});
  t->y = randint(0, 10, {64});
  t->model = nn::Sequential{nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(), nn::Linear(512, 10)};
  t->loss_fn = std::make_unique<nn::CrossEntropyLoss>();
  t->opt = std::make_unique<optim::SGD>(t->model->parameters(), optim::SGDOptions{.lr = 1e-3});
  return prepare(t);
}

bench::Prepared large() {
  manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = randn({256, 784});
  t->y = randint(0, 10, {256});
  t->model = nn::Sequential{nn::Linear(784, 2048), nn::ReLU(), nn::Linear(2048, 2048), nn::ReLU(), nn::Linear(2048, 10)};
  t->loss_fn = std::make_unique<nn::CrossEntropyLoss>();
  t->opt = std::make_unique<optim::SGD>(t->model->parameters(), optim::SGDOptions{.lr = 0.01});
  return prepare(t);
}

// The matrix products of a step, alone ("large_gemm", "quickstart_step_gemm"): the 8 sgemm calls
// ctorch makes for it (listed with an LD_PRELOAD shim on cblas_sgemm; torch makes the same 8,
// column-major), with the same shapes, transposes, leading dimensions and beta, on preallocated
// buffers (mlp_gemms below). Row-major, W_l is [out, in]. beta = 1 in the forward products: the
// bias is copied into the output first (addmm).
struct Gemm {
  CBLAS_TRANSPOSE ta, tb;
  int M, N, K;
  float beta;
};

// ---- the scaling sweep (bench/scaling.sh, run.py --scaling) ----
// "scale_b<B>_w<W>": one training step of Linear(W, W), ReLU, Linear(W, W), ReLU, Linear(W, 10) on
// a batch of B, CrossEntropyLoss, SGD lr 0.01, in the same order as bench_torch.py and
// bench_libtorch.cpp. "scale_gemm_b<B>_w<W>": the 8 cblas_sgemm calls of that step alone (same
// shapes, transposes and beta as ops/linalg.cpp's linear and its backward; the input needs no
// gradient), on preallocated buffers: the GEMM floor the three implementations share.
bench::Prepared scale_step(int batch, int width) {
  manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = randn({batch, width});
  t->y = randint(0, 10, {batch});
  t->model = nn::Sequential{nn::Linear(width, width), nn::ReLU(), nn::Linear(width, width), nn::ReLU(),
                            nn::Linear(width, 10)};
  t->loss_fn = std::make_unique<nn::CrossEntropyLoss>();
  t->opt = std::make_unique<optim::SGD>(t->model->parameters(), optim::SGDOptions{.lr = 0.01});
  return prepare(t);
}

// The sgemm calls of one step of an MLP in -> h -> h -> out on a batch of B (row-major, W_l is
// [out, in]); `large` is mlp_gemms(256, 784, 2048, 10), the Quickstart mlp_gemms(64, 784, 512, 10).
std::vector<Gemm> mlp_gemms(int B, int in, int h, int out) {
  return {
      {CblasNoTrans, CblasTrans, B, h, in, 1},     // forward, layer 1
      {CblasNoTrans, CblasTrans, B, h, h, 1},      // layer 2
      {CblasNoTrans, CblasTrans, B, out, h, 1},    // layer 3
      {CblasTrans, CblasNoTrans, out, h, B, 0},    // dW3 = dy^T h2
      {CblasNoTrans, CblasNoTrans, B, h, out, 0},  // dh2 = dy W3
      {CblasTrans, CblasNoTrans, h, h, B, 0},      // dW2
      {CblasNoTrans, CblasNoTrans, B, h, h, 0},    // dh1
      {CblasTrans, CblasNoTrans, h, in, B, 0},     // dW1 (no dx)
  };
}

bench::Prepared gemms_only(std::vector<Gemm> gemms) {
  struct Buffers {
    std::vector<Gemm> g;
    std::vector<std::vector<float>> a, b, c;
  };
  auto buf = std::make_shared<Buffers>();
  buf->g = std::move(gemms);
  for (const Gemm& g : buf->g) {
    buf->a.emplace_back(static_cast<size_t>(g.M) * g.K, 0.01f);
    buf->b.emplace_back(static_cast<size_t>(g.K) * g.N, 0.02f);
    buf->c.emplace_back(static_cast<size_t>(g.M) * g.N, 0.0f);
  }
  // The floor is OpenBLAS's own threading over the same products (ctorch keeps OpenBLAS at one
  // thread and cuts products itself: core/threads.hpp), with as many threads as ctorch has.
  return {[buf] {
            openblas_set_num_threads(get_num_threads());
            for (size_t i = 0; i < buf->g.size(); ++i) {
              const Gemm& g = buf->g[i];
              int lda = g.ta == CblasNoTrans ? g.K : g.M, ldb = g.tb == CblasNoTrans ? g.N : g.K;
              cblas_sgemm(CblasRowMajor, g.ta, g.tb, g.M, g.N, g.K, 1.0f, buf->a[i].data(), lda, buf->b[i].data(), ldb,
                          g.beta, buf->c[i].data(), g.N);
            }
            openblas_set_num_threads(1);
          },
          std::nan("")};
}

// Parses "<prefix>b<B>_w<W>" exactly; false otherwise.
bool parse_scale(const std::string& name, const std::string& prefix, int& batch, int& width) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  int used = 0;
  if (std::sscanf(name.c_str() + prefix.size(), "b%d_w%d%n", &batch, &width, &used) != 2 ||
      used != static_cast<int>(name.size() - prefix.size()))
    return false;
  if (batch < 1 || width < 1) throw std::invalid_argument("scale: batch and width must be positive: " + name);
  return true;
}

bench::Setup resolve(const std::string& name) {
  int b = 0, w = 0;
  if (parse_scale(name, "scale_gemm_", b, w)) return [b, w] { return gemms_only(mlp_gemms(b, w, w, 10)); };
  if (parse_scale(name, "scale_", b, w)) return [b, w] { return scale_step(b, w); };
  return {};
}

// ---- single ops on fixed inputs ----
bench::Prepared op(const std::string& which) {
  manual_seed(0);
  Tensor a = randn({64, 512}), b = randn({64, 512});
  if (which == "add") return {[a, b] { (void)(a + b); }, (a + b).sum().item()};
  if (which == "relu") return {[a] { (void)relu(a); }, relu(a).sum().item()};
  if (which == "sum0") return {[a] { (void)a.sum(0); }, a.sum(0).sum().item()};
  Tensor x = randn({64, 784}), w = randn({784, 512});
  if (which == "matmul") return {[x, w] { (void)matmul(x, w); }, matmul(x, w).sum().item()};
  // linear forward + backward: y = x W^T + b, y.backward(ones), then the grads are dropped (set to
  // None) so that every iteration does the same work.
  Tensor W = (randn({512, 784}) * 0.05).requires_grad_(), bias = randn({512}).requires_grad_();
  Tensor gy = ones({64, 512});
  double check = no_grad([&] { return linear(x, W, bias).sum().item(); });
  return {[x, W, bias, gy]() mutable {
            linear(x, W, bias).backward(gy);
            W.set_grad(Tensor());
            bias.set_grad(Tensor());
          },
          check};
}

// "transformer_block": one forward + backward of a TransformerEncoderLayer(d_model=256, nhead=4,
// dim_feedforward=1024, dropout=0.0, batch_first=true) on x [32, 64, 256] (batch 32, sequence 64),
// loss = out.pow(2).mean(); the parameters' grads are dropped before each step (no optimizer).
// Drawn as in bench_torch.py and bench_libtorch.cpp after manual_seed(0): x first, then the layer.
// The check is mean(out * x), which depends on every weight (the loss itself is ~1 for any weights:
// the output is layer-normalized).
bench::Prepared transformer_block() {
  manual_seed(0);
  Tensor x = randn({32, 64, 256});
  nn::TransformerEncoderLayer layer(256, 4, 1024, 0.0, "relu", 1e-5, /*batch_first=*/true);
  double check = no_grad([&] { return (layer(x) * x).mean().item(); });
  return {[layer, x] {
            layer->zero_grad();  // set_to_none
            layer(x).pow(2.0).mean().backward();
          },
          check};
}

std::string info() {
  return "{\"impl\": \"ctorch\", \"openblas\": " + bench::json_string(openblas_get_config()) +
         ", \"corename\": " + bench::json_string(openblas_get_corename()) +
         ", \"blas_threads\": " + std::to_string(get_num_threads()) + ", \"blas_kernels\": \"" + blas_kernels() + "\"}";
}

}  // namespace

int main(int argc, char** argv) {
  bench::Registry cases = {
      {"tiny", tiny},
      {"mlp_sgd", [] { return mlp(false); }},
      {"mlp_adam", [] { return mlp(true); }},
      {"quickstart_step", quickstart_step},
      {"large", large},
      {"large_gemm", [] { return gemms_only(mlp_gemms(256, 784, 2048, 10)); }},
      {"quickstart_step_gemm", [] { return gemms_only(mlp_gemms(64, 784, 512, 10)); }},
      {"op_add", [] { return op("add"); }},
      {"op_relu", [] { return op("relu"); }},
      {"op_matmul", [] { return op("matmul"); }},
      {"op_sum0", [] { return op("sum0"); }},
      {"op_linear_fb", [] { return op("linear_fb"); }},
      {"transformer_block", transformer_block},
  };
  try {
    return bench::main(argc, argv, "ctorch", cases, [](int n) { set_num_threads(n); }, info, resolve);
  } catch (const ctorch::Error& e) {
    std::fprintf(stderr, "bench_ctorch: %s\n", e.what());
    return 1;
  }
}
