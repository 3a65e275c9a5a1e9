// PyTorch's Quickstart tutorial (Learn the Basics > Quickstart) in C++, on the real
// FashionMNIST data: Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU ->
// Linear(512, 10), CrossEntropyLoss, SGD lr 1e-3, batch 64, 5 epochs, shuffled.
// Its PyTorch twin is bench/quickstart.py; with the same --seed both start from the same weights
// and see the batches in the same order.
//
//   ./build/quickstart                       train, print what the tutorial prints, plot the curve
//   ./build/quickstart --optimizer adam --epochs 3 --save model.safetensors
//   ./build/quickstart --load model.safetensors --epochs 0 --predict 0
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>
#include <ctorch/optim/sgd.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"

using namespace ctorch;
using Clock = std::chrono::steady_clock;

// ---- the model, as the tutorial writes it ----
struct NeuralNetworkImpl : nn::Module {
  nn::Flatten flatten;
  nn::Sequential linear_relu_stack{nn::Linear(28 * 28, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                   nn::Linear(512, 10)};
  NeuralNetworkImpl() {
    register_module("flatten", flatten);
    register_module("linear_relu_stack", linear_relu_stack);
  }
  Tensor forward(const Tensor& x) override { return linear_relu_stack(flatten(x)); }
};
CTORCH_MODULE(NeuralNetwork);

// ---- command line ----
struct Args {
  int epochs = 5;
  int64_t batch_size = 64;
  double lr = 1e-3;
  std::string optimizer = "sgd";
  int threads = 0;  // 0: OpenBLAS's default
  uint64_t seed = 0;
  std::string data = data::FashionMNIST::default_root();
  std::string save, load, curve = "quickstart_curve";
  std::optional<int64_t> predict;
};

const char* kUsage = R"(usage: quickstart [options]
  --epochs N          training epochs (default 5; 0 = evaluate only)
  --batch-size N      mini-batch size (default 64)
  --lr X              learning rate (default 1e-3)
  --optimizer NAME    sgd or adam (default sgd)
  --threads N         threads (default: the number of cores)
  --seed N            manual_seed for weights and shuffling (default 0)
  --data DIR          FashionMNIST IDX files (default $CTORCH_DATA or /usr/share/datasets/fashion-mnist)
  --save FILE         save the trained model (safetensors)
  --load FILE         start from a saved model
  --predict I         print test image I as ASCII art with the predicted class
  --curve PREFIX      write PREFIX.csv and, with gnuplot, PREFIX.png (default quickstart_curve; "" = off)
  --help              this text
)";

const cli::Program kProgram{"quickstart", kUsage};

Args parse_args(int argc, char** argv) {
  Args a;
  kProgram.for_each_option(argc, argv, [&](const std::string& f, const std::string& v) {
    if (f == "--epochs") a.epochs = kProgram.number<int>(f, v, 0, 1000);
    else if (f == "--batch-size") a.batch_size = kProgram.number<int64_t>(f, v, 1, 60000);
    else if (f == "--lr") a.lr = kProgram.number<double>(f, v, 1e-12, 10.0);
    else if (f == "--optimizer") {
      if (v != "sgd" && v != "adam") kProgram.die("bad value '" + v + "' for --optimizer (expected sgd or adam)");
      a.optimizer = v;
    } else if (f == "--threads") a.threads = kProgram.number<int>(f, v, 1, 256);
    else if (f == "--seed") a.seed = kProgram.number<uint64_t>(f, v, 0, uint64_t{1} << 53);
    else if (f == "--data") a.data = v;
    else if (f == "--save") a.save = v;
    else if (f == "--load") a.load = v;
    else if (f == "--curve") a.curve = v;
    else if (f == "--predict") a.predict = kProgram.number<int64_t>(f, v, 0, 9999);
    else kProgram.die("unknown option " + f);
  });
  return a;
}

