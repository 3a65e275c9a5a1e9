// Every differentiable op: forward values against hand-computed numbers or PyTorch 1.13's (the
// torch expression is quoted; inputs A, B, C, P below), and autograd::gradcheck in float64 on random
// inputs kept away from the points where the op is not differentiable (0 for abs/relu/sqrt/log,
// ties for max/min/maximum, the bounds for clamp).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "helpers.hpp"

using namespace ctorch;
using test::Ints;
using test::shape_of;

namespace {

using Fn = std::function<Tensor(const TensorList&)>;
constexpr test::ValuesCheck check_values{1e-5};  // relative tolerance unless a check gives its own
// Same shape and values as a reference tensor.
void check_close(const Tensor& t, const Tensor& want, double tol = 1e-6) {
  check_values(t, shape_of(want), want.to_vector<double>(), tol);
}

// gradcheck that reports the mismatch instead of only failing.
bool grad_ok(const Fn& f, const TensorList& inputs, autograd::GradcheckOptions o = {}) {
  try {
    return autograd::gradcheck(f, inputs, o);
  } catch (const Error& e) {
    FAIL_CHECK(e.what());
    return false;
  }
}

// The fixed inputs of the forward checks (float32, torch's default dtype).
Tensor A() { return tensor({{0.5f, -1.2f, 2.0f}, {1.5f, 0.3f, -0.7f}}); }
Tensor B() { return tensor({0.8f, -0.4f, 1.1f}); }
Tensor C() { return tensor({{2.0f}, {-0.5f}}); }
Tensor P() { return tensor({{0.5f, 1.2f, 2.0f}, {1.5f, 0.3f, 0.7f}}); }

// Random float64 leaves for gradcheck.
Tensor uniform(const Ints& shape, double lo, double hi) {
  return (rand(shape, kFloat64) * (hi - lo) + lo).requires_grad_();
}
// |x| in [lo, hi] with a random sign: away from 0.
Tensor away_from_zero(const Ints& shape, double lo, double hi) {
  Tensor mag = rand(shape, kFloat64) * (hi - lo) + lo;
  Tensor sign = (rand(shape, kFloat64) > 0.5).to(kFloat64) * 2 - 1;
  return (mag * sign).requires_grad_();
}
// Distinct values 0.1 apart (plus offset), in random order: no ties.
Tensor distinct(const Ints& shape, double offset = 0) {
  return (randperm(numel_of(shape)).to(kFloat64) * 0.1 - 0.5 + offset).reshape(shape).contiguous().requires_grad_();
}

// matmul as broadcast multiply and sum: the oracle for every rank combination.
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  Tensor x = a.dim() == 1 ? a.unsqueeze(0) : a, y = b.dim() == 1 ? b.unsqueeze(1) : b;
  Tensor r = (x.unsqueeze(-1) * y.unsqueeze(-3)).sum(-2);
  if (a.dim() == 1) r = r.squeeze(-2);
  if (b.dim() == 1) r = r.squeeze(-1);
  return r;
}

}  // namespace

// ---- elementwise arithmetic ----

TEST_CASE("add, sub, mul, div: broadcast values and gradcheck") {
  check_values(A() + B(), {2, 3}, {1.3, -1.6, 3.1, 2.3, -0.1, 0.4});
  check_values(A() - C(), {2, 3}, {-1.5, -3.2, 0, 2, 0.8, -0.2});
  check_values(A() * B(), {2, 3}, {0.4, 0.48, 2.2, 1.2, -0.12, -0.77});
  check_values(A() / B(), {2, 3}, {0.625, 3, 1.81818182, 1.875, -0.75, -0.636363636});
  check_values(A().add(B(), 2), {2, 3}, {2.1, -2.0, 4.2, 3.1, -0.5, 1.5});  // torch.add(A, B, alpha=2)
  check_values(A().sub(B(), 0.5), {2, 3}, {0.1, -1.0, 1.45, 1.1, 0.5, -1.25});
  check_values(-A(), {2, 3}, {-0.5, 1.2, -2, -1.5, -0.3, 0.7});

  manual_seed(10);
  Tensor a = uniform({2, 3}, -2, 2), b = uniform({3}, -2, 2), c = uniform({2, 1}, -2, 2);
  Tensor d = away_from_zero({2, 1}, 0.5, 2), s = uniform({}, -2, 2);
  CHECK(grad_ok([](const TensorList& x) { return x[0] + x[1]; }, {a, b}));
  CHECK(grad_ok([](const TensorList& x) { return x[0].add(x[1], -2.5); }, {a, c}));
  CHECK(grad_ok([](const TensorList& x) { return x[0] - x[1]; }, {c, b}));
  CHECK(grad_ok([](const TensorList& x) { return x[0].sub(x[1], 3); }, {a, s}));
  CHECK(grad_ok([](const TensorList& x) { return x[0] * x[1]; }, {a, c}));
  CHECK(grad_ok([](const TensorList& x) { return x[0] * x[1] * x[0]; }, {s, b}));
  CHECK(grad_ok([](const TensorList& x) { return x[0] / x[1]; }, {a, d}));
  CHECK(grad_ok([](const TensorList& x) { return 2.0 / x[0] - x[0] / 3.0; }, {d}));
  CHECK(grad_ok([](const TensorList& x) { return -x[0]; }, {a}));
}

