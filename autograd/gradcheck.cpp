#include "gradcheck.hpp"

#include <cmath>

#include "../core/factories.hpp"
#include "engine.hpp"
#include "function.hpp"
#include "grad_mode.hpp"

namespace ctorch::autograd {

Tensor zeros_for(const InputMeta& m) { return zeros(m.shape, m.dtype); }

bool gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs, GradcheckOptions opts) {
  for (size_t i = 0; i < inputs.size(); ++i)
    CTORCH_CHECK(inputs[i].requires_grad() && inputs[i].dtype() == kFloat64 && inputs[i].is_contiguous(),
                 "gradcheck: input {} must be a contiguous float64 tensor that requires grad (got {}, requires_grad={})", i,
                 dtype_name(inputs[i].dtype()), inputs[i].requires_grad());
  Tensor out = f(inputs);
  int64_t n_out = out.numel();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    int64_t n_in = x.numel();
    // numerical Jacobian, column j: (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)
    std::vector<double> numerical(n_in * n_out);
    Tensor xd = x.detach();  // perturbs the input's own storage, then restores it
    for (int64_t j = 0; j < n_in; ++j) {
      Tensor e = xd.reshape({-1}).select(0, j);
      double orig = e.item();
      std::vector<double> plus, minus;
      {
        NoGradGuard g;
        e.fill_(orig + opts.eps);
        plus = f(inputs).detach().to_vector<double>();
        e.fill_(orig - opts.eps);
        minus = f(inputs).detach().to_vector<double>();
        e.fill_(orig);
      }
      for (int64_t k = 0; k < n_out; ++k) numerical[k * n_in + j] = (plus[k] - minus[k]) / (2 * opts.eps);
    }
    // analytic Jacobian, row k: backward of the one-hot output k
    for (int64_t k = 0; k < n_out; ++k) {
      Tensor onehot = zeros(out.sizes(), out.dtype());
      onehot.reshape({-1}).select(0, k).fill_(1);
      Tensor fresh = f(inputs);
      TensorList g = grad({fresh}, {x}, {onehot}, false, true);
      std::vector<double> analytic = g[0].defined() ? g[0].to_vector<double>() : std::vector<double>(n_in, 0.0);
      for (int64_t j = 0; j < n_in; ++j) {
        double a = analytic[j], nm = numerical[k * n_in + j];
        CTORCH_CHECK(std::abs(a - nm) <= opts.atol + opts.rtol * std::abs(nm),
                     "gradcheck: Jacobian mismatch for output {} with respect to input {} (element {}): numerical {} "
                     "vs analytical {} (atol {}, rtol {})", k, i, j, nm, a, opts.atol, opts.rtol);
      }
    }
  }
  return true;
}

}  // namespace ctorch::autograd
