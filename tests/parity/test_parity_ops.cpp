// Parity of ctorch's differentiable ops with real PyTorch 1.13, forward and backward.
//
// tests/parity/gen_ops_ref.py (run by CTest's `parity_reference` fixture with Debian's /usr/bin/python3)
// writes, for every case, the inputs, torch's outputs, a random upstream gradient per differentiable
// output and torch's gradient of every input that requires grad. This test rebuilds the inputs, runs
// the same computation in ctorch (case_registry() below: one lambda per case name), backpropagates the same
// upstream gradients and compares everything. Every case of the file must have a lambda here and every
// lambda a case in the file; a missing or unreadable reference file is a failure, never a skip.
//
// The file is found through the environment variable CTORCH_PARITY_REF (CTest sets it), else the
// path compiled in as CTORCH_PARITY_REF (the build directory's tests/parity/ops_ref.txt).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ctorch/autograd/engine.hpp>
#include <ctorch/core/factories.hpp>
#include <ctorch/ops/activation.hpp>
#include <ctorch/ops/elementwise.hpp>
#include <ctorch/ops/indexing.hpp>
#include <ctorch/ops/linalg.hpp>
#include <ctorch/ops/reduction.hpp>
#include <ctorch/ops/shape.hpp>

#ifndef CTORCH_PARITY_REF
#define CTORCH_PARITY_REF "tests/parity/ops_ref.txt"
#endif

using namespace ctorch;

namespace {

// ---- tolerance ----
// float32 results are compared element by element. A ctorch value c matches torch's value r when
//   both are NaN, or both are the same infinity, or
//   |c - r| <= kRtol * |r| + kAtol * scale,   kRtol = 1e-5, kAtol = 1e-6,
//   scale = max(1, largest finite |r| in the same tensor).
// The absolute term is for elements near zero: such an element is usually a sum (a matmul entry,
// a gradient summed over a broadcast batch) of terms as large as the tensor's big entries, and
// ctorch and torch add those terms in different orders (e.g. 3 sgemms of K = 16 then a sum, vs
// one sgemm of K = 48), so its rounding error is relative to the tensor's scale, not to itself.
// For tensors of unit scale this is atol = 1e-6. int64 and bool tensors (indices, masks) must
// match exactly, and so must every shape and dtype. The summary reports the worst |c - r| / allowed.
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;
constexpr int kMaxReportsPerTensor = 5;

// ---- the reference file (format documented in gen_ops_ref.py) ----
struct RefTensor {
  std::string role;  // input:<name>, output:<k>, gout:<k>, grad:<name>
  ScalarType dtype = kFloat32;
  Shape shape;
  std::vector<double> values;  // f32 parsed with strtof (exact), i64 and bool as integers
};

struct RefCase {
  std::string name, ops;
  int line = 0;
  std::vector<RefTensor> tensors;
  const RefTensor* find(const std::string& role) const {
    for (const RefTensor& t : tensors)
      if (t.role == role) return &t;
    return nullptr;
  }
};

struct RefFile {
  std::string torch_version;
  std::vector<RefCase> cases;
  int64_t declared_cases = -1;  // from the closing `end <n>` line: a truncated file has none
  std::string uncovered;        // functions of ops/*.hpp that no case names (reported, not failed)
};

RefFile parse(const std::string& path) {
  std::ifstream in(path);
  CTORCH_CHECK(in, "cannot open the parity reference file {}: it is written by `/usr/bin/python3 "
               "tests/parity/gen_ops_ref.py {}` (CTest's parity_reference fixture), which needs Debian's "
               "python3-torch", path, path);
  RefFile f;
  std::string text;
  for (int lineno = 1; std::getline(in, text); ++lineno) {
    std::istringstream s(text);
    std::string kind;
    if (!(s >> kind) || kind[0] == '#') continue;
    CTORCH_CHECK(f.declared_cases < 0, "{}:{}: content after the `end` line", path, lineno);
    if (kind == "torch") {
      s >> f.torch_version;
    } else if (kind == "case") {
      RefCase c;
      c.line = lineno;
      s >> c.name >> c.ops;
      CTORCH_CHECK(!c.name.empty(), "{}:{}: case without a name", path, lineno);
      f.cases.push_back(std::move(c));
    } else if (kind == "tensor") {
      CTORCH_CHECK(!f.cases.empty(), "{}:{}: tensor before any case", path, lineno);
      RefTensor t;
      std::string dt;
      int64_t ndim = -1;
      s >> t.role >> dt >> ndim;
      CTORCH_CHECK(dt == "f32" || dt == "i64" || dt == "bool", "{}:{}: unknown dtype '{}'", path, lineno, dt);
      t.dtype = dt == "f32" ? kFloat32 : dt == "i64" ? kInt64 : kBool;
      CTORCH_CHECK(ndim >= 0 && ndim <= kMaxDims, "{}:{}: bad ndim", path, lineno);
      for (int64_t d = 0, n; d < ndim && s >> n; ++d) t.shape.push_back(n);
      CTORCH_CHECK(t.shape.size() == ndim, "{}:{}: truncated shape", path, lineno);
      for (std::string v; s >> v;)
        t.values.push_back(t.dtype == kFloat32 ? static_cast<double>(std::strtof(v.c_str(), nullptr))
                                               : static_cast<double>(std::strtoll(v.c_str(), nullptr, 10)));
      CTORCH_CHECK(static_cast<int64_t>(t.values.size()) == numel_of(t.shape),
                   "{}:{}: {} values for shape {}", path, lineno, t.values.size(), shape_str(t.shape));
      f.cases.back().tensors.push_back(std::move(t));
    } else if (kind == "uncovered") {
      s >> f.uncovered;
    } else if (kind == "end") {
      s >> f.declared_cases;
    } else {
      throw Error(fmt::format("{}:{}: unknown line kind '{}'", path, lineno, kind));
    }
  }
  CTORCH_CHECK(f.declared_cases >= 0, "{}: no `end` line: the file is truncated", path);
  return f;
}

Tensor to_tensor(const RefTensor& r) {
  if (r.dtype == kFloat32) return tensor(std::vector<float>(r.values.begin(), r.values.end()), r.shape);
  if (r.dtype == kInt64) return tensor(std::vector<int64_t>(r.values.begin(), r.values.end()), r.shape);
  return tensor(std::vector<uint8_t>(r.values.begin(), r.values.end()), r.shape, kBool);
}

// "[1, 2]": the multi-index of flat element i of a tensor of this shape.
std::string index_str(IntArrayRef shape, int64_t i) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) idx[d] = i % shape[d], i /= shape[d];
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