TEST_CASE("exp, log, sqrt, abs, sin, cos, square: values and gradcheck") {
  check_values(A().exp(), {2, 3}, {1.64872127, 0.301194212, 7.3890561, 4.48168907, 1.34985881, 0.496585304});
  check_values(P().log(), {2, 3}, {-0.693147181, 0.182321557, 0.693147181, 0.405465108, -1.2039728, -0.356674944});
  check_values(P().sqrt(), {2, 3}, {0.707106781, 1.09544512, 1.41421356, 1.22474487, 0.547722558, 0.836660027});
  check_values(A().abs(), {2, 3}, {0.5, 1.2, 2, 1.5, 0.3, 0.7});
  check_values(A().sin(), {2, 3}, {0.479425539, -0.932039086, 0.909297427, 0.997494987, 0.295520207, -0.644217687});
  check_values(A().cos(), {2, 3}, {0.877582562, 0.362357754, -0.416146837, 0.0707372017, 0.955336489, 0.764842187});
  check_values(A().square(), {2, 3}, {0.25, 1.44, 4, 2.25, 0.09, 0.49});
  CHECK(tensor({-3, 4}).abs().to_vector<int64_t>() == Ints{3, 4});

  manual_seed(11);
  Tensor x = uniform({2, 3}, -2, 2), pos = uniform({2, 3}, 0.2, 3), nz = away_from_zero({2, 3}, 0.1, 2);
  CHECK(grad_ok([](const TensorList& t) { return t[0].exp(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].log(); }, {pos}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sqrt(); }, {pos}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].abs(); }, {nz}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sin(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].cos(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].square(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return (t[0].sin() * t[0].exp()).sqrt(); }, {uniform({4}, 0.3, 2.5)}));
}

TEST_CASE("pow: tensor exponent, number exponent and number base") {
  check_values(pow(P(), A()), {2, 3}, {0.707106781, 0.803493753, 4, 1.83711731, 0.696845302, 1.28360492});
  check_values(P().pow(2.5), {2, 3}, {0.176776695, 1.57744097, 5.65685425, 2.75567596, 0.0492950302, 0.409963413});
  check_values(P().pow(-1.5), {2, 3}, {2.82842712, 0.760725774, 0.353553391, 0.544331054, 6.08580619, 1.70746944});
  check_values(pow(2.0, A()), {2, 3}, {1.41421356, 0.435275282, 4, 2.82842712, 1.23114441, 0.615572207});
  check_values(A().pow(3), {2, 3}, {0.125, -1.728, 8, 3.375, 0.027, -0.343});
  check_values(A().pow(0), {2, 3}, {1, 1, 1, 1, 1, 1});
  CHECK(tensor({2, 3}).pow(tensor({3, 2})).to_vector<int64_t>() == Ints{8, 9});

  // torch: x = A (f64); (2 ** x).sum().backward() -> x.grad = 2^x ln 2
  Tensor x = A().to(kFloat64).requires_grad_();
  pow(2.0, x).sum().backward();
  check_values(x.grad(), {2, 3}, {0.980258143, 0.301709834, 2.77258872, 1.96051629, 0.853364279, 0.426682139}, 1e-7);
  Tensor z = A().requires_grad_();
  z.pow(0).sum().backward();
  check_values(z.grad(), {2, 3}, {0, 0, 0, 0, 0, 0});

  manual_seed(12);
  Tensor base = uniform({2, 3}, 0.3, 2), e = uniform({2, 3}, -2, 2), row = uniform({3}, -1.5, 1.5);
  Tensor any = uniform({2, 3}, -2, 2);
  CHECK(grad_ok([](const TensorList& t) { return pow(t[0], t[1]); }, {base, e}));
  CHECK(grad_ok([](const TensorList& t) { return pow(t[0], t[1]); }, {base, row}));  // broadcast exponent
  CHECK(grad_ok([](const TensorList& t) { return t[0].pow(2.5); }, {base}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].pow(-1.5); }, {base}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].pow(3); }, {any}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].pow(1); }, {any}));
  CHECK(grad_ok([](const TensorList& t) { return pow(2.0, t[0]); }, {any}));
  CHECK(grad_ok([](const TensorList& t) { return pow(0.5, t[0] * t[0]); }, {any}));
}

// ---- activations ----

