// Linear regression with MSELoss and SGD, ported line by line from the PyTorch code of the article
// "从零开始大模型开发与微调：对目标的逼近—模型的损失函数与优化函数" (large models from scratch:
// loss functions and optimizers), section 5: fit y = 2x + 1 + noise with one nn::Linear(1, 1).
//
// Run: ./build/linear_regression         PyTorch: /usr/bin/python3 examples/reference/linear_regression.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/sgd.hpp>

#include <fmt/core.h>

using namespace ctorch;

// 定义模型: the model
struct LinearRegressionImpl : nn::Module {
  nn::Linear fc{1, 1};
  LinearRegressionImpl() { register_module("fc", fc); }
  Tensor forward(const Tensor& x) override { return fc(x); }
};
CTORCH_MODULE(LinearRegression);

int main() {
  manual_seed(0);  // torch.manual_seed(0): the same x, noise and initial weights as the PyTorch script

  // 准备数据: the data
  Tensor x = randn({100, 1});                          // 输入特征: input feature
  Tensor y = 2 * x + 1 + randn({100, 1}) * 0.1;        // 真实标签: targets, y = 2x + 1 + noise

  LinearRegression model;

  // 定义损失函数和优化器: loss and optimizer
  nn::MSELoss criterion;                                        // MSE Loss
  optim::SGD optimizer(model->parameters(), {.lr = 0.01});      // SGD优化器

  // 训练模型: training
  int num_epochs = 100;
  for (int epoch = 0; epoch < num_epochs; ++epoch) {
    // 前向传播: forward
    Tensor outputs = model(x);
    Tensor loss = criterion(outputs, y);

    // 反向传播和优化: backward and step
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();

    if ((epoch + 1) % 10 == 0) fmt::print("Epoch [{}/{}], Loss: {:.4f}\n", epoch + 1, num_epochs, loss.item());
  }

  // 测试模型: prediction (with torch.no_grad():)
  {
    NoGradGuard no_grad;
    Tensor test_x = tensor({{2.0}});
    Tensor pred_y = model(test_x);
    fmt::print("Input: {:.1f}, Predicted output: {:.2f}\n", test_x.item(), pred_y.item());
  }
}
