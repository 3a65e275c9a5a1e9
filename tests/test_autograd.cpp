// Autograd: backward and its arguments, accumulation, retain_graph, grad modes, leaves and
// retained grads, detach, the version counter, long chains, autograd::grad, custom Functions
// (the PyTorch tutorial's LegendrePolynomial3) with gradcheck, and broadcasting undone in backward.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "helpers.hpp"

using namespace ctorch;
using test::Ints;
using test::shape_of;
using test::check_throws_containing;
using autograd::AutogradContext;
using autograd::Node;

namespace {

constexpr test::ValuesCheck check_values{1e-6};  // relative tolerance unless a check gives its own

// P3(x) = 0.5 (5x^3 - 3x), P3'(x) = 1.5 (5x^2 - 1): the custom Function of PyTorch's autograd tutorial.
struct LegendrePolynomial3 : autograd::Function<LegendrePolynomial3> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return 0.5 * (5 * x.pow(3) - 3 * x);
  }
  static TensorList backward(AutogradContext* ctx, TensorList grad_outputs) {
    Tensor x = ctx->get_saved_variables()[0];
    return {grad_outputs[0] * 1.5 * (5 * x.pow(2) - 1)};
  }
};

// Saves its own output, as torch's Exp example does.
struct MyExp : autograd::Function<MyExp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static TensorList backward(AutogradContext* ctx, TensorList g) { return {g[0] * ctx->get_saved_variables()[0]}; }
};

// Two tensor inputs and a number: y = a * c + b, with the number kept in saved_data.
struct ScaleAdd : autograd::Function<ScaleAdd> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b, double c) {
    ctx->saved_data["c"] = c;
    return a * c + b;
  }
  static TensorList backward(AutogradContext* ctx, TensorList g) {
    Tensor ga = ctx->needs_input_grad(0) ? g[0] * ctx->saved_data["c"] : Tensor();
    Tensor gb = ctx->needs_input_grad(1) ? g[0] : Tensor();
    return {ga, gb};
  }
};

// Two outputs; the loss may use only one of them (the other's gradient arrives as zeros).
struct TwoOutputs : autograd::Function<TwoOutputs> {
  static TensorList forward(AutogradContext*, const Tensor& x) { return {x * 2, x * 3}; }
  static TensorList backward(AutogradContext*, TensorList g) { return {g[0] * 2 + g[1] * 3}; }
};

// A deliberately wrong derivative (sin' taken as sin): gradcheck must catch it.
struct WrongSin : autograd::Function<WrongSin> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x.sin();
  }
  static TensorList backward(AutogradContext* ctx, TensorList g) {
    return {g[0] * ctx->get_saved_variables()[0].sin()};
  }
};

}  // namespace

// ---- backward ----

TEST_CASE("backward of a scalar fills the leaves' grad") {
  Tensor x = tensor({1.f, -2.f, 3.f}).requires_grad_();
  Tensor y = (x * x).sum();
  CHECK_FALSE(x.grad().defined());
  y.backward();
  check_values(x.grad(), {3}, {2, -4, 6});
  CHECK(x.grad().dtype() == kFloat32);
  CHECK_FALSE(x.grad().requires_grad());
}

TEST_CASE("backward of a non-scalar takes an explicit gradient") {
  Tensor x = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}).requires_grad_();
  Tensor y = x * x * 3;  // dy/dx = 6x
  y.backward(tensor({{1.f, 0.f, -1.f}, {0.5f, 2.f, 0.f}}));
  check_values(x.grad(), {2, 3}, {6, 0, -18, 12, 60, 0});
  check_throws_containing([&] { (x * 2).backward(); }, "grad can be implicitly created only for scalar outputs");

  Tensor leaf = ones({2}, requires_grad());  // a leaf as the root: its gradient is the given one
  leaf.backward(tensor({1.f, 2.f}));
  check_values(leaf.grad(), {2}, {1, 2});
  Tensor w = ones({2}, requires_grad());  // several roots: the sum of their gradients
  Tensor total = (w * 3).sum();
  autograd::backward({total, w * w}, {scalar_tensor(1.0), tensor({10.f, 20.f})});
  check_values(w.grad(), {2}, {3 + 20, 3 + 40});
  Tensor e = zeros({0, 3}, requires_grad());  // empty: an empty gradient
  (e * 2).sum().backward();
  CHECK(shape_of(e.grad()) == Ints{0, 3});
}