TEST_CASE("relu, sigmoid, tanh: values, gradcheck, no overflow at large inputs") {
  check_values(A().relu(), {2, 3}, {0.5, 0, 2, 1.5, 0.3, 0});
  check_values(A().sigmoid(), {2, 3}, {0.622459331, 0.231475217, 0.880797078, 0.817574476, 0.574442517, 0.331812228});
  check_values(A().tanh(), {2, 3}, {0.462117157, -0.833654607, 0.96402758, 0.905148254, 0.291312612, -0.604367777});
  CHECK(tensor({-3, 2}).relu().to_vector<int64_t>() == Ints{0, 2});
  Tensor si = tensor({0, 2}).sigmoid();  // integers compute in float32, like torch
  CHECK(si.dtype() == kFloat32);
  check_values(si, {2}, {0.5, 0.880797078});
  check_values(tensor({0, 2}).tanh(), {2}, {0, 0.96402758});
  Tensor big = tensor({-1000.f, 1000.f}).requires_grad_();
  Tensor s = big.sigmoid();
  check_values(s, {2}, {0, 1});
  check_values(big.tanh(), {2}, {-1, 1});
  s.sum().backward();
  check_values(big.grad(), {2}, {0, 0});

  manual_seed(13);
  Tensor x = uniform({3, 4}, -3, 3), nz = away_from_zero({3, 4}, 0.1, 2);
  CHECK(grad_ok([](const TensorList& t) { return t[0].relu(); }, {nz}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sigmoid(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].tanh(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return (t[0].tanh() * t[0]).relu(); }, {nz}));
}

TEST_CASE("clamp: both bounds, min only, max only; the gradient passes inside the bounds") {
  check_values(A().clamp(-0.5, 1.0), {2, 3}, {0.5, -0.5, 1, 1, 0.3, -0.5});
  check_values(A().clamp(0.0), {2, 3}, {0.5, 0, 2, 1.5, 0.3, 0});
  check_values(A().clamp(std::nullopt, 0.4), {2, 3}, {0.4, -1.2, 0.4, 0.4, 0.3, -0.7});
  check_values(A().clamp(1.0, 0.0), {2, 3}, {0, 0, 0, 0, 0, 0});  // min > max: max wins, like torch
  Tensor x = A().requires_grad_();
  x.clamp(-0.5, 1.0).sum().backward();
  check_values(x.grad(), {2, 3}, {1, 0, 0, 0, 1, 0});

  manual_seed(14);
  // 0.3 k - 1.45: -1.45 ... 0.65, never within 0.05 of the bounds +-0.5
  Tensor v = (randperm(8).to(kFloat64) * 0.3 - 1.45).reshape({2, 4}).contiguous().requires_grad_();
  CHECK(grad_ok([](const TensorList& t) { return t[0].clamp(-0.5, 0.5); }, {v}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].clamp(-0.5); }, {v}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].clamp(std::nullopt, 0.5) * t[0]; }, {v}));
}

TEST_CASE("maximum and minimum: values, gradcheck, ties split the gradient") {
  check_values(maximum(A(), B()), {2, 3}, {0.8, -0.4, 2, 1.5, 0.3, 1.1});
  check_values(minimum(A(), C()), {2, 3}, {0.5, -1.2, 2, -0.5, -0.5, -0.7});
  // torch: maximum([1, 2], [1, 3]) -> grads [0.5, 0] and [0.5, 1]
  Tensor a = tensor({1.f, 2.f}).requires_grad_(), b = tensor({1.f, 3.f}).requires_grad_();
  maximum(a, b).sum().backward();
  check_values(a.grad(), {2}, {0.5, 0});
  check_values(b.grad(), {2}, {0.5, 1});
  CHECK(std::isnan(maximum(tensor({NAN, 1.f}), tensor({0.f, NAN})).to_vector<float>()[0]));

  manual_seed(15);
  Tensor x = distinct({2, 3}), y = distinct({3}, 0.05), z = distinct({2, 1}, 0.05);
  CHECK(grad_ok([](const TensorList& t) { return maximum(t[0], t[1]); }, {x, y}));
  CHECK(grad_ok([](const TensorList& t) { return minimum(t[0], t[1]); }, {x, z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].maximum(t[1]) * t[0].minimum(t[1]); }, {x, z}));
}

TEST_CASE("where and masked_fill: values and gradcheck with broadcasting") {
  Tensor cond = A() > 0.0;
  check_values(where(cond, A(), B()), {2, 3}, {0.5, -0.4, 2, 1.5, 0.3, 1.1});
  check_values(A().masked_fill(A() < 0.0, -9), {2, 3}, {0.5, -9, 2, 1.5, 0.3, -9});
  check_values(A().masked_fill(tensor({true, false, false}), 0), {2, 3}, {0, -1.2, 2, 0, 0.3, -0.7});

  manual_seed(16);
  Tensor c = tensor({{true}, {false}});  // [2, 1]
  Tensor a = uniform({3}, -1, 1), b = uniform({2, 3}, -1, 1);
  CHECK(grad_ok([c](const TensorList& t) { return where(c, t[0], t[1]); }, {a, b}));
  CHECK(grad_ok([](const TensorList& t) { return where(t[0] > 0.0, t[0] * t[0], t[0].exp()); }, {b}));
  Tensor mask = tensor({{true, false, true}, {false, false, true}});
  CHECK(grad_ok([mask](const TensorList& t) { return t[0].masked_fill(mask, 2.5) * t[0]; }, {b}));
  Tensor g = b.detach().clone().requires_grad_();
  where(c, g, scalar_tensor(0.0, kFloat64)).sum().backward();
  check_values(g.grad(), {2, 3}, {1, 1, 1, 0, 0, 0});
}

