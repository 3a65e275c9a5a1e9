// PyTorch's tutorial "What is torch.nn really?" (Jeremy Howard, fast.ai) in C++, on FashionMNIST:
// logistic regression written from scratch with tensors, then refactored step by step into
// nn::functional, nn::Module, nn::Linear, optim, Dataset, DataLoader and a validation loop with
// fit() / get_data(); then the tutorial's CNN (three strided Conv2d + avg_pool2d), trained with SGD
// and momentum, as a Module, as an nn::Sequential with Lambda layers, and with a wrapped DataLoader
// and AdaptiveAvgPool2d.
//
// The data are split as the tutorial's MNIST pickle is: the first 50000 training images for
// training, the last 10000 for validation, each flattened to 784 floats in [0, 1]. Every step starts
// with manual_seed(0), as its PyTorch original examples/reference/nn_really.py does, so each step
// can run alone and both draw the same initial weights and the same shuffles. Not in the tutorial:
// the CNN steps end with their accuracy on the validation set and on the 10000 test images; the
// tutorial's last section (moving to a GPU) is left out.
//
//   ./build/nn_really                      every step (about 30 s on one core)
//   ./build/nn_really --step scratch,cnn   some steps       ./build/nn_really --help
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/sgd.hpp>
#include <fmt/core.h>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli.hpp"

using namespace ctorch;
namespace F = ctorch::nn::functional;

namespace {

const std::vector<std::pair<std::string, std::string>> kSteps = {
    {"data", "MNIST data setup (FashionMNIST)"},
    {"scratch", "Neural net from scratch (no torch.nn), then torch.nn.functional"},
    {"module", "Refactor using nn.Module"},
    {"linear", "Refactor using nn.Linear"},
    {"optim", "Refactor using torch.optim"},
    {"dataset", "Refactor using Dataset"},
    {"dataloader", "Refactor using DataLoader"},
    {"validation", "Add validation"},
    {"fit", "Create fit() and get_data()"},
    {"cnn", "Switch to CNN"},
    {"sequential", "Using nn.Sequential"},
    {"wrapped", "Wrapping DataLoader"},
};

int64_t bs = 64;   // batch size
double lr = 0.5;   // learning rate
int epochs = 2;    // how many epochs to train for (--epochs)

Tensor x_train, y_train, x_valid, y_valid, x_test, y_test;
int64_t n = 0;

// print(t.shape)
std::string size_str(const Tensor& t) { return "torch.Size(" + shape_str(t.sizes()) + ")"; }

// ---- MNIST data setup, on FashionMNIST ----
void load_data(const std::string& root) {
  data::FashionMNIST train(root, /*train=*/true), test(root, /*train=*/false);
  Tensor x_all = train.data().view({-1, 28 * 28}), y_all = train.targets();
  x_train = x_all.narrow(0, 0, 50000), y_train = y_all.narrow(0, 0, 50000);
  x_valid = x_all.narrow(0, 50000, 10000), y_valid = y_all.narrow(0, 50000, 10000);
  x_test = test.data().view({-1, 28 * 28}), y_test = test.targets();
  n = x_train.size(0);
}

void step_data() {
  fmt::print("{} {}\n", x_train, y_train);
  fmt::print("{}\n", size_str(x_train));
  fmt::print("{} {}\n", y_train.min(), y_train.max());
}

// ---- Neural net from scratch (without nn) ----
Tensor log_softmax(const Tensor& x) { return x - x.exp().sum(-1).log().unsqueeze(-1); }

// -input[range(target.shape[0]), target].mean(): the log-probability of each row's target, as a gather
Tensor nll(const Tensor& input, const Tensor& target) { return -input.gather(1, target.unsqueeze(1)).mean(); }

Tensor accuracy(const Tensor& out, const Tensor& yb) {
  Tensor preds = out.argmax(1);
  return (preds == yb).to(kFloat32).mean();
}

void step_scratch() {
  manual_seed(0);
  Tensor weights = randn({784, 10}) / std::sqrt(784.0);
  weights.requires_grad_();
  Tensor bias = zeros({10}, TensorOptions().requires_grad());

  std::function<Tensor(const Tensor&)> model = [&](const Tensor& xb) { return log_softmax(xb.matmul(weights) + bias); };

  Tensor xb = x_train.slice(0, 0, bs);  // a mini-batch from x
  Tensor preds = model(xb);             // predictions
  fmt::print("{} {}\n", preds[0], size_str(preds));

  std::function<Tensor(const Tensor&, const Tensor&)> loss_func = nll;
  Tensor yb = y_train.slice(0, 0, bs);
  fmt::print("{}\n", loss_func(preds, yb));
  fmt::print("{}\n", accuracy(preds, yb));

  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int64_t i = 0; i < (n - 1) / bs + 1; ++i) {
      int64_t start_i = i * bs;
      int64_t end_i = start_i + bs;
      xb = x_train.slice(0, start_i, end_i);
      yb = y_train.slice(0, start_i, end_i);
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      {
        NoGradGuard no_grad;
        weights -= weights.grad() * lr;
        bias -= bias.grad() * lr;
        weights.grad().zero_();
        bias.grad().zero_();
      }
    }
  }
  fmt::print("{} {}\n", loss_func(model(xb), yb), accuracy(model(xb), yb));

  // ---- Using torch.nn.functional: the same weights, F::cross_entropy, no log_softmax ----
  loss_func = [](const Tensor& input, const Tensor& target) { return F::cross_entropy(input, target); };
  model = [&](const Tensor& xb) { return xb.matmul(weights) + bias; };
  fmt::print("{} {}\n", loss_func(model(xb), yb), accuracy(model(xb), yb));
}

