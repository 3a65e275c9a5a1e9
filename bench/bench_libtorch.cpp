// libtorch's (PyTorch's C++ frontend) side of the benchmark suite: the cases of bench_ctorch.cpp
// and bench_torch.py, written with torch::nn / torch::optim. --threads N sets torch's intra-op
// threads (at::set_num_threads); OpenBLAS's threads come from OPENBLAS_NUM_THREADS, which
// bench/run.py sets (torch's knob does not reach OpenBLAS).
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <memory>

#include "harness.hpp"

namespace {

// optimizer.zero_grad(set_to_none=True): libtorch 1.13's zero_grad() only zeroes in place; this is
// what libtorch 2.x's zero_grad(true) does. ctorch's and PyTorch's steps drop the grads too.
void zero_grad_to_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

struct Trainer {
  torch::nn::Sequential model;
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> loss_fn;
  std::unique_ptr<torch::optim::Optimizer> opt;
  torch::Tensor x, y;
  void step() {
    torch::Tensor loss = loss_fn(model->forward(x), y);
    zero_grad_to_none(*opt);
    loss.backward();
    opt->step();
  }
  double initial_loss() {
    torch::NoGradGuard g;
    return loss_fn(model->forward(x), y).item<double>();
  }
};

bench::Prepared prepare(std::shared_ptr<Trainer> t) {
  double check = t->initial_loss();
  return {[t] { t->step(); }, check};
}

auto mse() {
  return [l = torch::nn::MSELoss()](const torch::Tensor& a, const torch::Tensor& b) mutable { return l(a, b); };
}

bench::Prepared tiny() {
  torch::manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = torch::randn({100, 1});
  t->y = t->x * 2.0 + 1.0;
  t->model = torch::nn::Sequential(torch::nn::Linear(1, 1));
  t->loss_fn = mse();
  t->opt = std::make_unique<torch::optim::SGD>(t->model->parameters(), torch::optim::SGDOptions(0.01));
  return prepare(t);
}

bench::Prepared mlp(bool adam) {
  torch::manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = torch::randn({32, 10});
  t->y = torch::randn({32, 1});
  // Sequential(...) builds its arguments in an unspecified order: build the layers one by one so
  // that they draw their weights in PyTorch's order.
  t->model = torch::nn::Sequential();
  t->model->push_back(torch::nn::Linear(10, 5));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(5, 1));
  t->loss_fn = mse();
  if (adam) t->opt = std::make_unique<torch::optim::Adam>(t->model->parameters(), torch::optim::AdamOptions(1e-3));
  else t->opt = std::make_unique<torch::optim::SGD>(t->model->parameters(), torch::optim::SGDOptions(0.01));
  return prepare(t);
}

bench::Prepared quickstart_step() {
  torch::manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = torch::rand({64, 784});
  t->y = torch::randint(0, 10, {64});
  t->model = torch::nn::Sequential();
  t->model->push_back(torch::nn::Linear(784, 512));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(512, 512));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(512, 10));
  t->loss_fn = [l = torch::nn::CrossEntropyLoss()](const torch::Tensor& a, const torch::Tensor& b) mutable {
    return l(a, b);
  };
  t->opt = std::make_unique<torch::optim::SGD>(t->model->parameters(), torch::optim::SGDOptions(1e-3));
  return prepare(t);
}

bench::Prepared large() {
  torch::manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = torch::randn({256, 784});
  t->y = torch::randint(0, 10, {256});
  t->model = torch::nn::Sequential();
  t->model->push_back(torch::nn::Linear(784, 2048));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(2048, 2048));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(2048, 10));
  t->loss_fn = [l = torch::nn::CrossEntropyLoss()](const torch::Tensor& a, const torch::Tensor& b) mutable {
    return l(a, b);
  };
  t->opt = std::make_unique<torch::optim::SGD>(t->model->parameters(), torch::optim::SGDOptions(0.01));
  return prepare(t);
}