TEST_CASE("gradients accumulate across backward calls until reset") {
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  (x * 3).sum().backward();
  (x * x).sum().backward();
  check_values(x.grad(), {2}, {3 + 2, 3 + 4});
  {
    NoGradGuard g;
    x.grad().zero_();
  }
  (x * 5).sum().backward();
  check_values(x.grad(), {2}, {5, 5});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
  (x * 7).sum().backward();
  check_values(x.grad(), {2}, {7, 7});
}

TEST_CASE("a tensor used twice gets the sum of both gradients") {
  Tensor a = tensor({1.f, -2.f, 3.f}).requires_grad_();
  Tensor b = a + a;
  Tensor c = b * b;  // c = 4 a^2, dc/da = 8a
  c.sum().backward();
  check_values(a.grad(), {3}, {8, -16, 24});

  Tensor x = tensor({2.f}).requires_grad_();
  Tensor y = x * x * x + x.exp() * x;  // 3x^2 + e^x (1 + x) at x = 2
  y.sum().backward();
  check_values(x.grad(), {1}, {12 + std::exp(2.0) * 3}, 1e-5);
}

TEST_CASE("retain_graph allows a second backward; without it the second one throws") {
  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  Tensor b = a * 2;
  Tensor c = (b * b).sum();  // 4 a^2: grad 8a
  c.backward({}, /*retain_graph=*/true);
  c.backward();
  check_values(a.grad(), {2}, {16, 32});
  check_throws_containing([&] { c.backward(); }, "Trying to backward through the graph a second time");

  Tensor d = (a * a).sum();
  autograd::backward({d});
  check_throws_containing([&] { autograd::backward({d}); }, "retain_graph=true");
}

TEST_CASE("a graph whose nodes saved no tensors can run backward again, as in PyTorch") {
  // torch: y = x + 1; y.sum().backward(); y.sum().backward() -> x.grad == [2, 2]
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  Tensor y = x + 1.0;
  y.sum().backward();
  y.sum().backward();
  check_values(x.grad(), {2}, {2, 2});
  // y * y saved y: the second pass needs it, and it is gone
  Tensor z = y * y;
  z.sum().backward();
  check_throws_containing([&] { z.sum().backward(); }, "Trying to backward through the graph a second time");
}

// ---- grad modes, requires_grad, leaves ----

