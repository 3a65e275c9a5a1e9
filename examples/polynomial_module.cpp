// PyTorch: Custom nn Modules -- "Learning PyTorch with Examples", ported line by line to ctorch
// (pytorch/tutorials, beginner_source/examples_nn/polynomial_module.py).
//
// A third order polynomial, trained to predict y = sin(x) from -pi to pi by minimizing squared
// Euclidean distance.
//
// This implementation defines the model as a custom Module subclass. Whenever you want a model
// more complex than a simple sequence of existing Modules you will need to define your model
// this way.
//
// Run: ./build/polynomial_module         PyTorch: /usr/bin/python3 examples/reference/polynomial_module.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/sgd.hpp>

#include <fmt/core.h>

#include <numbers>
#include <string>

using namespace ctorch;

struct Polynomial3Impl : nn::Module {
  // In the constructor we instantiate four parameters and assign them as
  // member parameters.
  Tensor a, b, c, d;
  Polynomial3Impl() {
    a = register_parameter("a", randn({}));
    b = register_parameter("b", randn({}));
    c = register_parameter("c", randn({}));
    d = register_parameter("d", randn({}));
  }

  // In the forward function we accept a Tensor of input data and we must return
  // a Tensor of output data. We can use Modules defined in the constructor as
  // well as arbitrary operators on Tensors.
  Tensor forward(const Tensor& x) override { return a + b * x + c * x.pow(2) + d * x.pow(3); }

  // Just like any class in C++, you can also define custom methods on modules
  std::string string() const {
    return fmt::format("y = {} + {} x + {} x^2 + {} x^3", a.item(), b.item(), c.item(), d.item());
  }
};
CTORCH_MODULE(Polynomial3);

int main() {
  manual_seed(0);  // torch.manual_seed(0): the same random a, b, c, d as the PyTorch script

  // Create Tensors to hold input and outputs.
  Tensor x = linspace(-std::numbers::pi, std::numbers::pi, 2000);
  Tensor y = sin(x);

  // Construct our model by instantiating the class defined above
  Polynomial3 model;

  // Construct our loss function and an Optimizer. The call to model->parameters()
  // in the SGD constructor will contain the learnable parameters (registered
  // with register_parameter) which are members of the model.
  nn::MSELoss criterion("sum");
  optim::SGD optimizer(model->parameters(), {.lr = 1e-6});
  for (int t = 0; t < 2000; ++t) {
    // Forward pass: Compute predicted y by passing x to the model
    Tensor y_pred = model(x);

    // Compute and print loss
    Tensor loss = criterion(y_pred, y);
    if (t % 100 == 99) fmt::print("{} {}\n", t, loss.item());

    // Zero gradients, perform a backward pass, and update the weights.
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }

  fmt::print("Result: {}\n", model->string());
}