// ---- Refactor using nn.Module ----
using LossFunc = std::function<Tensor(const Tensor&, const Tensor&)>;
const LossFunc loss_func = [](const Tensor& input, const Tensor& target) { return F::cross_entropy(input, target); };

// The tutorial's xb, yb: still the last mini-batch of the training loop above.
std::pair<Tensor, Tensor> last_batch() {
  int64_t start = ((n - 1) / bs) * bs;
  return {x_train.slice(0, start), y_train.slice(0, start)};
}

struct Mnist_LogisticImpl : nn::Module {
  Tensor weights, bias;
  Mnist_LogisticImpl() {
    weights = register_parameter("weights", randn({784, 10}) / std::sqrt(784.0));
    bias = register_parameter("bias", zeros({10}));
  }
  Tensor forward(const Tensor& xb) override { return xb.matmul(weights) + bias; }
};
CTORCH_MODULE(Mnist_Logistic);

// The tutorial's first fit(): the loop above, updating every tensor of model.parameters().
void fit_by_hand(nn::Module& model) {
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int64_t i = 0; i < (n - 1) / bs + 1; ++i) {
      int64_t start_i = i * bs;
      int64_t end_i = start_i + bs;
      Tensor xb = x_train.slice(0, start_i, end_i);
      Tensor yb = y_train.slice(0, start_i, end_i);
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      {
        NoGradGuard no_grad;
        for (Tensor p : model.parameters()) p -= p.grad() * lr;
        model.zero_grad();
      }
    }
  }
}

void step_module() {
  manual_seed(0);
  auto [xb, yb] = last_batch();
  Mnist_Logistic model;
  fmt::print("{}\n", loss_func(model(xb), yb));
  fit_by_hand(*model);
  fmt::print("{}\n", loss_func(model(xb), yb));
}

// ---- Refactor using nn.Linear (the tutorial redefines Mnist_Logistic) ----
struct Mnist_Logistic_LinearImpl : nn::Module {
  nn::Linear lin{784, 10};
  Mnist_Logistic_LinearImpl() { register_module("lin", lin); }
  Tensor forward(const Tensor& xb) override { return lin(xb); }
};
CTORCH_MODULE(Mnist_Logistic_Linear);

void step_linear() {
  manual_seed(0);
  auto [xb, yb] = last_batch();
  Mnist_Logistic_Linear model;
  fmt::print("{}\n", loss_func(model(xb), yb));
  fit_by_hand(*model);
  fmt::print("{}\n", loss_func(model(xb), yb));
}

// ---- Refactor using optim ----
std::tuple<Mnist_Logistic_Linear, std::unique_ptr<optim::SGD>> get_model() {
  Mnist_Logistic_Linear model;
  return {model, std::make_unique<optim::SGD>(model->parameters(), optim::SGDOptions{.lr = lr})};
}

void step_optim() {
  manual_seed(0);
  auto [xb, yb] = last_batch();
  auto [model, opt] = get_model();
  fmt::print("{}\n", loss_func(model(xb), yb));

  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int64_t i = 0; i < (n - 1) / bs + 1; ++i) {
      int64_t start_i = i * bs;
      int64_t end_i = start_i + bs;
      xb = x_train.slice(0, start_i, end_i);
      yb = y_train.slice(0, start_i, end_i);
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      opt->step();
      opt->zero_grad();
    }
  }

  fmt::print("{}\n", loss_func(model(xb), yb));
}