TEST_CASE("no_grad, NoGradGuard and EnableGradGuard control recording") {
  Tensor x = ones({2}, requires_grad());
  CHECK(GradMode::is_enabled());
  {
    NoGradGuard g;
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = x * 2;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(y.grad_fn() == nullptr);
    {
      EnableGradGuard e;
      CHECK(GradMode::is_enabled());
      CHECK((x * 2).requires_grad());
      {
        NoGradGuard inner;
        CHECK_FALSE((x * 2).requires_grad());
      }
      CHECK(GradMode::is_enabled());
    }
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
  Tensor z = no_grad([&] { return x * 3; });
  CHECK_FALSE(z.requires_grad());
  CHECK(GradMode::is_enabled());
  Tensor w = no_grad([&] { return enable_grad([&] { return x * 3; }); });
  CHECK(w.requires_grad());
  CHECK_THROWS_AS(no_grad([&]() -> int { throw Error("boom"); }), Error);
  CHECK(GradMode::is_enabled());  // restored by the guard while unwinding
}

TEST_CASE("requires_grad propagates through ops, not into integer results") {
  Tensor x = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor w = tensor({0.5f, 0.5f, 0.5f});
  CHECK((x * w).requires_grad());
  CHECK_FALSE((w * w).requires_grad());
  CHECK(x.view({3, 1}).requires_grad());
  CHECK(x.sum().requires_grad());
  CHECK_FALSE((x > 1.0).requires_grad());
  CHECK_FALSE(x.argmax().requires_grad());
  CHECK_FALSE(std::get<1>(x.max(0)).requires_grad());
  CHECK_FALSE(x.to(kInt64).requires_grad());
  CHECK(x.to(kFloat64).requires_grad());
  Tensor v = tensor({1.f});
  v.requires_grad_();
  CHECK(v.requires_grad());
  v.requires_grad_(false);
  CHECK_FALSE(v.requires_grad());
  CHECK((x * 2).grad_fn()->name() == std::string("MulBackward0"));
  CHECK(x.exp().grad_fn()->name() == std::string("ExpBackward0"));
  CHECK(x.sum().grad_fn()->name() == std::string("SumBackward0"));
  CHECK(x.sum(0).grad_fn()->name() == std::string("SumBackward1"));
}

TEST_CASE("is_leaf: created tensors are leaves, results of recorded ops are not") {
  Tensor x = ones({2}, requires_grad());
  Tensor c = ones({2});
  CHECK(x.is_leaf());
  CHECK(c.is_leaf());
  CHECK_FALSE((x + 1.0).is_leaf());
  CHECK((c + 1.0).is_leaf());  // nothing to record: a leaf, like torch
  CHECK((x + 1.0).detach().is_leaf());
  Tensor y = x * 2;
  y.detach_();
  CHECK(y.is_leaf());
  CHECK_FALSE(y.requires_grad());
}

TEST_CASE("retain_grad keeps the gradient of a non-leaf") {
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  Tensor y = x * 3;
  Tensor u = x * 4;
  y.retain_grad();
  CHECK(y.retains_grad());
  Tensor z = (y * y + u).sum();
  z.backward();
  check_values(y.grad(), {2}, {6, 12});  // dz/dy = 2y
  CHECK_FALSE(u.grad().defined());       // not retained
  check_values(x.grad(), {2}, {18 + 4, 36 + 4});
}

TEST_CASE("detach shares data but cuts the graph") {
  Tensor x = tensor({2.f, 3.f}).requires_grad_();
  Tensor y = (x * x.detach()).sum();  // only the first factor is differentiated: grad = x
  y.backward();
  check_values(x.grad(), {2}, {2, 3});
  Tensor d = x.detach();
  CHECK(d.shares_storage(x));
  CHECK_FALSE(d.requires_grad());
}

// ---- in place and the version counter ----

TEST_CASE("in-place updates under no_grad (an SGD step) bump the version and keep the leaf") {
  Tensor w = tensor({1.f, 2.f}).requires_grad_();
  (w * w).sum().backward();  // grad = 2w = [2, 4]
  uint32_t v = w.version();
  {
    NoGradGuard g;
    w.sub_(w.grad() * 0.5);
    w.mul_(2.0);
  }
  CHECK(w.version() == v + 2);
  check_values(w, {2}, {0, 0});
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  CHECK(w.grad_fn() == nullptr);
  { NoGradGuard g; w.add_(1.0); }
  (w * 3).sum().backward();  // accumulates onto [2, 4]
  check_values(w.grad(), {2}, {5, 7});
}

TEST_CASE("modifying in place a tensor saved for backward makes backward throw") {
  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  Tensor b = a * 2;
  Tensor c = b * b;  // saves b
  b.add_(1.0);
  check_throws_containing([&] { c.sum().backward(); }, "modified by an inplace operation");

  Tensor w = tensor({1.f, 2.f}).requires_grad_();
  Tensor y = w * w;  // saves the leaf w
  { NoGradGuard g; w.add_(1.0); }
  check_throws_containing([&] { y.sum().backward(); }, "is at version 1; expected version 0");

  Tensor e = a.exp();  // saves its output
  { NoGradGuard g; e.mul_(2.0); }
  check_throws_containing([&] { e.sum().backward(); }, "ExpBackward0");

  Tensor s = a.sigmoid();  // a view of a saved output is caught too: the version lives in the storage
  { NoGradGuard g; s.view({2, 1}).zero_(); }
  CHECK_THROWS_AS(s.sum().backward(), Error);
}

TEST_CASE("in-place on a leaf that requires grad throws, unless under no_grad") {
  Tensor x = ones({2}, requires_grad());
  check_throws_containing([&] { x.add_(1.0); },
                          "a leaf Variable that requires grad is being used in an in-place operation");
  CHECK_THROWS_AS(x.mul_(2.0), Error);
  CHECK_THROWS_AS(x.zero_(), Error);
  CHECK_THROWS_AS(x.copy_(zeros({2})), Error);
  CHECK_THROWS_AS(x.uniform_(), Error);
  check_values(x, {2}, {1, 1});  // untouched by the failed attempts
  NoGradGuard g;
  x.add_(1.0);
  check_values(x, {2}, {2, 2});
}

TEST_CASE("in-place ops on a non-leaf are recorded and differentiate like torch") {
  // torch: y = x * 2; y.mul_(w); y.sum().backward() -> x.grad = 2w, w.grad = 2x
  Tensor x = ones({3}, requires_grad());
  Tensor w = full({3}, 3.0, requires_grad());
  Tensor y = x * 2;
  y.mul_(w);
  y.add_(1.0);
  CHECK_FALSE(y.is_leaf());
  y.sum().backward();
  check_values(y, {3}, {7, 7, 7});
  check_values(x.grad(), {3}, {6, 6, 6});
  check_values(w.grad(), {3}, {2, 2, 2});

  // torch: x = [-1, 0.5, 2]; y = x * 1; y.clamp_(0, 1) -> x.grad = [0, 1, 0]
  Tensor u = tensor({-1.f, 0.5f, 2.f}).requires_grad_();
  Tensor v = u * 1;
  v.clamp_(0, 1);
  v.div_(tensor({2.f, 2.f, 2.f}));
  v.sum().backward();
  check_values(u.grad(), {3}, {0, 0.5, 0});

  // torch: y = x * 2; y.fill_(1) -> y keeps a grad_fn and x.grad is zeros
  Tensor p = ones({2}, requires_grad());
  Tensor q = p * 2;
  q.fill_(1);
  CHECK_FALSE(q.is_leaf());
  q.add_(1.0);  // still a non-leaf: no "leaf Variable" error
  (q * 5).sum().backward();
  check_values(p.grad(), {2}, {0, 0});
  check_values(q, {2}, {2, 2});

  // copy_ routes the gradient to the source
  Tensor src = tensor({1.f, 2.f}).requires_grad_();
  Tensor dst = zeros({2});
  dst.copy_(src * 3);
  (dst * tensor({1.f, 10.f})).sum().backward();
  check_values(src.grad(), {2}, {3, 30});
}

// ---- long graphs ----

TEST_CASE("a chain of 100,000 ops neither overflows the stack on backward nor on destruction") {
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  std::weak_ptr<Node> first, last;
  {
    Tensor y = x;
    for (int i = 0; i < 50000; ++i) {
      y = y * 1.0 + 0.5;
      if (i == 0) first = y.grad_fn();
    }
    last = y.grad_fn();
    check_values(y, {2}, {25001, 25002});
    y.sum().backward();
    check_values(x.grad(), {2}, {1, 1});
  }
  CHECK(first.expired());  // the whole chain was freed
  CHECK(last.expired());

  std::weak_ptr<Node> head;
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y.sin();  // every node holds a saved tensor
    head = y.grad_fn();
    CHECK_FALSE(head.expired());
  }  // destroyed without a backward: saved tensors still reference the previous nodes
  CHECK(head.expired());
}