// ---- progress: a bar on a terminal, the tutorial's plain lines elsewhere ----
class Progress {
 public:
  Progress(int epoch, int epochs, int64_t total) : epoch_(epoch), epochs_(epochs), total_(total), start_(Clock::now()) {}
  void update(int64_t done, double loss) {
    double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    int width = 30, filled = static_cast<int>(width * done / std::max<int64_t>(total_, 1));
    std::string bar = std::string(filled, '=') + (filled < width ? ">" : "") + std::string(std::max(0, width - filled - 1), ' ');
    std::printf("\rEpoch %d/%d [%s] %5lld/%lld  loss %.4f  %6.0f samples/s  ETA %3.0fs ", epoch_, epochs_, bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), loss, rate, eta);
    std::fflush(stdout);
  }
  void finish() { std::printf("\n"); }

 private:
  int epoch_, epochs_;
  int64_t total_;
  Clock::time_point start_;
};

// From /proc/self/status: VmHWM, the most memory this process has held, or VmRSS, what it holds now.
double memory_mb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0;
}

// ---- the tutorial's train and test loops ----
double train(data::DataLoader& loader, NeuralNetwork& model, nn::CrossEntropyLoss& loss_fn, optim::Optimizer& optimizer,
             int epoch, int epochs, bool tty) {
  int64_t size = loader.dataset()->size();
  model->train();
  Progress bar(epoch, epochs, size);
  int64_t batch = 0, seen = 0;
  double loss_sum = 0;
  for (auto [X, y] : loader) {
    Tensor pred = model(X);
    Tensor loss = loss_fn(pred, y);
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    double l = loss.item();
    loss_sum += l * static_cast<double>(X.size(0));
    seen += X.size(0);
    if (tty && (batch % 10 == 0 || seen == size)) bar.update(seen, l);
    if (!tty && batch % 100 == 0) std::printf("loss: %7f  [%5lld/%5lld]\n", l, static_cast<long long>(seen), static_cast<long long>(size));
    ++batch;
  }
  if (tty) bar.finish();
  return loss_sum / static_cast<double>(seen);
}

std::pair<double, double> test(data::DataLoader& loader, NeuralNetwork& model, nn::CrossEntropyLoss& loss_fn) {
  int64_t size = loader.dataset()->size(), num_batches = loader.size();
  model->eval();
  double test_loss = 0, correct = 0;
  NoGradGuard no_grad;
  for (auto [X, y] : loader) {
    Tensor pred = model(X);
    test_loss += loss_fn(pred, y).item();
    correct += (pred.argmax(1) == y).to(kFloat32).sum().item();
  }
  test_loss /= static_cast<double>(num_batches);
  correct /= static_cast<double>(size);
  std::printf("Test Error: \n Accuracy: %0.1f%%, Avg loss: %8f \n\n", 100 * correct, test_loss);
  return {100 * correct, test_loss};
}

void predict(NeuralNetwork& model, const data::FashionMNIST& test_data, int64_t index) {
  auto [x, y] = test_data.get(index);
  model->eval();
  Tensor logits = no_grad([&] { return model(x.unsqueeze(0)); });
  int64_t pred = logits.argmax(1).item<int64_t>();
  std::vector<float> px = x.to_vector<float>();
  const char* shades = " .:-=+*#%@";
  for (int r = 0; r < 28; ++r) {
    std::string line;
    for (int c = 0; c < 28; ++c) line += std::string(2, shades[std::min(9, static_cast<int>(px[r * 28 + c] * 10))]);
    std::printf("%s\n", line.c_str());
  }
  std::printf("Predicted: \"%s\", Actual: \"%s\"\n", data::FashionMNIST::classes[pred].c_str(),
              data::FashionMNIST::classes[y.item<int64_t>()].c_str());
}