// ---- reductions ----

TEST_CASE("sum and mean: all elements, dims, negative dims, keepdim") {
  check_values(A().sum(), {}, {2.4});
  check_values(A().sum(0), {3}, {2, -0.9, 1.3});
  check_values(A().sum(1, true), {2, 1}, {1.3, 1.1});
  check_values(A().sum(-1), {2}, {1.3, 1.1});
  check_values(A().t().sum(0), {2}, {1.3, 1.1});  // a non-contiguous input
  check_values(A().mean(), {}, {0.4});
  check_values(A().mean(1), {2}, {0.433333333, 0.366666667});
  check_values(A().mean(Shape{0, 1}, true), {1, 1}, {0.4});
  Tensor r = arange(24, kFloat32).view({2, 3, 4});
  check_values(r.sum(Shape{0, 2}), {3}, {60, 92, 124});
  check_values(r.sum(Shape{2, 0}, true), {1, 3, 1}, {60, 92, 124});
  CHECK(tensor({1, 2, 3}).sum().item<int64_t>() == 6);

  manual_seed(17);
  Tensor x = uniform({2, 3, 4}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].sum(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sum(1); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sum(Shape{0, 2}, true); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].sum(-1, true) * t[0]; }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].mean(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].mean(Shape{-1, 0}); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].mean(1, true); }, {x}));
}

TEST_CASE("var and std: all elements and along dims, with corrections") {
  check_values(A().var(), {}, {1.512});
  check_values(A().var(0), {3}, {0.5, 1.125, 3.645});
  check_values(A().std(1, 1, true), {2, 1}, {1.60104133, 1.10151411});
  check_values(A().var(1, 0), {2}, {1.70888889, 0.808888889});  // torch: A.var(1, unbiased=False)
  check_values(A().std(), {}, {1.22963409});
  check_values(ctorch::var(A(), {}, 0), {}, {1.26});
  // torch: x = A (f64); x.std().backward()
  Tensor x = A().to(kFloat64).requires_grad_();
  x.std().backward();
  check_values(x.grad(), {2, 3},
               {0.0162650012, -0.260240019, 0.260240019, 0.178915013, -0.0162650012, -0.178915013}, 1e-7);

  manual_seed(18);
  Tensor y = uniform({3, 4}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].var(); }, {y}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].var(0); }, {y}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].var(1, 0, true); }, {y}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].std(); }, {y}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].std(-1); }, {y}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].std(Shape{0, 1}, 1, true); }, {y}));
}

TEST_CASE("max and min: of all elements and along a dim, with indices") {
  check_values(A().max(), {}, {2});
  check_values(A().min(), {}, {-1.2});
  auto [mv, mi] = A().max(1);
  check_values(mv, {2}, {2, 1.5});
  CHECK(mi.dtype() == kInt64);
  CHECK(mi.to_vector<int64_t>() == Ints{2, 0});
  auto [nv, ni] = A().min(0, true);
  check_values(nv, {1, 3}, {0.5, -1.2, -0.7});
  CHECK(ni.to_vector<int64_t>() == Ints{0, 0, 1});
  CHECK(A().argmax().item<int64_t>() == 2);
  CHECK(A().argmin(1).to_vector<int64_t>() == Ints{1, 2});
  // torch: max() of all elements shares the gradient between ties
  Tensor t = tensor({1.f, 3.f, 3.f}).requires_grad_();
  t.max().backward();
  check_values(t.grad(), {3}, {0, 0.5, 0.5});
  Tensor u = A().requires_grad_();
  std::get<0>(u.max(0)).sum().backward();
  check_values(u.grad(), {2, 3}, {0, 0, 1, 1, 1, 0});

  manual_seed(19);
  Tensor x = distinct({3, 4});
  CHECK(grad_ok([](const TensorList& v) { return v[0].max(); }, {x}));
  CHECK(grad_ok([](const TensorList& v) { return v[0].min(); }, {x}));
  CHECK(grad_ok([](const TensorList& v) { return std::get<0>(v[0].max(1)); }, {x}));
  CHECK(grad_ok([](const TensorList& v) { return std::get<0>(v[0].max(0, true)); }, {x}));
  CHECK(grad_ok([](const TensorList& v) { return std::get<0>(v[0].min(-1)); }, {x}));
  CHECK(grad_ok([](const TensorList& v) { return std::get<0>(v[0].min(0, true)) * 2; }, {x}));
}

