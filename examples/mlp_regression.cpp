// Batch, stochastic and mini-batch gradient descent side by side, ported line by line from the
// PyTorch code of the article "从零开始大模型开发与微调：梯度下降算法" (large models from scratch:
// gradient descent), section 5.1: Net = Linear(10, 5) -> relu -> Linear(5, 1), MSELoss, SGD lr 0.01,
// and the three variants of section 3.3 -- batch gradient descent (BGD, the whole data set per
// step), stochastic gradient descent (SGD, one shuffled sample per step) and mini-batch gradient
// descent (MBGD, 32 shuffled samples per step). The article leaves `trainloader` undefined; here it
// is a DataLoader over 1000 random samples of a fixed random linear map plus noise. Every variant
// starts from the same initial weights (manual_seed(1) before each Net), and the shuffled orders
// are PyTorch's own, so each line matches the PyTorch original.
//
// Run: ./build/mlp_regression            PyTorch: /usr/bin/python3 examples/reference/mlp_regression.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/sgd.hpp>

#include <fmt/core.h>

#include <memory>
#include <string>
#include <tuple>

using namespace ctorch;

// 定义模型: the model
struct NetImpl : nn::Module {
  nn::Linear fc1{10, 5}, fc2{5, 1};
  NetImpl() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& input) override {
    Tensor x = relu(fc1(input));
    x = fc2(x);
    return x;
  }
};
CTORCH_MODULE(Net);

int main() {
  // The data: y = X w + 0.1 noise, 1000 samples of 10 features.
  manual_seed(0);
  Tensor X = randn({1000, 10});
  Tensor true_w = randn({10, 1});
  Tensor Y = X.matmul(true_w) + 0.1 * randn({1000, 1});
  auto dataset = std::make_shared<data::TensorDataset>(X, Y);

  int num_epochs = 5;

  auto train = [&](const std::string& name, int64_t batch_size, bool shuffle) {
    manual_seed(1);  // the same initial weights for every variant
    Net model;
    nn::MSELoss criterion;
    optim::SGD optimizer(model->parameters(), {.lr = 0.01});
    data::DataLoader trainloader(dataset, {.batch_size = batch_size, .shuffle = shuffle});

    fmt::print("{} (batch size {}, {} steps per epoch)\n", name, batch_size, trainloader.size());
    int64_t steps = 0;
    double full_loss = 0;
    for (int epoch = 0; epoch < num_epochs; ++epoch) {
      // 迭代训练数据: one pass over the training data
      for (auto [inputs, labels] : trainloader) {    // 获取输入和标签: inputs and labels
        optimizer.zero_grad();                       // 梯度清零: zero the gradients
        Tensor outputs = model(inputs);              // 前向传播: forward
        Tensor loss = criterion(outputs, labels);    // 计算损失: loss
        loss.backward();                             // 反向传播: backward
        optimizer.step();                            // 更新参数: update
        ++steps;
      }
      full_loss = no_grad([&] { return criterion(model(X), Y).item(); });  // the loss on the whole data set
      fmt::print("  epoch {}: loss {:.6f}\n", epoch + 1, full_loss);
    }
    return std::tuple{full_loss, steps};
  };

  auto [bgd_loss, bgd_steps] = train("Batch gradient descent", dataset->size(), false);
  auto [sgd_loss, sgd_steps] = train("Stochastic gradient descent", 1, true);
  auto [mbgd_loss, mbgd_steps] = train("Mini-batch gradient descent", 32, true);
  fmt::print("After {} epochs:\n", num_epochs);
  fmt::print("Batch GD: loss {:.6f} after {} updates\n", bgd_loss, bgd_steps);
  fmt::print("Stochastic GD: loss {:.6f} after {} updates\n", sgd_loss, sgd_steps);
  fmt::print("Mini-batch GD: loss {:.6f} after {} updates\n", mbgd_loss, mbgd_steps);
}