// ---- the ctorch side of every case ----
struct Inputs {
  std::map<std::string, Tensor> tensors;
  Tensor operator()(const std::string& name) const {
    auto it = tensors.find(name);
    CTORCH_CHECK(it != tensors.end(), "the reference case has no input named '{}'", name);
    return it->second;
  }
};
using CaseFn = std::function<TensorList(const Inputs&)>;

template <class... T> TensorList outs(T&&... t) { return TensorList{std::forward<T>(t)...}; }
template <class A, class B> TensorList outs(std::tuple<A, B> t) { return {std::get<0>(t), std::get<1>(t)}; }

// One entry per case of gen_ops_ref.py, same name, same computation.
const std::map<std::string, CaseFn>& case_registry() {
  static const std::map<std::string, CaseFn> cases = {
      // ---- elementwise ----
      {"add_same", [](const Inputs& in) { return outs(in("a") + in("b")); }},
      {"add_broadcast", [](const Inputs& in) { return outs(in("a") + in("b")); }},
      {"add_broadcast_both", [](const Inputs& in) { return outs(add(in("a"), in("b"))); }},
      {"add_alpha", [](const Inputs& in) { return outs(add(in("a"), in("b"), 2.5)); }},
      {"add_0d", [](const Inputs& in) { return outs(in("a") + in("b")); }},
      {"add_scalar", [](const Inputs& in) { return outs(in("a") + 1.5); }},
      {"add_int_tensor", [](const Inputs& in) { return outs(in("a") + in("i")); }},
      {"sub_broadcast", [](const Inputs& in) { return outs(in("a") - in("b")); }},
      {"sub_alpha", [](const Inputs& in) { return outs(sub(in("a"), in("b"), -0.75)); }},
      {"rsub_scalar", [](const Inputs& in) { return outs(2.0 - in("a")); }},
      {"mul_same", [](const Inputs& in) { return outs(in("a") * in("b")); }},
      {"mul_broadcast", [](const Inputs& in) { return outs(in("a") * in("b")); }},
      {"mul_scalar", [](const Inputs& in) { return outs(in("a") * -3.0); }},
      {"mul_self", [](const Inputs& in) { return outs(in("a") * in("a")); }},
      {"div_same", [](const Inputs& in) { return outs(in("a") / in("b")); }},
      {"div_broadcast", [](const Inputs& in) { return outs(in("a") / in("b")); }},
      {"div_scalar", [](const Inputs& in) { return outs(in("a") / 4.0); }},
      {"rdiv_scalar", [](const Inputs& in) { return outs(2.0 / in("b")); }},
      {"neg", [](const Inputs& in) { return outs(-in("a")); }},
      {"pow_scalar_2", [](const Inputs& in) { return outs(pow(in("a"), 2.0)); }},
      {"pow_scalar_3", [](const Inputs& in) { return outs(pow(in("a"), 3.0)); }},
      {"pow_scalar_half", [](const Inputs& in) { return outs(pow(in("a"), 0.5)); }},
      {"pow_scalar_neg", [](const Inputs& in) { return outs(pow(in("a"), -1.5)); }},
      {"pow_scalar_0", [](const Inputs& in) { return outs(pow(in("a"), 0.0)); }},
      {"pow_tensor", [](const Inputs& in) { return outs(pow(in("a"), in("b"))); }},
      {"pow_tensor_broadcast", [](const Inputs& in) { return outs(in("a").pow(in("b"))); }},
      {"pow_tensor_zero_base", [](const Inputs& in) { return outs(pow(in("a"), in("b"))); }},
      {"pow_scalar_base", [](const Inputs& in) { return outs(pow(2.5, in("b"))); }},
      {"exp", [](const Inputs& in) { return outs(exp(in("a"))); }},
      {"log", [](const Inputs& in) { return outs(log(in("a"))); }},
      {"sqrt", [](const Inputs& in) { return outs(sqrt(in("a"))); }},
      {"abs", [](const Inputs& in) { return outs(abs(in("a"))); }},
      {"sin", [](const Inputs& in) { return outs(sin(in("a"))); }},
      {"cos", [](const Inputs& in) { return outs(cos(in("a"))); }},
      {"square", [](const Inputs& in) { return outs(square(in("a"))); }},
      {"relu", [](const Inputs& in) { return outs(relu(in("a"))); }},
      {"sigmoid", [](const Inputs& in) { return outs(sigmoid(in("a"))); }},
      {"sigmoid_saturated", [](const Inputs& in) { return outs(in("a").sigmoid()); }},
      {"tanh", [](const Inputs& in) { return outs(tanh(in("a"))); }},
      {"gelu", [](const Inputs& in) { return outs(gelu(in("a"))); }},
      {"gelu_tanh", [](const Inputs& in) { return outs(gelu(in("a"), "tanh")); }},
      {"clamp_both", [](const Inputs& in) { return outs(clamp(in("a"), -0.5, 0.5)); }},
      {"clamp_min", [](const Inputs& in) { return outs(clamp(in("a"), -0.3)); }},
      {"clamp_max", [](const Inputs& in) { return outs(in("a").clamp(std::nullopt, 0.4)); }},
      {"maximum", [](const Inputs& in) { return outs(maximum(in("a"), in("b"))); }},
      {"maximum_broadcast", [](const Inputs& in) { return outs(maximum(in("a"), in("b"))); }},
      {"maximum_ties", [](const Inputs& in) { return outs(maximum(in("a"), in("b"))); }},
      {"minimum", [](const Inputs& in) { return outs(minimum(in("a"), in("b"))); }},
      {"minimum_ties", [](const Inputs& in) { return outs(minimum(in("a"), in("b"))); }},
      {"where", [](const Inputs& in) { return outs(where(in("c"), in("a"), in("b"))); }},
      {"where_broadcast", [](const Inputs& in) { return outs(where(in("c"), in("a"), in("b"))); }},
      {"masked_fill", [](const Inputs& in) { return outs(in("a").masked_fill(in("m"), -1.5)); }},
      {"masked_fill_broadcast", [](const Inputs& in) { return outs(masked_fill(in("a"), in("m"), 2.0)); }},
      {"sign", [](const Inputs& in) { return outs(sign(in("a"))); }},
      {"compare",
       [](const Inputs& in) {
         Tensor a = in("a"), b = in("b");
         return outs(a == b, a != b, a < b, a <= b, a > b, a >= b);
       }},
      {"logical", [](const Inputs& in) { return outs(in("m") & in("n"), in("m") | in("n"), !in("m")); }},

      // ---- reductions ----
      {"sum_all", [](const Inputs& in) { return outs(in("a").sum()); }},
      {"sum_dim", [](const Inputs& in) { return outs(in("a").sum(1)); }},
      {"sum_neg_dim", [](const Inputs& in) { return outs(in("a").sum(-1)); }},
      {"sum_dims_keepdim", [](const Inputs& in) { return outs(in("a").sum(Shape{0, 2}, true)); }},
      {"sum_dims", [](const Inputs& in) { return outs(sum(in("a"), Shape{2, 0})); }},
      {"mean_all", [](const Inputs& in) { return outs(in("a").mean()); }},
      {"mean_dim_keepdim", [](const Inputs& in) { return outs(in("a").mean(1, true)); }},
      {"mean_dims", [](const Inputs& in) { return outs(mean(in("a"), Shape{0, -1})); }},
      {"var_all", [](const Inputs& in) { return outs(in("a").var()); }},
      {"var_dim", [](const Inputs& in) { return outs(in("a").var(1)); }},
      {"var_dim_keepdim_biased", [](const Inputs& in) { return outs(var(in("a"), Shape{0}, 0, true)); }},
      {"var_dims", [](const Inputs& in) { return outs(in("a").var(Shape{0, 2})); }},
      {"std_all", [](const Inputs& in) { return outs(in("a").std()); }},
      {"std_dim_keepdim", [](const Inputs& in) { return outs(in("a").std(-1, 1, true)); }},
      {"std_dim_biased", [](const Inputs& in) { return outs(ctorch::std(in("a"), Shape{1}, 0)); }},
      {"max_all", [](const Inputs& in) { return outs(in("a").max()); }},
      {"max_all_ties", [](const Inputs& in) { return outs(max(in("a"))); }},
      {"min_all", [](const Inputs& in) { return outs(min(in("a"))); }},
      {"min_all_ties", [](const Inputs& in) { return outs(in("a").min()); }},
      {"max_dim", [](const Inputs& in) { return outs(in("a").max(1)); }},
      {"max_dim_keepdim", [](const Inputs& in) { return outs(max(in("a"), 0, true)); }},
      {"min_dim", [](const Inputs& in) { return outs(in("a").min(-1)); }},
      {"min_dim_keepdim", [](const Inputs& in) { return outs(min(in("a"), 1, true)); }},
      {"argmax_argmin",
       [](const Inputs& in) {
         Tensor a = in("a");
         return outs(a.argmax(), a.argmin(), argmax(a, 1), argmin(a, 0, true));
       }},
      {"softmax_last", [](const Inputs& in) { return outs(softmax(in("a"), -1)); }},
      {"softmax_dim0", [](const Inputs& in) { return outs(in("a").softmax(0)); }},
      {"softmax_middle", [](const Inputs& in) { return outs(softmax(in("a"), 1)); }},
      {"softmax_large", [](const Inputs& in) { return outs(softmax(in("a"), 1)); }},
      {"log_softmax_last", [](const Inputs& in) { return outs(log_softmax(in("a"), -1)); }},
      {"log_softmax_dim0", [](const Inputs& in) { return outs(in("a").log_softmax(0)); }},
      {"log_softmax_large", [](const Inputs& in) { return outs(log_softmax(in("a"), 1)); }},
      {"log_softmax_large_neg", [](const Inputs& in) { return outs(log_softmax(in("a"), 0)); }},

      // ---- matmul ----
      {"matmul_dot", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_mv", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_vm", [](const Inputs& in) { return outs(in("a").matmul(in("b"))); }},
      {"matmul_mm", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_mm_blas", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_mm_ta", [](const Inputs& in) { return outs(matmul(in("a").t(), in("b"))); }},
      {"matmul_mm_tb", [](const Inputs& in) { return outs(matmul(in("a"), in("b").t())); }},
      {"matmul_mm_tab_blas", [](const Inputs& in) { return outs(matmul(in("a").t(), in("b").t())); }},
      {"matmul_bmm", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_batch_broadcast", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_batch_2d", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_2d_batch", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_1d_batch", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_batch_1d", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_batch_transposed",
       [](const Inputs& in) { return outs(matmul(in("a").mT(), in("b").transpose(-1, -2))); }},
      {"matmul_batch_blas", [](const Inputs& in) { return outs(matmul(in("a"), in("b"))); }},
      {"matmul_batch_broadcast_blas_t", [](const Inputs& in) { return outs(matmul(in("a"), in("b").mT())); }},
      {"linear", [](const Inputs& in) { return outs(linear(in("x"), in("w"), in("b"))); }},
      {"linear_no_bias_3d", [](const Inputs& in) { return outs(linear(in("x"), in("w"))); }},
      {"linear_blas", [](const Inputs& in) { return outs(linear(in("x"), in("w"), in("b"))); }},
      {"mm", [](const Inputs& in) { return outs(mm(in("a"), in("b"))); }},
      {"dot", [](const Inputs& in) { return outs(dot(in("a"), in("b"))); }},
      {"lstsq", [](const Inputs& in) { return outs(lstsq(in("a"), in("b"))); }},
      {"lstsq_vector", [](const Inputs& in) { return outs(lstsq(in("a"), in("b"))); }},

      // ---- shapes and views ----
      {"view", [](const Inputs& in) { return outs(in("a").view({6, 4})); }},
      {"view_infer", [](const Inputs& in) { return outs(in("a").view({-1, 3})); }},
      {"reshape_noncontiguous", [](const Inputs& in) { return outs(in("a").t().reshape({-1})); }},
      {"reshape_0d", [](const Inputs& in) { return outs(in("a").reshape(Shape{})); }},
      {"transpose", [](const Inputs& in) { return outs(in("a").transpose(0, 2)); }},
      {"permute", [](const Inputs& in) { return outs(in("a").permute({2, 0, 1})); }},
      {"unsqueeze", [](const Inputs& in) { return outs(in("a").unsqueeze(1)); }},
      {"unsqueeze_neg", [](const Inputs& in) { return outs(in("a").unsqueeze(-1)); }},
      {"squeeze_all", [](const Inputs& in) { return outs(in("a").squeeze()); }},
      {"squeeze_dim", [](const Inputs& in) { return outs(in("a").squeeze(1)); }},
      {"squeeze_dim_noop", [](const Inputs& in) { return outs(in("a").squeeze(0)); }},
      {"flatten", [](const Inputs& in) { return outs(in("a").flatten()); }},
      {"flatten_range", [](const Inputs& in) { return outs(in("a").flatten(1, 2)); }},
      {"narrow", [](const Inputs& in) { return outs(in("a").narrow(1, 1, 2)); }},
      {"narrow_neg_start", [](const Inputs& in) { return outs(in("a").narrow(0, -2, 2)); }},
      {"select", [](const Inputs& in) { return outs(in("a").select(0, 1)); }},
      {"select_neg", [](const Inputs& in) { return outs(in("a").select(-1, -2)); }},
      {"expand", [](const Inputs& in) { return outs(in("a").expand({2, 3, 4})); }},
      {"expand_infer", [](const Inputs& in) { return outs(in("a").expand({-1, 5})); }},
      {"view_chain",
       [](const Inputs& in) { return outs(in("a").transpose(0, 1).narrow(0, 1, 2).unsqueeze(0) * in("b")); }},
      {"select_twice", [](const Inputs& in) { return outs(in("a").select(0, 0) + 2.0 * in("a").select(0, 2)); }},
      {"cat_dim0", [](const Inputs& in) { return outs(cat({in("a"), in("b")}, 0)); }},
      {"cat_dim1_three", [](const Inputs& in) { return outs(cat({in("a"), in("b"), in("c")}, 1)); }},
      {"cat_neg_dim_reuse", [](const Inputs& in) { return outs(cat({in("a"), in("b"), in("a")}, -1)); }},
      {"stack_dim0", [](const Inputs& in) { return outs(stack({in("a"), in("b")})); }},
      {"stack_dim1", [](const Inputs& in) { return outs(stack({in("a"), in("b"), in("c")}, 1)); }},
      {"stack_last", [](const Inputs& in) { return outs(stack({in("a"), in("b")}, -1)); }},

      // ---- indexing ----
      {"index_select_dim0", [](const Inputs& in) { return outs(index_select(in("a"), 0, in("i"))); }},
      {"index_select_dim1", [](const Inputs& in) { return outs(in("a").index_select(1, in("i"))); }},
      {"gather_dim1", [](const Inputs& in) { return outs(gather(in("a"), 1, in("i"))); }},
      {"gather_dim0", [](const Inputs& in) { return outs(in("a").gather(0, in("i"))); }},
      {"gather_3d", [](const Inputs& in) { return outs(gather(in("a"), -1, in("i"))); }},
      {"scatter_add_dim0", [](const Inputs& in) { return outs(scatter_add(in("a"), 0, in("i"), in("s"))); }},
      {"scatter_add_dim1", [](const Inputs& in) { return outs(scatter_add(in("a"), 1, in("i"), in("s"))); }},
      {"index_add_dim0", [](const Inputs& in) { return outs(index_add(in("a"), 0, in("i"), in("s"))); }},
      {"index_add_dim1", [](const Inputs& in) { return outs(index_add(in("a"), 1, in("i"), in("s"))); }},

      // ---- composites ----
      {"mlp_cross_entropy",
       [](const Inputs& in) {  // torch: F.cross_entropy
         Tensor h = relu(matmul(in("x"), in("w1")) + in("b1"));
         Tensor logits = matmul(h, in("w2")) + in("b2");
         return outs(-log_softmax(logits, 1).gather(1, in("t").unsqueeze(1)).mean());
       }},
      {"mlp_tanh_mse",
       [](const Inputs& in) {
         Tensor pred = matmul(tanh(matmul(in("x"), in("w1")) + in("b1")), in("w2"));
         return outs(pow(pred - in("y"), 2.0).mean());
       }},
      {"bce_with_logits",
       [](const Inputs& in) {
         Tensor p = sigmoid(in("z")), y = in("y");
         return outs(-(y * log(p) + (1.0 - y) * log(1.0 - p)).mean());
       }},
      {"layer_norm",
       [](const Inputs& in) {  // torch: F.layer_norm(x, (6,), w, b, eps=1e-5)
         Tensor x = in("x");
         Tensor normed = (x - x.mean(-1, true)) / sqrt(x.var(-1, 0, true) + 1e-5);
         return outs(normed * in("w") + in("b"));
       }},
      {"attention",
       [](const Inputs& in) {
         Tensor scores = matmul(in("q"), in("k").transpose(-2, -1)) / std::sqrt(8.0);
         return outs(matmul(softmax(scores, -1), in("v")));
       }},
      {"reuse_accumulate",
       [](const Inputs& in) {
         Tensor x = in("x");
         return outs(x * x + exp(x) * sin(x) + x);
       }},
      {"normalize_rows",
       [](const Inputs& in) { return outs(in("x") / in("x").abs().sum(1, true).clamp(1e-3)); }},
      {"logsumexp_manual",
       [](const Inputs& in) {
         Tensor x = in("x");
         Tensor m = std::get<0>(max(x, 1, true));
         return outs((x - m).exp().sum(1).log() + std::get<0>(max(x, 1)));
       }},
      {"inplace_on_nonleaf",
       [](const Inputs& in) {
         Tensor y = in("a") * 2.0;
         y.add_(in("b")).mul_(in("b"));
         return outs(y);
       }},
  };
  return cases;
}