TEST_CASE("softmax and log_softmax: values, gradcheck on every dim, huge logits stay finite") {
  check_values(A().softmax(1), {2, 3},
               {0.176542059, 0.0322513255, 0.791206616, 0.708216616, 0.213310746, 0.0784726379});
  check_values(A().softmax(0), {2, 3},
               {0.268941421, 0.182425524, 0.937026644, 0.731058579, 0.817574476, 0.0629733561});
  check_values(A().log_softmax(1), {2, 3},
               {-1.73419614, -3.43419614, -0.234196137, -0.345005277, -1.54500528, -2.54500528});
  check_values(A().log_softmax(-2), {2, 3},
               {-1.31326169, -1.70141328, -0.0650435618, -0.313261688, -0.201413278, -2.76504356});
  // torch: x = A (f64); (x.softmax(1) * [1, 2, 3]).sum().backward()
  Tensor x = A().to(kFloat64).requires_grad_();
  (x.softmax(1) * tensor({1, 2, 3}, kFloat64)).sum().backward();
  check_values(x.grad(), {2, 3},
               {-0.285056205, -0.0198237467, 0.304879952, -0.262221467, 0.134331158, 0.127890309}, 1e-7);

  // huge logits: torch.tensor([1e4, 0, -1e4]).softmax(0) == [1, 0, 0]
  Tensor huge = tensor({1e4f, 0.f, -1e4f}).requires_grad_();
  Tensor sm = huge.softmax(0);
  check_values(sm, {3}, {1, 0, 0});
  (sm * tensor({1.f, 2.f, 3.f})).sum().backward();
  for (float g : huge.grad().to_vector<float>()) CHECK(std::isfinite(g));
  // torch.tensor([1e4, 1e4 + 1, -1e4]).log_softmax(0)
  check_values(tensor({1e4f, 1e4f + 1, -1e4f}).log_softmax(0), {3}, {-1.31326163, -0.313261658, -20001.3125});
  check_values(tensor({1e4, 1e4 + 1, -1e4}, kFloat64).log_softmax(0), {3}, {-1.31326169, -0.313261688, -20001.3133});
  Tensor rows = tensor({{1e4f, -1e4f}, {-1e4f, 1e4f}});
  check_values(rows.softmax(1), {2, 2}, {1, 0, 0, 1});
  check_values(rows.log_softmax(-1), {2, 2}, {0, -2e4, -2e4, 0});

  manual_seed(20);
  Tensor y = uniform({2, 3, 4}, -2, 2);
  for (int64_t d : {0, 1, 2, -1}) {
    CAPTURE(d);
    CHECK(grad_ok([d](const TensorList& t) { return t[0].softmax(d); }, {y}));
    CHECK(grad_ok([d](const TensorList& t) { return t[0].log_softmax(d); }, {y}));
  }
}

TEST_CASE("softmax and log_softmax in float32: long rows match float64 within 1e-6; -inf, NaN as in torch") {
  // rows longer than the kernels' vector lanes, with ragged tails, along the last and a middle dim;
  // probabilities to 1e-7 absolute (x - max is rounded to float first, so tiny ones carry its
  // relative error), log-probabilities to 1e-6 relative
  manual_seed(3);
  Tensor x = randn({3, 37, 5}) * 8.0;
  for (int64_t d : {1, -1}) {
    CAPTURE(d);
    std::vector<double> w = x.to(kFloat64).softmax(d).to_vector<double>(), g = x.softmax(d).to_vector<double>();
    for (size_t i = 0; i < w.size(); ++i) CHECK(std::abs(g[i] - w[i]) <= 1e-7);
    w = x.to(kFloat64).log_softmax(d).to_vector<double>(), g = x.log_softmax(d).to_vector<double>();
    for (size_t i = 0; i < w.size(); ++i) CHECK(g[i] == doctest::Approx(w[i]).epsilon(1e-6));
  }
  // torch: masked logits (-inf) get probability 0; a row of -inf only, or with a NaN, gives NaN
  float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  check_values(tensor({0.f, -inf, 1.f}).softmax(0), {3}, {0.268941421, 0, 0.731058579});
  std::vector<float> logp = tensor({0.f, -inf, 1.f}).log_softmax(0).to_vector<float>();
  CHECK(logp[0] == doctest::Approx(-1.31326163));
  CHECK(logp[1] == -inf);
  CHECK(logp[2] == doctest::Approx(-0.313261628));
  for (const Tensor& row : {tensor({-inf, -inf}), tensor({0.f, nan, 1.f})})
    for (float v : row.softmax(0).to_vector<float>()) CHECK(std::isnan(v));
  // exp's range: e^-87 is float's smallest normal neighbourhood, e^-88.7 underflows
  Tensor far = tensor({0.f, -80.f, -87.5f, -100.f}).softmax(0);
  std::vector<float> f = far.to_vector<float>();
  CHECK(f[0] == 1.f);
  CHECK(f[1] == doctest::Approx(std::exp(-80.0)).epsilon(1e-6).scale(1e-40));
  CHECK(f[2] >= 0.f);
  CHECK(f[2] < 1e-37f);
  CHECK(f[3] == 0.f);
}

// ---- linear algebra ----