// ---- Refactor using Dataset ----
// train_ds[start:end]: the examples start, ..., end - 1 (clipped to the dataset), stacked.
data::Example slice(const data::Dataset& ds, int64_t start, int64_t end) {
  std::vector<int64_t> indices(std::max<int64_t>(0, std::min(end, ds.size()) - start));
  std::iota(indices.begin(), indices.end(), start);
  return ds.get_batch(indices);
}

void step_dataset() {
  manual_seed(0);
  auto train_ds = std::make_shared<data::TensorDataset>(x_train, y_train);
  auto [model, opt] = get_model();

  Tensor xb, yb;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int64_t i = 0; i < (n - 1) / bs + 1; ++i) {
      data::Example batch = slice(*train_ds, i * bs, i * bs + bs);  // xb, yb = train_ds[i * bs: i * bs + bs]
      xb = batch.data, yb = batch.target;
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      opt->step();
      opt->zero_grad();
    }
  }

  fmt::print("{}\n", loss_func(model(xb), yb));
}

// ---- Refactor using DataLoader ----
void step_dataloader() {
  manual_seed(0);
  auto train_ds = std::make_shared<data::TensorDataset>(x_train, y_train);
  data::DataLoader train_dl(train_ds, {.batch_size = bs});
  auto [model, opt] = get_model();

  Tensor xb, yb;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (const auto& batch : train_dl) {
      xb = batch.data, yb = batch.target;
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      opt->step();
      opt->zero_grad();
    }
  }

  fmt::print("{}\n", loss_func(model(xb), yb));
}

// ---- Add validation ----
void step_validation() {
  manual_seed(0);
  auto train_ds = std::make_shared<data::TensorDataset>(x_train, y_train);
  data::DataLoader train_dl(train_ds, {.batch_size = bs, .shuffle = true});

  auto valid_ds = std::make_shared<data::TensorDataset>(x_valid, y_valid);
  data::DataLoader valid_dl(valid_ds, {.batch_size = bs * 2});

  auto [model, opt] = get_model();

  for (int epoch = 0; epoch < epochs; ++epoch) {
    model->train();
    for (auto [xb, yb] : train_dl) {
      Tensor pred = model(xb);
      Tensor loss = loss_func(pred, yb);

      loss.backward();
      opt->step();
      opt->zero_grad();
    }

    model->eval();
    Tensor valid_loss = zeros({});  // sum(...) starts from 0
    {
      NoGradGuard no_grad;
      for (auto [xb, yb] : valid_dl) valid_loss = valid_loss + loss_func(model(xb), yb);
    }

    fmt::print("{} {}\n", epoch, valid_loss / static_cast<double>(valid_dl.size()));
  }
}

// ---- Create fit() and get_data() ----
std::pair<double, int64_t> loss_batch(nn::Module& model, const LossFunc& loss_func, const Tensor& xb, const Tensor& yb,
                                      optim::Optimizer* opt = nullptr) {
  Tensor loss = loss_func(model(xb), yb);

  if (opt != nullptr) {
    loss.backward();
    opt->step();
    opt->zero_grad();
  }

  return {loss.item(), xb.size(0)};
}

// Any loader: data::DataLoader or WrappedDataLoader below.
template <class TrainDL, class ValidDL>
void fit(int epochs, nn::Module& model, const LossFunc& loss_func, optim::Optimizer& opt, TrainDL& train_dl,
         ValidDL& valid_dl) {
  for (int epoch = 0; epoch < epochs; ++epoch) {
    model.train();
    for (auto [xb, yb] : train_dl) loss_batch(model, loss_func, xb, yb, &opt);

    model.eval();
    double loss_sum = 0, count = 0;  // np.sum(np.multiply(losses, nums)) / np.sum(nums)
    {
      NoGradGuard no_grad;
      for (auto [xb, yb] : valid_dl) {
        auto [loss, num] = loss_batch(model, loss_func, xb, yb);
        loss_sum += loss * static_cast<double>(num);
        count += static_cast<double>(num);
      }
    }
    double val_loss = loss_sum / count;

    fmt::print("{} {}\n", epoch, val_loss);
  }
}

std::pair<data::DataLoader, data::DataLoader> get_data(std::shared_ptr<data::Dataset> train_ds,
                                                       std::shared_ptr<data::Dataset> valid_ds, int64_t bs) {
  return {data::DataLoader(std::move(train_ds), {.batch_size = bs, .shuffle = true}),
          data::DataLoader(std::move(valid_ds), {.batch_size = bs * 2})};
}