// ---- checking ----
struct Totals {
  int cases = 0, failed_cases = 0, tensors = 0;
  int64_t elements = 0;
  double worst = 0;  // largest |c - r| / allowed over all float elements
  std::string worst_at;
};

// Compares ctorch's `got` with torch's `want`; reports each mismatch (up to a few per tensor) with the
// case, the role, the element's index and both values. Returns whether everything matched.
bool compare(const std::string& case_name, const RefTensor& want, const Tensor& got, Totals& totals) {
  std::string where = fmt::format("case {}: {}", case_name, want.role);
  if (!got.defined()) {
    FAIL_CHECK(where << ": ctorch gave no tensor (torch's has shape " << shape_str(want.shape) << ")");
    return false;
  }
  if (got.dtype() != want.dtype || !same_shape(got.sizes(), want.shape)) {
    FAIL_CHECK(where << ": ctorch has dtype " << dtype_name(got.dtype()) << " and shape " << shape_str(got.sizes())
                     << ", torch has " << dtype_name(want.dtype) << " and " << shape_str(want.shape));
    return false;
  }
  ++totals.tensors;
  totals.elements += got.numel();
  std::vector<double> c = got.to_vector<double>();
  double scale = 1;
  for (double r : want.values)
    if (std::isfinite(r)) scale = std::max(scale, std::abs(r));
  const double atol = kAtol * scale;
  int bad = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    double r = want.values[i], v = c[i];
    bool ok;
    if (want.dtype != kFloat32) ok = v == r;
    else if (std::isnan(r) || std::isnan(v)) ok = std::isnan(r) && std::isnan(v);
    else if (std::isinf(r) || std::isinf(v)) ok = v == r;
    else {
      double allowed = kRtol * std::abs(r) + atol, ratio = std::abs(v - r) / allowed;
      ok = ratio <= 1;
      if (ratio > totals.worst) {
        totals.worst = ratio;
        totals.worst_at = fmt::format("{} at {}", where, index_str(want.shape, static_cast<int64_t>(i)));
      }
    }
    if (ok) continue;
    if (++bad <= kMaxReportsPerTensor)
      FAIL_CHECK(where << " at " << index_str(want.shape, static_cast<int64_t>(i)) << ": ctorch "
                       << fmt::format("{:.9g}", v) << ", torch " << fmt::format("{:.9g}", r) << " (|diff| "
                       << fmt::format("{:.3g}", std::abs(v - r)) << ", allowed "
                       << fmt::format("{:.3g}", kRtol * std::abs(r) + atol) << ")");
  }
  if (bad > kMaxReportsPerTensor)
    FAIL_CHECK(where << ": " << bad << " of " << c.size() << " elements differ in all");
  return bad == 0;
}