TEST_CASE("matmul: 1-D and 2-D operands in every combination") {
  Tensor m = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});  // [2, 3]
  Tensor v = tensor({1.f, 0.f, -1.f});                     // [3]
  Tensor w = tensor({2.f, -1.f});                          // [2]
  Tensor n = tensor({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}});  // [3, 2]
  check_values(matmul(v, v), {}, {2});
  check_values(matmul(m, v), {2}, {-2, -2});
  check_values(matmul(w, m), {3}, {-2, -1, 0});
  check_values(matmul(m, n), {2, 2}, {4, 5, 10, 11});
  check_values(m.matmul(n.t().t()), {2, 2}, {4, 5, 10, 11});
  check_values(matmul(n.t(), m.t()), {2, 2}, {4, 10, 5, 11});  // (m n)^T from transposed views
  check_values(matmul(tensor({{1, 2}, {3, 4}}), tensor({{5}, {6}})), {2, 1}, {17, 39});  // int64
  check_values(matmul(zeros({2, 0}), zeros({0, 3})), {2, 3}, {0, 0, 0, 0, 0, 0});       // K = 0
  Tensor big_a = arange(64 * 48, kFloat32).view({64, 48}) / 1000.0;
  Tensor big_b = arange(48 * 32, kFloat32).view({48, 32}) / 1000.0;
  check_close(matmul(big_a, big_b), reference_matmul(big_a, big_b), 1e-5);  // the BLAS path
  check_close(matmul(big_b.t(), big_a.t()), reference_matmul(big_a, big_b).t(), 1e-5);

  manual_seed(21);
  Tensor a = uniform({3, 4}, -1, 1), b = uniform({4, 2}, -1, 1), x = uniform({4}, -1, 1), y = uniform({3}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {x, x.detach().clone().requires_grad_()}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a, x}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {y, a}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a, b}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[1].t(), t[0].t()); }, {a, b}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[0].t()); }, {a}));
}

TEST_CASE("matmul: batched, with broadcast batch dims and transposed operands") {
  manual_seed(22);
  Tensor a3 = uniform({2, 3, 4}, -1, 1), b2 = uniform({4, 5}, -1, 1), b3 = uniform({2, 4, 5}, -1, 1);
  Tensor a4 = uniform({2, 1, 3, 4}, -1, 1), b3x = uniform({3, 4, 2}, -1, 1), v = uniform({4}, -1, 1);
  Tensor w = uniform({3}, -1, 1), one = uniform({1, 3, 4}, -1, 1);
  struct Case { const char* name; Tensor a, b; Ints shape; };
  std::vector<Case> cases = {
      {"[2,3,4] @ [4,5]", a3, b2, {2, 3, 5}},
      {"[2,3,4] @ [2,4,5]", a3, b3, {2, 3, 5}},
      {"[2,1,3,4] @ [3,4,2]", a4, b3x, {2, 3, 3, 2}},
      {"[2,3,4] @ [4]", a3, v, {2, 3}},
      {"[3] @ [2,3,4]", w, a3, {2, 4}},
      {"[1,3,4] @ [2,4,5]", one, b3, {2, 3, 5}},
      {"[2,3,4]^T(-2,-1) @ [2,3,4]", a3.mT(), a3, {2, 4, 4}},
      {"[4,5] @ [2,5,4]^T", b2.t(), b3.transpose(1, 2).contiguous().transpose(1, 2), {2, 5, 5}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Tensor r = matmul(c.a, c.b);
    CHECK(shape_of(r) == c.shape);
    check_close(r, reference_matmul(c.a.detach(), c.b.detach()), 1e-10);
  }
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a3, b2}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a3, b3}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a4, b3x}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {a3, v}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {w, a3}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0], t[1]); }, {one, b3}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[0].mT(), t[0]); }, {a3}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[1].mT(), t[0]); }, {b2, b3}));
  CHECK(grad_ok([](const TensorList& t) { return matmul(t[1], t[0].t()); }, {b2, b3}));
}

TEST_CASE("mm and dot") {
  check_values(mm(tensor({{1.f, 2.f}}), tensor({{3.f}, {4.f}})), {1, 1}, {11});
  check_values(dot(tensor({1.f, 2.f, 3.f}), tensor({4.f, -5.f, 6.f})), {}, {12});
  check_values(tensor({{1.f, 2.f}, {3.f, 4.f}}).mm(eye(2)), {2, 2}, {1, 2, 3, 4});
  manual_seed(23);
  Tensor a = uniform({2, 3}, -1, 1), b = uniform({3, 4}, -1, 1), x = uniform({5}, -1, 1), y = uniform({5}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return mm(t[0], t[1]); }, {a, b}));
  CHECK(grad_ok([](const TensorList& t) { return mm(t[1].t(), t[0].t()); }, {a, b}));
  CHECK(grad_ok([](const TensorList& t) { return dot(t[0], t[1]); }, {x, y}));
}

TEST_CASE("linear: strided and N-D inputs give what matmul gives; gradcheck") {
  manual_seed(25);
  Tensor w = uniform({4, 3}, -1, 1), b = uniform({4}, -1, 1);
  // a permuted 3-D input is not contiguous: linear reads a row-major copy of it
  Tensor x = uniform({3, 2, 5}, -1, 1).permute({1, 2, 0});  // [2, 5, 3]
  REQUIRE_FALSE(x.is_contiguous());
  std::vector<double> want = (matmul(x.contiguous(), w.t()) + b).to_vector<double>();
  check_values(linear(x, w, b), {2, 5, 4}, want);
  check_values(linear(x.select(0, 1).t().t(), w, b), {5, 4},  // 2-D with the same strides as x's rows
               std::vector<double>(want.begin() + 20, want.end()));
  CHECK(grad_ok([](const TensorList& t) { return linear(t[0].permute({1, 2, 0}), t[1], t[2]); },
                {uniform({3, 2, 5}, -1, 1), w, b}));
  CHECK(grad_ok([](const TensorList& t) { return linear(t[0].t(), t[1], t[2]); }, {uniform({3, 5}, -1, 1), w, b}));
}