TEST_CASE("graphs are freed when their outputs die, including max/min and saving custom Functions") {
  Tensor x = tensor({1.f, 3.f, 2.f}).requires_grad_();
  auto released = [](auto make) {
    std::weak_ptr<Node> node;
    {
      Tensor y = make();
      node = y.grad_fn();
      REQUIRE_FALSE(node.expired());
    }
    return node.expired();
  };
  CHECK(released([&] { return x.max(); }));
  CHECK(released([&] { return x.min(); }));
  CHECK(released([&] { return x.exp(); }));
  CHECK(released([&] { return x.softmax(0); }));
  CHECK(released([&] { return std::get<0>(x.max(0)); }));
  CHECK(released([&] { return MyExp::apply(x); }));
  CHECK(released([&] { return LegendrePolynomial3::apply(x); }));
}

// ---- autograd::grad ----

TEST_CASE("autograd::grad returns gradients without touching .grad") {
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  Tensor w = tensor({3.f, 4.f}).requires_grad_();
  Tensor h = x * w;  // a non-leaf input works too
  Tensor y = (h * h).sum();
  TensorList g = autograd::grad({y}, {x, w, h}, {}, /*retain_graph=*/true);
  REQUIRE(g.size() == 3);
  check_values(g[0], {2}, {2 * 3 * 3 * 1, 2 * 4 * 4 * 2});  // 2 h w
  check_values(g[1], {2}, {2 * 3 * 1, 2 * 8 * 2});          // 2 h x
  check_values(g[2], {2}, {6, 16});                          // 2 h
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());

  Tensor z = x * 2;
  TensorList gz = autograd::grad({z}, {x}, {tensor({1.f, -1.f})});
  check_values(gz[0], {2}, {2, -2});

  Tensor unused = ones({1}, requires_grad());
  check_throws_containing([&] { autograd::grad({(x * 2).sum()}, {unused}); }, "appears to not have been used");
  TensorList gu = autograd::grad({(x * 2).sum()}, {x, unused}, {}, false, /*allow_unused=*/true);
  check_values(gu[0], {2}, {2, 2});
  CHECK_FALSE(gu[1].defined());
}

