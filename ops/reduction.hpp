#pragma once
// Reductions over all elements or over given dims (keepdim keeps them as size 1).
#include <tuple>

#include "../core/tensor.hpp"

namespace ctorch {

Tensor sum(const Tensor& a, IntArrayRef dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, IntArrayRef dims = {}, bool keepdim = false);
Tensor var(const Tensor& a, IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& a, IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false);
std::tuple<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& a);
Tensor min(const Tensor& a);
Tensor argmax(const Tensor& a, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor argmin(const Tensor& a, std::optional<int64_t> dim = {}, bool keepdim = false);

}  // namespace ctorch