void write_curve(const std::string& prefix, const std::vector<std::array<double, 5>>& rows) {
  if (prefix.empty() || rows.empty()) return;
  std::string csv = prefix + ".csv", png = prefix + ".png";
  {
    std::ofstream f(csv);
    f << "epoch,train_loss,test_loss,test_accuracy,rss_mb\n";
    for (auto& r : rows) f << fmt::format("{},{:.6f},{:.6f},{:.2f},{:.1f}\n", r[0], r[1], r[2], r[3], r[4]);
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("Curve: %s (install gnuplot for a PNG)\n", csv.c_str());
    return;
  }
  std::string script = fmt::format(
      "set terminal pngcairo size 800,500; set output '{}'; set datafile separator ','; "
      "set title 'ctorch Quickstart on FashionMNIST'; set xlabel 'epoch'; set xtics 1; set ylabel 'loss'; set y2label 'test accuracy (%)'; "
      "set ytics nomirror; set y2tics; set key center right; "
      "plot '{}' every ::1 using 1:2 with linespoints title 'train loss', '' every ::1 using 1:3 with linespoints title 'test loss', "
      "'' every ::1 using 1:4 axes x1y2 with linespoints title 'test accuracy'",
      png, csv);
  std::string cmd = "gnuplot -e \"" + script + "\" 2>/dev/null";
  if (std::system(cmd.c_str()) == 0) std::printf("Curve: %s and %s\n", csv.c_str(), png.c_str());
  else std::printf("Curve: %s (gnuplot could not write %s)\n", csv.c_str(), png.c_str());
}

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  try {
    if (args.threads > 0) set_num_threads(args.threads);
    manual_seed(args.seed);
    auto training_data = std::make_shared<data::FashionMNIST>(args.data, /*train=*/true);
    auto test_data = std::make_shared<data::FashionMNIST>(args.data, /*train=*/false);
    data::DataLoader train_dataloader(training_data, {.batch_size = args.batch_size, .shuffle = true});
    data::DataLoader test_dataloader(test_data, {.batch_size = args.batch_size});

    NeuralNetwork model;
    if (!args.load.empty()) model->load(args.load);
    std::printf("%s\n", model->repr().c_str());

    nn::CrossEntropyLoss loss_fn;
    std::unique_ptr<optim::Optimizer> optimizer;
    if (args.optimizer == "sgd") optimizer = std::make_unique<optim::SGD>(model->parameters(), optim::SGDOptions{.lr = args.lr});
    else optimizer = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions{.lr = args.lr});

    bool tty = isatty(STDOUT_FILENO);
    std::vector<std::array<double, 5>> curve;  // epoch, train loss, test loss, accuracy, resident MB
    std::vector<double> epoch_secs;
    for (int t = 0; t < args.epochs; ++t) {
      std::printf("Epoch %d\n-------------------------------\n", t + 1);
      auto start = Clock::now();
      double train_loss = train(train_dataloader, model, loss_fn, *optimizer, t + 1, args.epochs, tty);
      epoch_secs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      auto [accuracy, test_loss] = test(test_dataloader, model, loss_fn);
      curve.push_back({static_cast<double>(t + 1), train_loss, test_loss, accuracy, memory_mb("VmRSS")});
      std::fflush(stdout);
    }
    if (args.epochs == 0) test(test_dataloader, model, loss_fn);
    else std::printf("Done!\n");

    if (!epoch_secs.empty()) {
      double total = 0;
      for (double s : epoch_secs) total += s;
      double per_epoch = total / static_cast<double>(epoch_secs.size());
      std::printf("Summary: %d epochs, %.2f s per training epoch, %.0f samples/s, peak memory %.0f MB, %d threads, "
                  "OpenBLAS %s kernels\n",
                  args.epochs, per_epoch, static_cast<double>(training_data->size()) / per_epoch, memory_mb("VmHWM"),
                  get_num_threads(), blas_kernels().c_str());
    }
    write_curve(args.curve, curve);
    if (!args.save.empty()) {
      model->save(args.save);
      std::printf("Saved PyTorch Model State to %s\n", args.save.c_str());
    }
    if (args.predict) {
      CTORCH_CHECK(*args.predict < test_data->size(), "--predict: index {} is out of range for {} test images", *args.predict,
                   test_data->size());
      predict(model, *test_data, *args.predict);
    }
  } catch (const ctorch::Error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
  return 0;
}