std::pair<std::shared_ptr<data::Dataset>, std::shared_ptr<data::Dataset>> datasets() {
  return {std::make_shared<data::TensorDataset>(x_train, y_train), std::make_shared<data::TensorDataset>(x_valid, y_valid)};
}

void step_fit() {
  manual_seed(0);
  auto [train_ds, valid_ds] = datasets();
  auto [train_dl, valid_dl] = get_data(train_ds, valid_ds, bs);
  auto [model, opt] = get_model();
  fit(epochs, *model, loss_func, *opt, train_dl, valid_dl);
}

// ---- Switch to CNN ----
struct Mnist_CNNImpl : nn::Module {
  nn::Conv2d conv1{1, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1};
  nn::Conv2d conv2{16, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1};
  nn::Conv2d conv3{16, 10, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1};
  Mnist_CNNImpl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv3", conv3);
  }
  Tensor forward(const Tensor& input) override {
    Tensor xb = input.view({-1, 1, 28, 28});
    xb = F::relu(conv1(xb));
    xb = F::relu(conv2(xb));
    xb = F::relu(conv3(xb));
    xb = F::avg_pool2d(xb, 4);
    return xb.view({-1, xb.size(1)});
  }
};
CTORCH_MODULE(Mnist_CNN);

const double cnn_lr = 0.1;  // the tutorial's `lr = 0.1` for the CNNs
std::vector<std::pair<std::string, double>> test_accuracies;

data::DataLoader test_loader() {
  return data::DataLoader(std::make_shared<data::TensorDataset>(x_test, y_test), {.batch_size = bs * 2});
}

