// PyTorch: Tensors -- "Learning PyTorch with Examples", ported line by line to ctorch
// (pytorch/tutorials, beginner_source/examples_tensor/polynomial_tensor.py).
//
// A third order polynomial, trained to predict y = sin(x) from -pi to pi by minimizing squared
// Euclidean distance. This implementation uses tensors to manually compute the forward pass,
// loss, and backward pass (no autograd).
//
// Run: ./build/polynomial_tensors        PyTorch: /usr/bin/python3 examples/reference/polynomial_tensors.py
#include <ctorch/ctorch.hpp>

#include <fmt/core.h>

#include <numbers>

using ctorch::Tensor;

int main() {
  ctorch::manual_seed(0);  // torch.manual_seed(0): the same random a, b, c, d as the PyTorch script

  auto dtype = ctorch::kFloat;  // dtype = torch.float (ctorch runs on the CPU)

  // Create random input and output data
  Tensor x = ctorch::linspace(-std::numbers::pi, std::numbers::pi, 2000, dtype);
  Tensor y = ctorch::sin(x);

  // Randomly initialize weights
  Tensor a = ctorch::randn({}, dtype);
  Tensor b = ctorch::randn({}, dtype);
  Tensor c = ctorch::randn({}, dtype);
  Tensor d = ctorch::randn({}, dtype);

  double learning_rate = 1e-6;
  for (int t = 0; t < 2000; ++t) {
    // Forward pass: compute predicted y
    Tensor y_pred = a + (b * x) + (c * x.pow(2)) + (d * x.pow(3));

    // Compute and print loss
    double loss = (y_pred - y).pow(2).sum().item();
    if (t % 100 == 99) fmt::print("{} {}\n", t, loss);

    // Backprop to compute gradients of a, b, c, d with respect to loss
    Tensor grad_y_pred = -2.0 * (y - y_pred);
    Tensor grad_a = grad_y_pred.sum();
    Tensor grad_b = ctorch::matmul(grad_y_pred, x).sum();
    Tensor grad_c = ctorch::matmul(grad_y_pred, x.pow(2)).sum();
    Tensor grad_d = ctorch::matmul(grad_y_pred, x.pow(3)).sum();

    // Update weights using gradient descent
    a -= learning_rate * grad_a;
    b -= learning_rate * grad_b;
    c -= learning_rate * grad_c;
    d -= learning_rate * grad_d;
  }

  fmt::print("Result: y = {} + {} x + {} x^2 + {} x^3\n", a.item(), b.item(), c.item(), d.item());
}
