// A small classifier on scikit-learn's handwritten digits, in the style of PyTorch's Quickstart
// tutorial. The data set is the 1797 8x8 images (pixel values 0..16) that Debian's python3-sklearn
// ships as sklearn/datasets/data/digits.csv.gz: 64 pixel columns and the label, no header. The
// pixels are scaled to [0, 1], split 80/20 by a seeded randperm, and an MLP 64 -> 64 -> ReLU -> 10
// is trained with CrossEntropyLoss and Adam (lr 1e-3, batch 32, shuffled) for 30 epochs. The
// PyTorch original (examples/reference/digits_classifier.py) reads the same file with gzip + numpy;
// with the same seed both get the same split, initial weights and batch order.
//
// Run: ./build/digits_classifier [path/to/digits.csv.gz]
// PyTorch: /usr/bin/python3 examples/reference/digits_classifier.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>

#include <fmt/core.h>

#include <memory>
#include <string>

using namespace ctorch;

int main(int argc, char** argv) {
  std::string digits = argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

  manual_seed(0);

  // The data: [1797, 65] float64, pixels then label.
  Tensor table = data::read_csv(digits, {.header = false}).values;
  Tensor X = (table.slice(1, 0, 64) / 16).to(kFloat32);  // pixels 0..16 -> [0, 1]
  Tensor y = table.select(1, 64).to(kInt64);

  // A seeded 80/20 train/test split.
  Tensor perm = randperm(X.size(0));
  int64_t n_train = static_cast<int64_t>(0.8 * static_cast<double>(X.size(0)));
  Tensor train_idx = perm.slice(0, {}, n_train), test_idx = perm.slice(0, n_train);
  auto training_data = std::make_shared<data::TensorDataset>(X.index_select(0, train_idx), y.index_select(0, train_idx));
  Tensor X_test = X.index_select(0, test_idx), y_test = y.index_select(0, test_idx);
  fmt::print("{} images: {} for training, {} for testing\n", X.size(0), train_idx.size(0), test_idx.size(0));

  nn::Sequential model{
      nn::Linear(64, 64),
      nn::ReLU(),
      nn::Linear(64, 10),
  };
  nn::CrossEntropyLoss loss_fn;
  optim::Adam optimizer(model->parameters(), {.lr = 1e-3});
  data::DataLoader train_dataloader(training_data, {.batch_size = 32, .shuffle = true});

  auto test = [&] {
    model->eval();
    int64_t correct = no_grad([&] { return (model(X_test).argmax(1) == y_test).sum().item<int64_t>(); });
    model->train();
    return correct;
  };

  int epochs = 30;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double total_loss = 0;
    for (auto [xb, yb] : train_dataloader) {
      Tensor pred = model(xb);
      Tensor loss = loss_fn(pred, yb);

      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      total_loss += loss.item() * static_cast<double>(xb.size(0));
    }
    if ((epoch + 1) % 5 == 0)
      fmt::print("Epoch {}/{}: train loss {:.4f}, test accuracy {:.1f}%\n", epoch + 1, epochs,
                 total_loss / static_cast<double>(n_train),
                 100.0 * static_cast<double>(test()) / static_cast<double>(y_test.size(0)));
  }

  int64_t correct = test();
  fmt::print("Test accuracy: {:.2f}% ({}/{})\n", 100.0 * static_cast<double>(correct) / static_cast<double>(y_test.size(0)),
             correct, y_test.size(0));
}