// Not in the tutorial: the CNN's accuracy on the validation set and on the test set.
template <class ValidDL, class TestDL>
void report_accuracy(const std::string& name, nn::Module& model, ValidDL& valid_dl, TestDL&& test_dl) {
  model.eval();
  NoGradGuard no_grad;
  auto accuracy_on = [&](auto& dl) {
    int64_t correct = 0, total = 0;
    for (auto [xb, yb] : dl) {
      correct += (model(xb).argmax(1) == yb).sum().template item<int64_t>();
      total += yb.size(0);
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(total);
  };
  double valid = accuracy_on(valid_dl), test = accuracy_on(test_dl);
  test_accuracies.emplace_back(name, test);
  fmt::print("Accuracy: validation {:.2f}%, test {:.2f}%\n", valid, test);
}

void step_cnn() {
  manual_seed(0);
  auto [train_ds, valid_ds] = datasets();
  auto [train_dl, valid_dl] = get_data(train_ds, valid_ds, bs);
  Mnist_CNN model;
  optim::SGD opt(model->parameters(), {.lr = cnn_lr, .momentum = 0.9});

  fit(epochs, *model, loss_func, opt, train_dl, valid_dl);
  report_accuracy("cnn", *model, valid_dl, test_loader());
}

// ---- Using nn.Sequential ----
// The tutorial's Lambda layer: a module whose forward is a given function.
struct LambdaImpl : nn::Module {
  explicit LambdaImpl(std::function<Tensor(const Tensor&)> func) : func(std::move(func)) {}
  Tensor forward(const Tensor& x) override { return func(x); }
  std::function<Tensor(const Tensor&)> func;
};
CTORCH_MODULE(Lambda);

Tensor preprocess(const Tensor& x) { return x.view({-1, 1, 28, 28}); }

void step_sequential() {
  manual_seed(0);
  auto [train_ds, valid_ds] = datasets();
  auto [train_dl, valid_dl] = get_data(train_ds, valid_ds, bs);
  nn::Sequential model{
      Lambda(preprocess),
      nn::Conv2d(1, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::Conv2d(16, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::Conv2d(16, 10, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::AvgPool2d(4),
      Lambda([](const Tensor& x) { return x.view({x.size(0), -1}); }),
  };

  optim::SGD opt(model->parameters(), {.lr = cnn_lr, .momentum = 0.9});

  fit(epochs, *model, loss_func, opt, train_dl, valid_dl);
  report_accuracy("sequential", *model, valid_dl, test_loader());
}

// ---- Wrapping DataLoader ----
data::Example preprocess_xy(const data::Example& b) { return {b.data.view({-1, 1, 28, 28}), b.target}; }

// Iterates over a DataLoader and hands out func(batch) instead of each batch.
class WrappedDataLoader {
 public:
  using Func = std::function<data::Example(const data::Example&)>;
  WrappedDataLoader(data::DataLoader dl, Func func) : dl_(std::move(dl)), func_(std::move(func)) {}
  int64_t size() const { return dl_.size(); }

  struct Iterator {
    data::DataLoader::Iterator it;
    const Func* func;
    data::Example operator*() const { return (*func)(*it); }
    Iterator& operator++() {
      ++it;
      return *this;
    }
    bool operator==(std::default_sentinel_t s) const { return it == s; }
  };
  Iterator begin() { return {dl_.begin(), &func_}; }
  std::default_sentinel_t end() const { return {}; }

 private:
  data::DataLoader dl_;
  Func func_;
};

void step_wrapped() {
  manual_seed(0);
  auto [train_ds, valid_ds] = datasets();
  auto [train_dl0, valid_dl0] = get_data(train_ds, valid_ds, bs);
  WrappedDataLoader train_dl(train_dl0, preprocess_xy);
  WrappedDataLoader valid_dl(valid_dl0, preprocess_xy);

  nn::Sequential model{
      nn::Conv2d(1, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::Conv2d(16, 16, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::Conv2d(16, 10, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1),
      nn::ReLU(),
      nn::AdaptiveAvgPool2d(1),
      Lambda([](const Tensor& x) { return x.view({x.size(0), -1}); }),
  };

  optim::SGD opt(model->parameters(), {.lr = cnn_lr, .momentum = 0.9});

  fit(epochs, *model, loss_func, opt, train_dl, valid_dl);
  report_accuracy("wrapped", *model, valid_dl, WrappedDataLoader(test_loader(), preprocess_xy));
}

// ---- command line ----
const char* kUsage = R"(usage: nn_really [options]
  --step NAME[,NAME...]  run only these steps, in the tutorial's order (default: all):
                         data, scratch, module, linear, optim, dataset, dataloader, validation,
                         fit, cnn, sequential, wrapped
  --epochs N             epochs of every training step (default 2, as the tutorial)
  --threads N            threads (default: the number of cores)
  --data DIR             FashionMNIST IDX files (default $CTORCH_DATA or /usr/share/datasets/fashion-mnist)
  --help                 this text
Prints what the tutorial prints; each step's time goes to stderr.
)";

const cli::Program kProgram{"nn_really", kUsage};

struct Args {
  std::vector<std::string> steps;
  int threads = 0;
  std::string data = data::FashionMNIST::default_root();
};

Args parse_args(int argc, char** argv) {
  Args a;
  kProgram.for_each_option(argc, argv, [&](const std::string& f, const std::string& v) {
    if (f == "--epochs") epochs = kProgram.number<int>(f, v, 1, 100);
    else if (f == "--threads") a.threads = kProgram.number<int>(f, v, 1, 256);
    else if (f == "--data") a.data = v;
    else if (f == "--step") {
      std::stringstream list(v);
      std::string name;
      while (std::getline(list, name, ',')) {
        if (name == "all") continue;
        bool known = std::any_of(kSteps.begin(), kSteps.end(), [&](const auto& s) { return s.first == name; });
        if (!known) kProgram.die("unknown step '" + name + "' for --step");
        a.steps.push_back(name);
      }
    } else kProgram.die("unknown option " + f);
  });
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  const std::map<std::string, void (*)()> run = {
      {"data", step_data},       {"scratch", step_scratch}, {"module", step_module},
      {"linear", step_linear},   {"optim", step_optim},     {"dataset", step_dataset},
      {"dataloader", step_dataloader}, {"validation", step_validation}, {"fit", step_fit},
      {"cnn", step_cnn},         {"sequential", step_sequential}, {"wrapped", step_wrapped},
  };
  try {
    if (args.threads > 0) set_num_threads(args.threads);
    load_data(args.data);
    for (const auto& [name, title] : kSteps) {
      if (!args.steps.empty() && std::find(args.steps.begin(), args.steps.end(), name) == args.steps.end()) continue;
      fmt::print("== {}: {} ==\n", name, title);
      std::fflush(stdout);
      auto start = std::chrono::steady_clock::now();
      run.at(name)();
      std::fflush(stdout);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print(stderr, "[{}: {:.1f} s]\n", name, secs);
    }
    for (const auto& [name, acc] : test_accuracies) fmt::print("Test accuracy of the CNN ({}): {:.2f}%\n", name, acc);
  } catch (const ctorch::Error& e) {
    std::fprintf(stderr, "nn_really: %s\n", e.what());
    return 1;
  }
  return 0;
}
