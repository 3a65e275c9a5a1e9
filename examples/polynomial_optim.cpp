// PyTorch: optim -- "Learning PyTorch with Examples", ported line by line to ctorch
// (pytorch/tutorials, beginner_source/examples_nn/polynomial_optim.py, the RMSprop version).
//
// A third order polynomial, trained to predict y = sin(x) from -pi to pi by minimizing squared
// Euclidean distance.
//
// This implementation uses the nn package to build the network.
//
// Rather than manually updating the weights of the model as we have been doing, we use the optim
// package to define an Optimizer that will update the weights for us. The optim package defines
// many optimization algorithms that are commonly used for deep learning, including SGD+momentum,
// RMSProp, Adam, etc.
//
// Run: ./build/polynomial_optim          PyTorch: /usr/bin/python3 examples/reference/polynomial_optim.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/rmsprop.hpp>

#include <fmt/core.h>

#include <memory>
#include <numbers>

using namespace ctorch;

int main() {
  manual_seed(0);  // torch.manual_seed(0): the same initial Linear weights as the PyTorch script

  // Create Tensors to hold input and outputs.
  Tensor x = linspace(-std::numbers::pi, std::numbers::pi, 2000);
  Tensor y = sin(x);

  // Prepare the input tensor (x, x^2, x^3).
  Tensor p = tensor({1, 2, 3});
  Tensor xx = x.unsqueeze(-1).pow(p);

  // Use the nn package to define our model and loss function.
  nn::Sequential model{
      nn::Linear(3, 1),
      nn::Flatten(0, 1)};
  nn::MSELoss loss_fn("sum");

  // Use the optim package to define an Optimizer that will update the weights of
  // the model for us. Here we will use RMSprop; the optim package contains many other
  // optimization algorithms. The first argument to the RMSprop constructor tells the
  // optimizer which Tensors it should update.
  double learning_rate = 1e-3;
  optim::RMSprop optimizer(model->parameters(), {.lr = learning_rate});
  for (int t = 0; t < 2000; ++t) {
    // Forward pass: compute predicted y by passing x to the model.
    Tensor y_pred = model(xx);

    // Compute and print loss.
    Tensor loss = loss_fn(y_pred, y);
    if (t % 100 == 99) fmt::print("{} {}\n", t, loss.item());

    // Before the backward pass, use the optimizer object to zero all of the
    // gradients for the variables it will update (which are the learnable
    // weights of the model). This is because by default, gradients are
    // accumulated in buffers (i.e, not overwritten) whenever .backward()
    // is called.
    optimizer.zero_grad();

    // Backward pass: compute gradient of the loss with respect to model
    // parameters
    loss.backward();

    // Calling the step function on an Optimizer makes an update to its
    // parameters
    optimizer.step();
  }

  auto linear_layer = std::dynamic_pointer_cast<nn::LinearImpl>((*model)[0]);
  fmt::print("Result: y = {} + {} x + {} x^2 + {} x^3\n", linear_layer->bias.item(),
             linear_layer->weight.select(1, 0).item(), linear_layer->weight.select(1, 1).item(),
             linear_layer->weight.select(1, 2).item());
}