// ---- shapes and views ----

TEST_CASE("view, reshape, flatten: values follow row-major order; gradcheck") {
  Tensor a = arange(6, kFloat32);
  check_values(a.view({2, 3}).t().reshape({6}), {6}, {0, 3, 1, 4, 2, 5});
  check_values(a.view({3, -1}).flatten(), {6}, {0, 1, 2, 3, 4, 5});
  manual_seed(24);
  Tensor x = uniform({2, 3, 4}, -1, 1);
  Tensor w = uniform({24}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].view({6, 4}); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].view({-1}) * t[1]; }, {x, w}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].transpose(0, 2).reshape({4, 6}); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].flatten(1); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].permute({1, 2, 0}).flatten(0, 1); }, {x}));
}

TEST_CASE("transpose, t, permute, unsqueeze, squeeze, expand: gradcheck") {
  manual_seed(25);
  Tensor x = uniform({2, 3, 4}, -1, 1), m = uniform({3, 1}, -1, 1), s = uniform({2, 1, 3, 1}, -1, 1);
  Tensor wx = uniform({4, 3, 2}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].transpose(0, 2) * t[1]; }, {x, wx}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].t(); }, {m}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].permute({2, 0, 1}); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].permute({2, 0, 1}).permute({1, 2, 0}) * t[0]; }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].unsqueeze(1).unsqueeze(-1); }, {m}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].squeeze(); }, {s}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].squeeze(1).squeeze(-1); }, {s}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].expand({2, 3, 5}); }, {m}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].expand({2, 3, 4}) * t[1]; }, {m, x}));
  check_values(tensor({{1.f, 2.f}}).expand({3, 2}) * tensor({{1.f}, {2.f}, {3.f}}), {3, 2}, {1, 2, 2, 4, 3, 6});
}

TEST_CASE("narrow, slice, select: values and gradients landing in the picked places") {
  Tensor a = arange(12, kFloat32).view({3, 4});
  check_values(a.narrow(1, 1, 2), {3, 2}, {1, 2, 5, 6, 9, 10});
  check_values(a.slice(1, 0, 4, 3), {3, 2}, {0, 3, 4, 7, 8, 11});
  check_values(a.select(1, -1), {3}, {3, 7, 11});
  Tensor x = zeros({3, 4}, requires_grad());
  (x.slice(1, 1, std::nullopt, 2) * 2).sum().backward();
  check_values(x.grad(), {3, 4}, {0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2});
  Tensor y = zeros({3, 4}, requires_grad());
  (y.select(0, 1) + y.narrow(0, 1, 2).sum(0)).sum().backward();
  check_values(y.grad(), {3, 4}, {0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1});

  manual_seed(26);
  Tensor z = uniform({4, 5}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].narrow(0, 1, 2); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].narrow(-1, -3, 3); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].slice(1, 1, 5, 2); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].slice(0, -3) * t[0].slice(0, 0, 3); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].select(0, 2); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].select(1, -1) * t[0].select(1, 0); }, {z}));
  CHECK(grad_ok([](const TensorList& t) { return t[0][1]; }, {z}));
}

TEST_CASE("contiguous, clone and to(float64 -> float32) pass gradients through") {
  manual_seed(27);
  Tensor x = uniform({3, 4}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return t[0].t().contiguous(); }, {x}));
  CHECK(grad_ok([](const TensorList& t) { return t[0].clone() * t[0]; }, {x}));
  // through float32: a coarser finite difference step, since float32 rounds at about 1e-7
  autograd::GradcheckOptions coarse{1e-2, 1e-3, 1e-3};
  CHECK(grad_ok([](const TensorList& t) { return (t[0].to(kFloat32) * 3).to(kFloat64); }, {x}, coarse));
  Tensor d = tensor({1.5, -2.0}, kFloat64).requires_grad_();
  Tensor f = d.to(kFloat32);
  CHECK(f.dtype() == kFloat32);
  CHECK(f.grad_fn()->name() == std::string("ToCopyBackward0"));
  (f * tensor({2.f, 3.f})).sum().backward();
  CHECK(d.grad().dtype() == kFloat64);
  check_values(d.grad(), {2}, {2, 3});
  Tensor c = tensor({1.f, 2.f}).requires_grad_();
  Tensor cl = c.clone();
  CHECK_FALSE(cl.shares_storage(c));
  CHECK(cl.grad_fn()->name() == std::string("CloneBackward0"));
}