// The scaling sweep's step (run.py --scaling): "scale_b<B>_w<W>", as bench_ctorch.cpp's scale_step.
bench::Prepared scale_step(int batch, int width) {
  torch::manual_seed(0);
  auto t = std::make_shared<Trainer>();
  t->x = torch::randn({batch, width});
  t->y = torch::randint(0, 10, {batch});
  t->model = torch::nn::Sequential();
  t->model->push_back(torch::nn::Linear(width, width));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(width, width));
  t->model->push_back(torch::nn::ReLU());
  t->model->push_back(torch::nn::Linear(width, 10));
  t->loss_fn = [l = torch::nn::CrossEntropyLoss()](const torch::Tensor& a, const torch::Tensor& b) mutable {
    return l(a, b);
  };
  t->opt = std::make_unique<torch::optim::SGD>(t->model->parameters(), torch::optim::SGDOptions(0.01));
  return prepare(t);
}

bench::Setup resolve(const std::string& name) {
  int b = 0, w = 0, used = 0;
  if (std::sscanf(name.c_str(), "scale_b%d_w%d%n", &b, &w, &used) == 2 && used == static_cast<int>(name.size()) &&
      b > 0 && w > 0)
    return [b, w] { return scale_step(b, w); };
  return {};
}

bench::Prepared op(const std::string& which) {
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({64, 512}), b = torch::randn({64, 512});
  if (which == "add") return {[a, b] { (void)(a + b); }, (a + b).sum().item<double>()};
  if (which == "relu") return {[a] { (void)torch::relu(a); }, torch::relu(a).sum().item<double>()};
  if (which == "sum0") return {[a] { (void)a.sum(0); }, a.sum(0).sum().item<double>()};
  torch::Tensor x = torch::randn({64, 784}), w = torch::randn({784, 512});
  if (which == "matmul") return {[x, w] { (void)torch::matmul(x, w); }, torch::matmul(x, w).sum().item<double>()};
  torch::Tensor W = (torch::randn({512, 784}) * 0.05).requires_grad_(), bias = torch::randn({512}).requires_grad_();
  torch::Tensor gy = torch::ones({64, 512});
  double check;
  {
    torch::NoGradGuard g;
    check = torch::linear(x, W, bias).sum().item<double>();
  }
  return {[x, W, bias, gy]() mutable {
            torch::linear(x, W, bias).backward(gy);
            W.mutable_grad() = torch::Tensor();
            bias.mutable_grad() = torch::Tensor();
          },
          check};
}

// "transformer_block", as bench_ctorch.cpp's. libtorch 1.13's TransformerEncoderLayer has no
// batch_first option: it runs on the [64, 32, 256] transposed view of the same x (the loss, a mean
// of squares, does not depend on the layout).
bench::Prepared transformer_block() {
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({32, 64, 256});
  torch::nn::TransformerEncoderLayer layer(
      torch::nn::TransformerEncoderLayerOptions(256, 4).dim_feedforward(1024).dropout(0.0));
  torch::Tensor xs = x.transpose(0, 1);
  double check;
  {
    torch::NoGradGuard g;
    check = (layer(xs) * xs).mean().item<double>();
  }
  return {[layer, xs]() mutable {
            for (auto& p : layer->parameters()) p.mutable_grad().reset();
            layer(xs).pow(2).mean().backward();
          },
          check};
}

std::string info() {
  return std::string("{\"impl\": \"libtorch\", \"version\": \"") + TORCH_VERSION +
         "\", \"intra_op_threads\": " + std::to_string(at::get_num_threads()) + "}";
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(1);  // run.py's settings: torch 1 thread, OpenBLAS per OPENBLAS_NUM_THREADS
  bench::Registry cases = {
      {"tiny", tiny},
      {"mlp_sgd", [] { return mlp(false); }},
      {"mlp_adam", [] { return mlp(true); }},
      {"quickstart_step", quickstart_step},
      {"large", large},
      {"op_add", [] { return op("add"); }},
      {"op_relu", [] { return op("relu"); }},
      {"op_matmul", [] { return op("matmul"); }},
      {"op_sum0", [] { return op("sum0"); }},
      {"op_linear_fb", [] { return op("linear_fb"); }},
      {"transformer_block", transformer_block},
  };
  return bench::main(argc, argv, "libtorch", cases, [](int n) { at::set_num_threads(n); }, info, resolve);
}