// ---- custom Functions ----

TEST_CASE("custom Function: LegendrePolynomial3 forward, backward and gradcheck") {
  Tensor x = tensor({-1.f, 0.f, 0.5f, 2.f}).requires_grad_();
  Tensor y = LegendrePolynomial3::apply(x);
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn()->name() == std::string("CppNode"));
  check_values(y, {4}, {-1, 0, -0.4375, 17});  // 0.5 (5x^3 - 3x)
  y.sum().backward();
  check_values(x.grad(), {4}, {6, -1.5, 0.375, 28.5});  // 1.5 (5x^2 - 1)

  manual_seed(1);
  Tensor xd = (rand({5}, kFloat64) * 2 - 1).requires_grad_();
  CHECK(autograd::gradcheck([](const TensorList& in) { return LegendrePolynomial3::apply(in[0]); }, {xd}));
  // a composite: P3(sin(x)) * x
  CHECK(autograd::gradcheck(
      [](const TensorList& in) { return LegendrePolynomial3::apply(in[0].sin()) * in[0]; }, {xd}));
  Tensor c = tensor({1.f, 2.f});
  CHECK_FALSE(LegendrePolynomial3::apply(c).requires_grad());  // no input requires grad: nothing recorded
}

TEST_CASE("custom Function: several inputs, numbers, saved outputs and several outputs") {
  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  Tensor b = tensor({5.f, 6.f}).requires_grad_();
  Tensor y = ScaleAdd::apply(a, b, 3.0);
  check_values(y, {2}, {8, 12});
  (y * tensor({1.f, 2.f})).sum().backward();
  check_values(a.grad(), {2}, {3, 6});
  check_values(b.grad(), {2}, {1, 2});
  Tensor c = tensor({1.f, 1.f});  // b does not need a gradient here
  ScaleAdd::apply(a, c, -1.0).sum().backward();
  check_values(a.grad(), {2}, {2, 5});

  Tensor x = tensor({0.f, 1.f}).requires_grad_();
  MyExp::apply(x).sum().backward();
  check_values(x.grad(), {2}, {1, std::exp(1.0)}, 1e-6);

  Tensor t = tensor({1.f, 2.f}).requires_grad_();
  TensorList outs = TwoOutputs::apply(t);
  REQUIRE(outs.size() == 2);
  outs[1].sum().backward();  // the first output's gradient is taken as zeros
  check_values(t.grad(), {2}, {3, 3});

  Tensor xd = tensor({0.3, -0.7}, kFloat64).requires_grad_();
  Tensor bd = tensor({0.1, 0.2}, kFloat64).requires_grad_();
  CHECK(autograd::gradcheck([](const TensorList& in) { return ScaleAdd::apply(in[0], in[1], 2.5).exp(); }, {xd, bd}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return MyExp::apply(in[0]); }, {xd}));
}

