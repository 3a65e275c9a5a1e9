// PyTorch's Quickstart tutorial with libtorch, the C++ frontend: the libtorch twin of
// examples/quickstart.cpp and bench/quickstart.py. Pure libtorch + zlib: the FashionMNIST IDX
// files are read here, with gzread.
//
// Same recipe: Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU -> Linear(512, 10),
// CrossEntropyLoss, SGD lr 1e-3 (or Adam), batch 64, shuffled each epoch the way
// torch.utils.data.DataLoader's RandomSampler does (so with the same --seed the batches come in
// the same order as in bench/quickstart.py), same prints and the same Summary line.
//
//   quickstart_libtorch [--epochs 5] [--batch-size 64] [--lr 1e-3] [--optimizer sgd|adam]
//                       [--threads 1] [--seed 0] [--data DIR]
// --threads sets torch's intra-op threads; OpenBLAS's come from OPENBLAS_NUM_THREADS.
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

// ---- FashionMNIST from its gzipped IDX files ----
std::vector<unsigned char> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> out;
  unsigned char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot read " + path);
  return out;
}

// An IDX file of unsigned bytes as a uint8 tensor of its dims.
torch::Tensor read_idx(const std::string& path) {
  std::vector<unsigned char> raw = read_gz(path);
  if (raw.size() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08) throw std::runtime_error(path + ": not a uint8 IDX file");
  int ndim = raw[3];
  std::vector<int64_t> dims;
  int64_t numel = 1;
  for (int i = 0; i < ndim; ++i) {
    const unsigned char* p = raw.data() + 4 + 4 * i;
    dims.push_back((int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
    numel *= dims.back();
  }
  size_t offset = 4 + 4 * static_cast<size_t>(ndim);
  if (raw.size() != offset + static_cast<size_t>(numel)) throw std::runtime_error(path + ": truncated");
  return torch::from_blob(raw.data() + offset, dims, torch::kUInt8).clone();
}

struct Dataset {
  torch::Tensor images, labels;  // [N, 1, 28, 28] float32 in [0, 1] (ToTensor()), [N] int64
  int64_t size() const { return labels.size(0); }
};

Dataset fashion_mnist(const std::string& root, bool train) {
  std::string prefix = root + "/" + (train ? "train" : "t10k");
  torch::Tensor images = read_idx(prefix + "-images-idx3-ubyte.gz");
  torch::Tensor labels = read_idx(prefix + "-labels-idx1-ubyte.gz");
  return {images.to(torch::kFloat32).div_(255.0).unsqueeze(1), labels.to(torch::kInt64)};
}

// DataLoader(dataset, batch_size, shuffle): batches of index_select'ed rows. With shuffle, each
// epoch draws like torch 1.13's: a base seed (for workers, unused), then RandomSampler's seed for a
// fresh generator, then randperm(n) from it.
std::vector<torch::Tensor> batch_indices(int64_t n, int64_t batch_size, bool shuffle) {
  torch::Tensor order;
  if (shuffle) {
    (void)torch::empty({}, torch::kInt64).random_().item<int64_t>();
    int64_t seed = torch::empty({}, torch::kInt64).random_().item<int64_t>();
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
    order = torch::randperm(n, gen, torch::kInt64);
  } else {
    order = torch::arange(n, torch::kInt64);
  }
  return order.split(batch_size);
}

// optimizer.zero_grad(set_to_none=True), as ctorch's default and bench/quickstart.py do: libtorch
// 1.13's zero_grad() only zeroes in place; this is what libtorch 2.x's zero_grad(true) does.
void zero_grad_to_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

// ---- the model, as the tutorial writes it ----
struct NeuralNetworkImpl : torch::nn::Module {
  torch::nn::Flatten flatten;
  torch::nn::Sequential linear_relu_stack;
  NeuralNetworkImpl() {
    // push_back one by one: the layers draw their initial weights in the tutorial's order.
    linear_relu_stack->push_back(torch::nn::Linear(28 * 28, 512));
    linear_relu_stack->push_back(torch::nn::ReLU());
    linear_relu_stack->push_back(torch::nn::Linear(512, 512));
    linear_relu_stack->push_back(torch::nn::ReLU());
    linear_relu_stack->push_back(torch::nn::Linear(512, 10));
    register_module("flatten", flatten);
    register_module("linear_relu_stack", linear_relu_stack);
  }
  torch::Tensor forward(const torch::Tensor& x) { return linear_relu_stack->forward(flatten(x)); }
};
TORCH_MODULE(NeuralNetwork);

double peak_rss_mb() {  // VmHWM: the most memory this process has held
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void train(const Dataset& data, int64_t batch_size, NeuralNetwork& model, torch::nn::CrossEntropyLoss& loss_fn,
           torch::optim::Optimizer& optimizer) {
  int64_t size = data.size();
  model->train();
  int64_t batch = 0;
  for (const torch::Tensor& idx : batch_indices(size, batch_size, true)) {
    torch::Tensor X = data.images.index_select(0, idx), y = data.labels.index_select(0, idx);
    torch::Tensor pred = model(X);
    torch::Tensor loss = loss_fn(pred, y);
    loss.backward();
    optimizer.step();
    zero_grad_to_none(optimizer);
    if (batch % 100 == 0)
      std::printf("loss: %7f  [%5lld/%5lld]\n", loss.item<double>(), static_cast<long long>((batch + 1) * X.size(0)),
                  static_cast<long long>(size));
    ++batch;
  }
}

void test(const Dataset& data, int64_t batch_size, NeuralNetwork& model, torch::nn::CrossEntropyLoss& loss_fn) {
  int64_t size = data.size();
  model->eval();
  double test_loss = 0, correct = 0;
  int64_t num_batches = 0;
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& idx : batch_indices(size, batch_size, false)) {
    torch::Tensor X = data.images.index_select(0, idx), y = data.labels.index_select(0, idx);
    torch::Tensor pred = model(X);
    test_loss += loss_fn(pred, y).item<double>();
    correct += (pred.argmax(1) == y).to(torch::kFloat32).sum().item<double>();
    ++num_batches;
  }
  test_loss /= static_cast<double>(num_batches);
  correct /= static_cast<double>(size);
  std::printf("Test Error: \n Accuracy: %0.1f%%, Avg loss: %8f \n\n", 100 * correct, test_loss);
}

int main(int argc, char** argv) {
  int epochs = 5, threads = 1;
  int64_t batch_size = 64;
  double lr = 1e-3;
  uint64_t seed = 0;
  std::string optimizer_name = "sgd";
  const char* env_data = std::getenv("CTORCH_DATA");
  std::string root = env_data && *env_data ? env_data : "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h" || i + 1 >= argc) {
      std::fprintf(stderr, "usage: quickstart_libtorch [--epochs N] [--batch-size N] [--lr X] [--optimizer sgd|adam] "
                           "[--threads N] [--seed N] [--data DIR]\n");
      return f == "--help" || f == "-h" ? 0 : 2;
    }
    std::string v = argv[++i];
    if (f == "--epochs") epochs = std::stoi(v);
    else if (f == "--batch-size") batch_size = std::stoll(v);
    else if (f == "--lr") lr = std::stod(v);
    else if (f == "--optimizer") optimizer_name = v;
    else if (f == "--threads") threads = std::stoi(v);
    else if (f == "--seed") seed = std::stoull(v);
    else if (f == "--data") root = v;
    else {
      std::fprintf(stderr, "quickstart_libtorch: unknown option %s\n", f.c_str());
      return 2;
    }
  }
  try {
    torch::set_num_threads(threads);
    torch::manual_seed(seed);
    Dataset training_data = fashion_mnist(root, true), test_data = fashion_mnist(root, false);
    NeuralNetwork model;
    std::cout << *model << "\n";
    torch::nn::CrossEntropyLoss loss_fn;
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (optimizer_name == "adam") optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(lr));
    else optimizer = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(lr));
    std::vector<double> secs;
    for (int t = 0; t < epochs; ++t) {
      std::printf("Epoch %d\n-------------------------------\n", t + 1);
      auto start = Clock::now();
      train(training_data, batch_size, model, loss_fn, *optimizer);
      secs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      test(test_data, batch_size, model, loss_fn);
      std::fflush(stdout);
    }
    std::printf("Done!\n");
    if (!secs.empty()) {
      double total = 0;
      for (double s : secs) total += s;
      double per_epoch = total / static_cast<double>(secs.size());
      std::printf("Summary: %d epochs, %.2f s per training epoch, %.0f samples/s, peak memory %.0f MB, %d torch threads\n",
                  epochs, per_epoch, static_cast<double>(training_data.size()) / per_epoch, peak_rss_mb(),
                  torch::get_num_threads());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart_libtorch: %s\n", e.what());
    return 1;
  }
  return 0;
}
