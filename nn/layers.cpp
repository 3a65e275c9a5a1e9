#include "layers.hpp"

#include <cmath>

#include "../core/factories.hpp"
#include "init.hpp"

namespace ctorch::nn {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias, ScalarType dtype)
    : in_features(in), out_features(out) {
  CTORCH_CHECK(in >= 0 && out >= 0, "Linear: in_features and out_features must be non-negative, got {} and {}", in, out);
  weight = register_parameter("weight", empty({out, in}, dtype));
  if (with_bias) bias = register_parameter("bias", empty({out}, dtype));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    int64_t fan_in = in_features;
    double bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& input) { return linear(input, weight, bias); }

std::string LinearImpl::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features,
                     bias.defined() ? "True" : "False");
}

std::string FlattenImpl::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }

GELUImpl::GELUImpl(std::string a) : approximate(std::move(a)) {
  CTORCH_CHECK(approximate == "none" || approximate == "tanh", "GELU: approximate must be 'none' or 'tanh', got '{}'",
               approximate);
}

DropoutImpl::DropoutImpl(double p) : p(p) {
  CTORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got {}", p);
}

// p as Python prints a float: 0.5, 1e-05, and 0.0 (not 0).
std::string DropoutImpl::extra_repr() const {
  std::string ps = fmt::format("{}", p);
  if (ps.find_first_not_of("-0123456789") == std::string::npos) ps += ".0";
  return fmt::format("p={}, inplace=False", ps);
}

}  // namespace ctorch::nn