TEST_CASE("gradcheck catches a wrong backward") {
  Tensor x = tensor({0.3, -0.7, 1.1}, kFloat64).requires_grad_();
  auto wrong = [](const TensorList& in) { return WrongSin::apply(in[0]); };
  check_throws_containing([&] { autograd::gradcheck(wrong, {x}); }, "Jacobian mismatch");
  CHECK(autograd::gradcheck([](const TensorList& in) { return in[0].sin(); }, {x}));
  Tensor f32 = tensor({1.f}).requires_grad_();
  auto twice = [](const TensorList& in) { return in[0] * 2; };
  check_throws_containing([&] { autograd::gradcheck(twice, {f32}); }, "float64");
}

// ---- broadcasting in backward ----

TEST_CASE("broadcasting is undone in backward: each gradient has its input's shape") {
  Tensor a = tensor({{1.f}, {2.f}, {3.f}}).requires_grad_();         // [3, 1]
  Tensor b = tensor({{1.f, 10.f, 100.f, 1000.f}}).requires_grad_();  // [1, 4]
  (a * b).sum().backward();
  check_values(a.grad(), {3, 1}, {1111, 1111, 1111});
  check_values(b.grad(), {1, 4}, {6, 6, 6, 6});

  Tensor s = scalar_tensor(2.0).requires_grad_();  // 0-d against [2, 3]
  Tensor m = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}).requires_grad_();
  (s * m).sum().backward();
  CHECK(s.grad().dim() == 0);
  CHECK(s.grad().item() == doctest::Approx(21));
  check_values(m.grad(), {2, 3}, {2, 2, 2, 2, 2, 2});

  Tensor p = ones({2, 1, 3}, requires_grad());
  Tensor q = ones({4, 1}, requires_grad());
  Tensor r = p + q * 2;  // [2, 4, 3]
  CHECK(shape_of(r) == Ints{2, 4, 3});
  r.backward(ones({2, 4, 3}));
  check_values(p.grad(), {2, 1, 3}, {4, 4, 4, 4, 4, 4});
  check_values(q.grad(), {4, 1}, {12, 12, 12, 12});

  Tensor e = tensor({1.f, 2.f}).requires_grad_();
  e.unsqueeze(0).expand({3, 2}).sum().backward();
  check_values(e.grad(), {2}, {3, 3});

  Tensor f64 = tensor({1.0}, kFloat64).requires_grad_();  // mixed dtypes: each grad in its input's dtype
  Tensor f32 = tensor({2.f, 3.f}).requires_grad_();
  (f64 * f32).sum().backward();
  CHECK(f64.grad().dtype() == kFloat64);
  CHECK(f32.grad().dtype() == kFloat32);
  check_values(f64.grad(), {1}, {5});
  check_values(f32.grad(), {2}, {1, 1});
}
