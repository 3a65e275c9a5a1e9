#pragma once
// Layers, named and initialised as in torch.nn. Each XImpl is the module; X is its shared holder
// (CTORCH_MODULE), so `nn::Linear fc{784, 512}; fc(x); fc->weight` reads like PyTorch.
#include <string>

#include "functional.hpp"
#include "module.hpp"

namespace ctorch::nn {

// y = x W^T + b, W [out, in] initialised kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
// b ~ U(-1/sqrt(in), 1/sqrt(in)): the same draws, in the same order, as PyTorch.
class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true, ScalarType dtype = kFloat32);
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight, bias;
};
CTORCH_MODULE(Linear);

class IdentityImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input; }
};
CTORCH_MODULE(Identity);

class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& input) override { return input.flatten(start_dim, end_dim); }
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};
CTORCH_MODULE(Flatten);

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return relu(input); }
};
CTORCH_MODULE(ReLU);

class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return sigmoid(input); }
};
CTORCH_MODULE(Sigmoid);

class TanhImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return tanh(input); }
};
CTORCH_MODULE(Tanh);

class GELUImpl : public Module {
 public:
  explicit GELUImpl(std::string approximate = "none");
  Tensor forward(const Tensor& input) override { return gelu(input, approximate); }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};
CTORCH_MODULE(GELU);

class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& input) override { return softmax(input, dim); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};
CTORCH_MODULE(Softmax);

class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& input) override { return log_softmax(input, dim); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};
CTORCH_MODULE(LogSoftmax);

// Inverted dropout, active only in train mode.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  Tensor forward(const Tensor& input) override { return functional::dropout(input, p, is_training()); }
  std::string extra_repr() const override;
  double p;
};
CTORCH_MODULE(Dropout);

}  // namespace ctorch::nn
