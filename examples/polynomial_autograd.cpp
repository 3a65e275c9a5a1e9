// PyTorch: Tensors and autograd -- "Learning PyTorch with Examples", ported line by line to ctorch
// (pytorch/tutorials, beginner_source/examples_autograd/polynomial_autograd.py).
//
// A third order polynomial, trained to predict y = sin(x) from -pi to pi by minimizing squared
// Euclidean distance. This implementation computes the forward pass using operations on
// tensors, and uses autograd to compute gradients.
//
// A Tensor represents a node in a computational graph. If x is a Tensor with
// x.requires_grad() == true then x.grad() is another Tensor holding the gradient of x with
// respect to some scalar value.
//
// Run: ./build/polynomial_autograd       PyTorch: /usr/bin/python3 examples/reference/polynomial_autograd.py
#include <ctorch/ctorch.hpp>

#include <fmt/core.h>

#include <numbers>

using ctorch::Tensor;

int main() {
  ctorch::manual_seed(0);  // torch.manual_seed(0): the same random a, b, c, d as the PyTorch script

  auto dtype = ctorch::kFloat;  // dtype = torch.float (ctorch runs on the CPU)

  // Create Tensors to hold input and outputs.
  // By default, requires_grad=false, which indicates that we do not need to
  // compute gradients with respect to these Tensors during the backward pass.
  Tensor x = ctorch::linspace(-std::numbers::pi, std::numbers::pi, 2000, dtype);
  Tensor y = ctorch::sin(x);

  // Create random Tensors for weights. For a third order polynomial, we need
  // 4 weights: y = a + b x + c x^2 + d x^3
  // Setting requires_grad indicates that we want to compute gradients with
  // respect to these Tensors during the backward pass.
  Tensor a = ctorch::randn({}, ctorch::dtype(dtype).requires_grad(true));
  Tensor b = ctorch::randn({}, ctorch::dtype(dtype).requires_grad(true));
  Tensor c = ctorch::randn({}, ctorch::dtype(dtype).requires_grad(true));
  Tensor d = ctorch::randn({}, ctorch::dtype(dtype).requires_grad(true));

  double learning_rate = 1e-6;
  for (int t = 0; t < 2000; ++t) {
    // Forward pass: compute predicted y using operations on Tensors.
    Tensor y_pred = a + b * x + c * x.pow(2) + d * x.pow(3);

    // Compute and print loss using operations on Tensors.
    // Now loss is a 0-d Tensor; loss.item() gets the scalar value held in the loss.
    Tensor loss = (y_pred - y).pow(2).sum();
    if (t % 100 == 99) fmt::print("{} {}\n", t, loss.item());

    // Use autograd to compute the backward pass. This call will compute the
    // gradient of loss with respect to all Tensors with requires_grad=true.
    // After this call a.grad(), b.grad(), c.grad() and d.grad() will be Tensors holding
    // the gradient of the loss with respect to a, b, c, d respectively.
    loss.backward();

    // Manually update weights using gradient descent. Wrap in no_grad (with torch.no_grad():)
    // because weights have requires_grad=true, but we don't need to track this in autograd.
    {
      ctorch::NoGradGuard no_grad;
      a -= learning_rate * a.grad();
      b -= learning_rate * b.grad();
      c -= learning_rate * c.grad();
      d -= learning_rate * d.grad();

      // Manually zero the gradients after updating weights (a.grad = None)
      a.set_grad({});
      b.set_grad({});
      c.set_grad({});
      d.set_grad({});
    }
  }

  fmt::print("Result: y = {} + {} x + {} x^2 + {} x^3\n", a.item(), b.item(), c.item(), d.item());
}
