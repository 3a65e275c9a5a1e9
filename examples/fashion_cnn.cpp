// A small CNN on FashionMNIST, past 90% test accuracy in a few epochs: two conv + pool blocks and a
// dense layer (the next step after examples/nn_really.cpp's tutorial CNN):
//   Conv2d(1, 32, 3, padding=1) -> ReLU -> MaxPool2d(2)      [N, 32, 14, 14]
//   Conv2d(32, 64, 3, padding=1) -> ReLU -> MaxPool2d(2)     [N, 64, 7, 7]
//   Flatten -> Linear(3136, 128) -> ReLU -> Linear(128, 10)
// trained on the 60000 training images with CrossEntropyLoss and SGD with momentum 0.9 (or Adam),
// batch 64, shuffled, and evaluated on the 10000 test images after every epoch. Its PyTorch twin is
// examples/reference/fashion_cnn.py: with the same --seed both start from the same weights and see
// the batches in the same order.
//
//   ./build/fashion_cnn                                   5 epochs of SGD(lr 0.05, momentum 0.9)
//   OPENBLAS_NUM_THREADS=1 ./build/fashion_cnn --threads 1 --optimizer adam --lr 1e-3
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>
#include <ctorch/optim/sgd.hpp>
#include <fmt/core.h>
#include <memory>
#include <string>
#include <type_traits>

#include "cli.hpp"

using namespace ctorch;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  int epochs = 5;
  int64_t batch_size = 64;
  double lr = 0.05;
  bool lr_given = false;
  std::string optimizer = "sgd";
  int threads = 0;  // 0: OpenBLAS's default
  uint64_t seed = 0;
  std::string data = data::FashionMNIST::default_root();
};

const char* kUsage = R"(usage: fashion_cnn [options]
  --epochs N          training epochs (default 5)
  --batch-size N      mini-batch size (default 64)
  --optimizer NAME    sgd (momentum 0.9) or adam (default sgd)
  --lr X              learning rate (default 0.05 for sgd, 1e-3 for adam)
  --threads N         threads (default: the number of cores)
  --seed N            manual_seed for weights and shuffling (default 0)
  --data DIR          FashionMNIST IDX files (default $CTORCH_DATA or /usr/share/datasets/fashion-mnist)
  --help              this text
)";

const cli::Program kProgram{"fashion_cnn", kUsage};

Args parse_args(int argc, char** argv) {
  Args a;
  kProgram.for_each_option(argc, argv, [&](const std::string& f, const std::string& v) {
    if (f == "--epochs") a.epochs = kProgram.number<int>(f, v, 1, 1000);
    else if (f == "--batch-size") a.batch_size = kProgram.number<int64_t>(f, v, 1, 60000);
    else if (f == "--lr") a.lr = kProgram.number<double>(f, v, 1e-12, 10.0), a.lr_given = true;
    else if (f == "--optimizer") {
      if (v != "sgd" && v != "adam") kProgram.die("bad value '" + v + "' for --optimizer (expected sgd or adam)");
      a.optimizer = v;
    } else if (f == "--threads") a.threads = kProgram.number<int>(f, v, 1, 256);
    else if (f == "--seed") a.seed = kProgram.number<uint64_t>(f, v, 0, uint64_t{1} << 53);
    else if (f == "--data") a.data = v;
    else kProgram.die("unknown option " + f);
  });
  if (!a.lr_given && a.optimizer == "adam") a.lr = 1e-3;
  return a;
}

// One pass over the training data; returns the mean training loss.
double train(data::DataLoader& loader, nn::Module& model, nn::CrossEntropyLoss& loss_fn, optim::Optimizer& optimizer) {
  model.train();
  double loss_sum = 0;
  int64_t seen = 0;
  for (auto [X, y] : loader) {
    Tensor loss = loss_fn(model(X), y);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    loss_sum += loss.item() * static_cast<double>(X.size(0));
    seen += X.size(0);
  }
  return loss_sum / static_cast<double>(seen);
}

// Mean loss per batch (as the Quickstart's test loop) and accuracy in percent.
std::pair<double, double> test(data::DataLoader& loader, nn::Module& model, nn::CrossEntropyLoss& loss_fn) {
  model.eval();
  NoGradGuard no_grad;
  double loss = 0;
  int64_t correct = 0;
  for (auto [X, y] : loader) {
    Tensor pred = model(X);
    loss += loss_fn(pred, y).item();
    correct += (pred.argmax(1) == y).sum().item<int64_t>();
  }
  return {loss / static_cast<double>(loader.size()),
          100.0 * static_cast<double>(correct) / static_cast<double>(loader.dataset()->size())};
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  try {
    if (args.threads > 0) set_num_threads(args.threads);
    manual_seed(args.seed);
    auto training_data = std::make_shared<data::FashionMNIST>(args.data, /*train=*/true);
    auto test_data = std::make_shared<data::FashionMNIST>(args.data, /*train=*/false);
    data::DataLoader train_loader(training_data, {.batch_size = args.batch_size, .shuffle = true});
    data::DataLoader test_loader(test_data, {.batch_size = 1000});

    nn::Sequential model{
        nn::Conv2d(1, 32, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1),
        nn::ReLU(),
        nn::MaxPool2d(2),
        nn::Conv2d(32, 64, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1),
        nn::ReLU(),
        nn::MaxPool2d(2),
        nn::Flatten(),
        nn::Linear(64 * 7 * 7, 128),
        nn::ReLU(),
        nn::Linear(128, 10),
    };
    fmt::print("{}\n", model->repr());

    nn::CrossEntropyLoss loss_fn;
    std::unique_ptr<optim::Optimizer> optimizer;
    if (args.optimizer == "sgd")
      optimizer = std::make_unique<optim::SGD>(model->parameters(), optim::SGDOptions{.lr = args.lr, .momentum = 0.9});
    else optimizer = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions{.lr = args.lr});
    fmt::print("{}, lr {}, batch {}, {} epochs, {} BLAS threads\n",
               args.optimizer == "sgd" ? "SGD momentum 0.9" : "Adam", args.lr, args.batch_size, args.epochs,
               get_num_threads());

    double total_secs = 0, accuracy = 0;
    for (int epoch = 1; epoch <= args.epochs; ++epoch) {
      auto start = Clock::now();
      double train_loss = train(train_loader, *model, loss_fn, *optimizer);
      double secs = std::chrono::duration<double>(Clock::now() - start).count();
      total_secs += secs;
      auto [test_loss, acc] = test(test_loader, *model, loss_fn);
      accuracy = acc;
      fmt::print("Epoch {}/{}: train loss {:.6f}, test loss {:.6f}, test accuracy {:.2f}% ({:.1f} s)\n", epoch,
                 args.epochs, train_loss, test_loss, acc, secs);
      std::fflush(stdout);
    }
    fmt::print("Test accuracy: {:.2f}% after {} epochs; {:.1f} s per training epoch\n", accuracy, args.epochs,
               total_secs / args.epochs);
  } catch (const ctorch::Error& e) {
    std::fprintf(stderr, "fashion_cnn: %s\n", e.what());
    return 1;
  }
  return 0;
}
