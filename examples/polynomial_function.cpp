// PyTorch: Defining New autograd Functions -- "Learning PyTorch with Examples", ported line by
// line to ctorch (pytorch/tutorials, beginner_source/examples_autograd/polynomial_custom_function.py).
//
// A third order polynomial, trained to predict y = sin(x) from -pi to pi by minimizing squared
// Euclidean distance. Instead of writing the polynomial as y = a + b x + c x^2 + d x^3, we write
// it as y = a + b P3(c + d x) where P3(x) = 1/2 (5 x^3 - 3 x) is the Legendre polynomial of
// degree three. We implement our own custom autograd function to compute P3'(x) = 3/2 (5 x^2 - 1).
//
// Run: ./build/polynomial_function       PyTorch: /usr/bin/python3 examples/reference/polynomial_function.py
#include <ctorch/ctorch.hpp>

#include <fmt/core.h>

#include <numbers>

using ctorch::Tensor;
using ctorch::TensorList;
using ctorch::autograd::AutogradContext;

// We can implement our own custom autograd Functions by deriving from
// ctorch::autograd::Function and implementing the forward and backward passes
// which operate on Tensors.
struct LegendrePolynomial3 : ctorch::autograd::Function<LegendrePolynomial3> {
  // In the forward pass we receive a Tensor containing the input and return a Tensor containing
  // the output. ctx is a context object that can be used to stash information for backward
  // computation; tensors are cached for the backward pass with ctx->save_for_backward.
  static Tensor forward(AutogradContext* ctx, const Tensor& input) {
    ctx->save_for_backward({input});
    return 0.5 * (5 * input.pow(3) - 3 * input);
  }

  // In the backward pass we receive a Tensor containing the gradient of the loss with respect
  // to the output, and we need to compute the gradient of the loss with respect to the input.
  static TensorList backward(AutogradContext* ctx, TensorList grad_outputs) {
    Tensor input = ctx->get_saved_variables()[0];
    return {grad_outputs[0] * 1.5 * (5 * input.pow(2) - 1)};
  }
};

int main() {
  ctorch::manual_seed(0);  // nothing random below (the weights start at the tutorial's values); kept for parity

  auto dtype = ctorch::kFloat;  // dtype = torch.float (ctorch runs on the CPU)

  // Create Tensors to hold input and outputs.
  // Setting requires_grad=false indicates that we do not need to compute gradients
  // with respect to these Tensors during the backward pass.
  Tensor x = ctorch::linspace(-std::numbers::pi, std::numbers::pi, 2000, dtype);
  Tensor y = ctorch::sin(x);

  // Create Tensors for weights. For this example, we need 4 weights:
  // y = a + b * P3(c + d * x), these weights need to be initialized
  // not too far from the correct result to ensure convergence.
  // Setting requires_grad indicates that we want to compute gradients with
  // respect to these Tensors during the backward pass.
  Tensor a = ctorch::full({}, 0.0, ctorch::dtype(dtype).requires_grad(true));
  Tensor b = ctorch::full({}, -1.0, ctorch::dtype(dtype).requires_grad(true));
  Tensor c = ctorch::full({}, 0.0, ctorch::dtype(dtype).requires_grad(true));
  Tensor d = ctorch::full({}, 0.3, ctorch::dtype(dtype).requires_grad(true));

  double learning_rate = 5e-6;
  for (int t = 0; t < 2000; ++t) {
    // To apply our Function, we use Function::apply. We alias this as 'P3'.
    auto P3 = [](const Tensor& input) { return LegendrePolynomial3::apply(input); };

    // Forward pass: compute predicted y using operations; we compute
    // P3 using our custom autograd operation.
    Tensor y_pred = a + b * P3(c + d * x);

    // Compute and print loss
    Tensor loss = (y_pred - y).pow(2).sum();
    if (t % 100 == 99) fmt::print("{} {}\n", t, loss.item());

    // Use autograd to compute the backward pass.
    loss.backward();

    // Update weights using gradient descent (with torch.no_grad():)
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

  fmt::print("Result: y = {} + {} * P3({} + {} x)\n", a.item(), b.item(), c.item(), d.item());
}
