// PyTorch: Control Flow + Weight Sharing -- "Learning PyTorch with Examples", ported line by line
// to ctorch (pytorch/tutorials, beginner_source/examples_nn/dynamic_net.py).
//
// To showcase the power of dynamic graphs, we will implement a very strange model: a third-fifth
// order polynomial that on each forward pass chooses a random number between 4 and 5 and uses
// that many orders, reusing the same weights multiple times to compute the fourth and fifth order.
//
// One change from the tutorial, made in the PyTorch original (examples/reference/dynamic_net.py)
// too: the depth is drawn from the tensor generator, randint(4, 7, {}) (torch.randint(4, 7, ())),
// instead of Python's random.randint(4, 6). ctorch reproduces torch's generator bit for bit but not
// Python's Mersenne Twister, and this way both draw the same depth on every forward pass. Both give
// 4, 5 or 6 with equal probability (random.randint includes its upper bound, randint excludes it).
//
// Run: ./build/dynamic_net               PyTorch: /usr/bin/python3 examples/reference/dynamic_net.py
#include <ctorch/ctorch.hpp>
#include <ctorch/optim/sgd.hpp>

#include <fmt/core.h>

#include <numbers>
#include <string>

using namespace ctorch;

struct DynamicNetImpl : nn::Module {
  // In the constructor we instantiate five parameters and assign them as members.
  Tensor a, b, c, d, e;
  DynamicNetImpl() {
    a = register_parameter("a", randn({}));
    b = register_parameter("b", randn({}));
    c = register_parameter("c", randn({}));
    d = register_parameter("d", randn({}));
    e = register_parameter("e", randn({}));
  }

  // For the forward pass of the model, we randomly choose either 4, 5
  // and reuse the e parameter to compute the contribution of these orders.
  //
  // Since each forward pass builds a dynamic computation graph, we can use normal
  // C++ control-flow operators like loops or conditional statements when
  // defining the forward pass of the model.
  //
  // Here we also see that it is perfectly safe to reuse the same parameter many
  // times when defining a computational graph.
  Tensor forward(const Tensor& x) override {
    Tensor y = a + b * x + c * x.pow(2) + d * x.pow(3);
    // The tutorial: random.randint(4, 6) (Python's generator, 4..6 inclusive); see the top.
    for (int64_t exp = 4, end = randint(4, 7, {}).item<int64_t>(); exp < end; ++exp)
      y = y + e * x.pow(static_cast<double>(exp));
    return y;
  }

  // Just like any class in C++, you can also define custom methods on modules
  std::string string() const {
    return fmt::format("y = {} + {} x + {} x^2 + {} x^3 + {} x^4 ? + {} x^5 ?", a.item(), b.item(), c.item(),
                       d.item(), e.item(), e.item());
  }
};
CTORCH_MODULE(DynamicNet);

int main() {
  manual_seed(0);  // torch.manual_seed(0): the same a, b, c, d, e and depths as the PyTorch script

  // Create Tensors to hold input and outputs.
  Tensor x = linspace(-std::numbers::pi, std::numbers::pi, 2000);
  Tensor y = sin(x);

  // Construct our model by instantiating the class defined above
  DynamicNet model;

  // Construct our loss function and an Optimizer. Training this strange model with
  // vanilla stochastic gradient descent is tough, so we use momentum
  nn::MSELoss criterion("sum");
  optim::SGD optimizer(model->parameters(), {.lr = 1e-8, .momentum = 0.9});
  for (int t = 0; t < 30000; ++t) {
    // Forward pass: Compute predicted y by passing x to the model
    Tensor y_pred = model(x);

    // Compute and print loss
    Tensor loss = criterion(y_pred, y);
    if (t % 2000 == 1999) fmt::print("{} {}\n", t, loss.item());

    // Zero gradients, perform a backward pass, and update the weights.
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }

  fmt::print("Result: {}\n", model->string());
}