// Runs one case in ctorch and checks its outputs and gradients; false on any mismatch or error.
bool check_case(const RefCase& rc, const CaseFn& fn, Totals& totals) {
  bool ok = true;
  Inputs in;
  for (const RefTensor& t : rc.tensors) {
    if (t.role.rfind("input:", 0) != 0) continue;
    std::string name = t.role.substr(6);
    Tensor x = to_tensor(t);
    if (rc.find("grad:" + name)) x.requires_grad_(true);
    in.tensors[name] = x;
  }
  TensorList got = fn(in);

  TensorList roots, seeds;
  size_t n_outputs = 0;
  for (const RefTensor& t : rc.tensors) {
    if (t.role.rfind("output:", 0) != 0) continue;
    size_t k = std::stoul(t.role.substr(7));
    ++n_outputs;
    if (k >= got.size()) {
      FAIL_CHECK("case " << rc.name << ": torch has " << t.role << " but ctorch returned " << got.size()
                         << " output(s)");
      ok = false;
      continue;
    }
    ok = compare(rc.name, t, got[k], totals) && ok;
    if (const RefTensor* g = rc.find("gout:" + std::to_string(k))) {
      if (!got[k].requires_grad()) {
        FAIL_CHECK("case " << rc.name << ": " << t.role << " requires grad in torch but not in ctorch");
        ok = false;
        continue;
      }
      roots.push_back(got[k]);
      seeds.push_back(to_tensor(*g));
    }
  }
  if (got.size() != n_outputs) {
    FAIL_CHECK("case " << rc.name << ": ctorch returned " << got.size() << " output(s), torch " << n_outputs);
    ok = false;
  }
  if (!roots.empty()) autograd::backward(roots, seeds);
  for (const RefTensor& t : rc.tensors)
    if (t.role.rfind("grad:", 0) == 0) ok = compare(rc.name, t, in(t.role.substr(5)).grad(), totals) && ok;
  return ok;
}

