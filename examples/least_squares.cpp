// Least squares two ways: the closed form through LAPACK and gradient descent on the mean squared
// error, for y = 4 + 3x + noise. Ported from the NumPy code of the article
// "从零开始大模型开发与微调：最小二乘法的梯度下降算法及其Python实现" (least squares and gradient
// descent from scratch), with NumPy replaced by tensors and the article's slips corrected:
//   - the gradient of MSE(theta) = 1/N ||X theta - y||^2 is 2/N X^T (X theta - y), a 2x1 vector
//     (the article's -2 (X theta - y) is a 100x1 residual with the wrong sign);
//   - the loss uses pow(2) (NumPy arrays have no .power method);
//   - lr 0.01 for 100 (or 1000) steps stops short of the minimum on this data: the slow direction
//     of 2/N X^T X has eigenvalue ~0.32, so 1000 steps at lr 0.01 leave theta ~0.05 away. lr 0.1
//     (stable below 2/4.27) converges to float precision in 1000 steps.
// The same descent is then run with autograd (theta requires grad), and the hand-written gradient
// is checked against backward at every step.
//
// Run: ./build/least_squares             PyTorch: /usr/bin/python3 examples/reference/least_squares.py
#include <ctorch/ctorch.hpp>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>

using ctorch::Tensor;

int main() {
  ctorch::manual_seed(0);  // np.random.seed(0) -> torch.manual_seed(0): same x and noise as PyTorch

  // 生成线性回归数据: linear-regression data
  Tensor x = 2 * ctorch::rand({100, 1});
  Tensor y = 4 + 3 * x + ctorch::randn({100, 1});
  int64_t N = y.size(0);

  // 设计矩阵: design matrix X = [1, x] (np.hstack)
  Tensor X = ctorch::cat({ctorch::ones({100, 1}), x}, 1);

  // 最小二乘法: the closed-form least-squares solution, min ||X theta - y|| by LAPACK gels
  // (torch.linalg.lstsq(X, y).solution) ...
  Tensor theta_mle = ctorch::lstsq(X, y);
  // ... and through the normal equations X^T X theta = X^T y (the article's inv(X.T @ X) @ X.T @ y)
  Tensor theta_normal = ctorch::lstsq(X.t().matmul(X), X.t().matmul(y));

  // 梯度下降: gradient descent on the mean squared error
  auto compute_loss = [&](const Tensor& theta) { return (y - X.matmul(theta)).pow(2).sum() / static_cast<double>(N); };
  auto compute_gradient = [&](const Tensor& theta) {
    return 2.0 / static_cast<double>(N) * X.t().matmul(X.matmul(theta) - y);
  };

  double alpha = 0.1;
  int iterations = 1000;

  Tensor theta_gd = ctorch::zeros({2, 1});
  for (int i = 0; i < iterations; ++i) theta_gd -= alpha * compute_gradient(theta_gd);

  // The same descent with autograd: backward computes the gradient, which must equal the hand-written one.
  Tensor theta = ctorch::zeros({2, 1}, ctorch::requires_grad());
  double max_grad_diff = 0;
  for (int i = 0; i < iterations; ++i) {
    Tensor loss = compute_loss(theta);
    loss.backward();
    ctorch::NoGradGuard no_grad;
    max_grad_diff = std::max(max_grad_diff, (theta.grad() - compute_gradient(theta)).abs().max().item());
    theta -= alpha * theta.grad();
    theta.set_grad({});  // theta.grad = None
  }

  auto params = [](const Tensor& t) { return t.detach().flatten().to_vector<double>(); };
  fmt::print("Closed form (LAPACK least squares):\n");
  fmt::print("theta_mle: {}  MSE: {}\n", params(theta_mle), compute_loss(theta_mle).item());
  fmt::print("theta_normal: {}  MSE: {}\n", params(theta_normal), compute_loss(theta_normal).item());
  fmt::print("Gradient descent (lr {}, {} iterations, gradient 2/N X^T (X theta - y)):\n", alpha, iterations);
  fmt::print("theta_gd: {}  MSE: {}\n", params(theta_gd), compute_loss(theta_gd).item());
  fmt::print("theta_autograd: {}  MSE: {}\n", params(theta), compute_loss(theta.detach()).item());
  fmt::print("max |hand-written gradient - autograd gradient|: {}\n", max_grad_diff);
}
