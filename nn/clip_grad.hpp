#pragma once
// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (torch 1.13 semantics). Gradients are changed
// in place; params without a grad are skipped.
//   torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
//   ctorch::nn::utils::clip_grad_norm_(params, 1.0);
#include <limits>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::nn::utils {

inline constexpr double inf = std::numeric_limits<double>::infinity();  // norm_type for the max norm

// Scales the grads by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the norm_type
// norm of all grads together (the norm of their per-tensor norms, as torch computes it; inf: the
// largest |g|). Returns total_norm as a 0-d tensor of the grads' dtype (float32 0 when no param has a
// grad). error_if_nonfinite: throw instead of scaling when total_norm is nan or inf.
Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
Tensor clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every grad to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
void clip_grad_value_(const Tensor& parameter, double clip_value);

}  // namespace ctorch::nn::utils