std::string reference_path() {
  const char* env = std::getenv("CTORCH_PARITY_REF");
  return env && *env ? env : CTORCH_PARITY_REF;
}

}  // namespace

TEST_CASE("parity with PyTorch 1.13: outputs and gradients of every op (tests/parity/gen_ops_ref.py)") {
  const std::string path = reference_path();
  RefFile ref;
  try {
    ref = parse(path);
  } catch (const std::exception& e) {
    FAIL(std::string(e.what()));
  }
  REQUIRE_MESSAGE(!ref.cases.empty(), "the reference file " << path << " has no cases");
  CHECK_MESSAGE(static_cast<int64_t>(ref.cases.size()) == ref.declared_cases,
                "the reference file " << path << " declares " << ref.declared_cases << " cases but holds "
                                      << ref.cases.size());

  const auto& registry = case_registry();
  Totals totals;
  std::set<std::string> seen;
  std::vector<std::string> missing, failed;
  for (const RefCase& rc : ref.cases) {
    CHECK_MESSAGE(seen.insert(rc.name).second, "case " << rc.name << " appears twice in " << path);
    auto it = registry.find(rc.name);
    if (it == registry.end()) {
      missing.push_back(rc.name);
      continue;
    }
    ++totals.cases;
    bool ok = false;
    try {
      ok = check_case(rc, it->second, totals);
    } catch (const std::exception& e) {
      FAIL_CHECK("case " << rc.name << " (" << path << ":" << rc.line << "): ctorch threw: " << std::string(e.what()));
    }
    if (!ok) failed.push_back(rc.name);
  }
  totals.failed_cases = static_cast<int>(failed.size());

  // Both directions: a torch case without ctorch code, and ctorch code whose case is gone from the file.
  CHECK_MESSAGE(missing.empty(), missing.size() << " case(s) of " << path << " have no C++ counterpart in "
                                                << "tests/parity/test_parity_ops.cpp: " << fmt::format("{}", fmt::join(missing, ", ")));
  std::vector<std::string> stale;
  for (const auto& [name, fn] : registry)
    if (!seen.count(name)) stale.push_back(name);
  CHECK_MESSAGE(stale.empty(), stale.size() << " C++ case(s) have no reference case in " << path << ": "
                                            << fmt::format("{}", fmt::join(stale, ", ")));
  CHECK_MESSAGE(totals.cases == static_cast<int>(ref.cases.size()),
                "checked " << totals.cases << " of the " << ref.cases.size() << " reference cases");
  CHECK_MESSAGE(failed.empty(), failed.size() << " case(s) differ from torch: " << fmt::format("{}", fmt::join(failed, ", ")));
  if (!ref.uncovered.empty())
    MESSAGE("WARNING: no parity case covers these functions of ops/*.hpp (add cases to "
            "tests/parity/gen_ops_ref.py and here): " << ref.uncovered);
  MESSAGE("parity with torch " << ref.torch_version << ": " << totals.cases << " cases checked, "
                               << totals.failed_cases << " failed, " << totals.tensors << " tensors / "
                               << totals.elements << " elements compared; worst |diff| / allowed = "
                               << fmt::format("{:.3f}", totals.worst) << " (" << totals.worst_at << "); " << path);
}