TEST_CASE("cat and stack: values, promotion and gradients split back") {
  Tensor a = tensor({{1.f, 2.f}, {3.f, 4.f}}), b = tensor({{5.f, 6.f}});
  check_values(cat({a, b}), {3, 2}, {1, 2, 3, 4, 5, 6});
  check_values(cat({a, a.t()}, 1), {2, 4}, {1, 2, 1, 3, 3, 4, 2, 4});
  check_values(cat({b, b}, -1), {1, 4}, {5, 6, 5, 6});
  Tensor mixed = cat({tensor({1, 2}), tensor({0.5f})});
  CHECK(mixed.dtype() == kFloat32);
  check_values(mixed, {3}, {1, 2, 0.5});
  check_values(stack({tensor({1.f, 2.f}), tensor({3.f, 4.f})}), {2, 2}, {1, 2, 3, 4});
  check_values(stack({tensor({1.f, 2.f}), tensor({3.f, 4.f})}, 1), {2, 2}, {1, 3, 2, 4});
  CHECK(shape_of(stack({a, a, a}, -1)) == Ints{2, 2, 3});

  manual_seed(28);
  Tensor x = uniform({2, 3}, -1, 1), y = uniform({1, 3}, -1, 1), z = uniform({2, 2}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return cat({t[0], t[1]}, 0); }, {x, y}));
  CHECK(grad_ok([](const TensorList& t) { return cat({t[0], t[1], t[0]}, 1); }, {x, z}));
  Tensor x2 = uniform({2, 3}, -1, 1);
  CHECK(grad_ok([](const TensorList& t) { return stack({t[0], t[1] * 2}, 1); }, {x, x2}));
  CHECK(grad_ok([](const TensorList& t) { return stack({t[0], t[0].sin()}, -1); }, {z}));
}

// ---- indexing ----

TEST_CASE("index_select and index_add: values, repeated indices, gradcheck") {
  Tensor idx = tensor({2, 0, 2});
  check_values(A().index_select(1, idx), {2, 3}, {2, 0.5, 2, -0.7, 1.5, -0.7});
  check_values(A().index_select(0, tensor({1})), {1, 3}, {1.5, 0.3, -0.7});
  check_values(A().index_select(-1, tensor({2})), {2, 1}, {2, -0.7});
  Tensor r = index_add(zeros({3, 2}), 0, tensor({0, 2, 0}), tensor({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}}));
  check_values(r, {3, 2}, {6, 8, 0, 0, 3, 4});
  Tensor x = A().requires_grad_();
  x.index_select(1, idx).sum().backward();  // column 2 was picked twice
  check_values(x.grad(), {2, 3}, {1, 0, 2, 1, 0, 2});

  manual_seed(29);
  Tensor a = uniform({4, 3}, -1, 1), src = uniform({3, 3}, -1, 1), src_t = uniform({3, 4}, -1, 1);
  CHECK(grad_ok([idx](const TensorList& t) { return t[0].index_select(0, idx); }, {a}));
  CHECK(grad_ok([idx](const TensorList& t) { return t[0].index_select(1, idx) * 2; }, {a}));
  Tensor rows = tensor({3, 0, 3});
  CHECK(grad_ok([rows](const TensorList& t) { return index_add(t[0], 0, rows, t[1]); }, {a, src}));
  CHECK(grad_ok([idx](const TensorList& t) { return index_add(t[0], 1, idx, t[1].t()); }, {a, src_t}));
}

TEST_CASE("gather and scatter_add: values, repeated indices, gradcheck") {
  Tensor idx = tensor({{0, 0}, {1, 0}});
  check_values(tensor({{1.f, 2.f}, {3.f, 4.f}}).gather(1, idx), {2, 2}, {1, 1, 4, 3});
  check_values(A().gather(0, tensor({{1, 0, 1}})), {1, 3}, {1.5, -1.2, -0.7});
  Tensor s = scatter_add(zeros({2, 3}), 1, tensor({{0, 2, 0}, {1, 1, 1}}), tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}));
  check_values(s, {2, 3}, {4, 0, 2, 0, 15, 0});
  Tensor x = tensor({{1.f, 2.f}, {3.f, 4.f}}).requires_grad_();
  x.gather(1, idx).sum().backward();
  check_values(x.grad(), {2, 2}, {2, 0, 1, 1});

  manual_seed(30);
  Tensor a = uniform({3, 4}, -1, 1);
  Tensor gi = tensor({{3, 0, 3}, {1, 1, 2}, {0, 2, 0}});     // [3, 3] along dim 1
  Tensor g0 = tensor({{2, 0, 1, 1}, {0, 0, 2, 1}});          // [2, 4] along dim 0
  CHECK(grad_ok([gi](const TensorList& t) { return t[0].gather(1, gi); }, {a}));
  CHECK(grad_ok([g0](const TensorList& t) { return t[0].gather(0, g0); }, {a}));
  Tensor src = uniform({3, 3}, -1, 1);
  CHECK(grad_ok([gi](const TensorList& t) { return scatter_add(t[0], 1, gi, t[1]); }, {a, src}));
  Tensor src0 = uniform({2, 4}, -1, 1);
  CHECK(grad_ok([g0](const TensorList& t) { return scatter_add(t[0], 0, g0, t[1]) * t[0]; }, {a, src0}));
}
