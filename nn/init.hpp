#pragma once
// nn::init, as torch.nn.init: in-place initialisers that run under no-grad and draw from the
// global generator (manual_seed), in the same order as PyTorch so seeded runs match it.
#include <string>

#include "../core/tensor.hpp"

namespace ctorch::nn::init {

// Recommended gain for a nonlinearity: "linear", "conv1d/2d/3d", "conv_transpose1d/2d/3d", "sigmoid", "tanh",
// "relu", "leaky_relu" (param: the negative slope), "selu".
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor& uniform_(Tensor& t, double a = 0, double b = 1);
Tensor& normal_(Tensor& t, double mean = 0, double std = 1);
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& xavier_uniform_(Tensor& t, double gain = 1);
Tensor& xavier_normal_(Tensor& t, double gain = 1);
// mode "fan_in" or "fan_out"; nonlinearity as in calculate_gain (PyTorch's default: leaky_relu).
Tensor& kaiming_uniform_(Tensor& t, double a = 0, const std::string& mode = "fan_in",
                         const std::string& nonlinearity = "leaky_relu");
Tensor& kaiming_normal_(Tensor& t, double a = 0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");

}  // namespace ctorch::nn::init
