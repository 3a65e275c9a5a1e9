// Tensor hooks: register_hook on leaves and non-leaves (values checked against torch 1.13 by hand
// below), order, removal, errors, and register_post_accumulate_grad_hook, including the optimizer
// step inside backward, which must train to the very same weights as the usual loop.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>
#include <ctorch/optim/adam.hpp>
#include <ctorch/optim/sgd.hpp>

#include "helpers.hpp"

using namespace ctorch;

namespace {

constexpr test::ValuesCheck check_values{1e-6};
using test::check_throws_containing;

Tensor leaf(std::vector<float> v) {
  return tensor(v, {static_cast<int64_t>(v.size())}).requires_grad_();
}

}  // namespace

TEST_CASE("register_hook on a leaf replaces the gradient before it is accumulated; remove() stops it") {
  Tensor x = leaf({1, 2, 3});
  RemovableHandle h = x.register_hook([](const Tensor& g) { return g * 2.0; });
  (x * x).sum().backward();
  check_values(x.grad(), {3}, {4, 8, 12});  // torch: x.register_hook(lambda g: g * 2)
  h.remove();
  h.remove();  // twice is harmless
  (x * x).sum().backward();
  check_values(x.grad(), {3}, {6, 12, 18});
}

TEST_CASE("register_hook on a non-leaf: the hooked gradient flows on; retain_grad sees it") {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 3.0;
  y.retain_grad();
  y.register_hook([](const Tensor& g) { return g * 10.0; });
  (y * y).sum().backward();
  check_values(x.grad(), {3}, {180, 360, 540});
  // torch 2.x runs retain_grad after the tensor's hooks (torch 1.13 by registration order).
  check_values(y.grad(), {3}, {60, 120, 180});
}

TEST_CASE("register_hook: hooks run in registration order; void hooks observe; the tensor may be gone") {
  Tensor x = leaf({1, -1});
  std::vector<float> seen;
  Tensor loss;
  {
    Tensor y = x * 2.0;
    y.register_hook([](const Tensor& g) { return g + 1.0; });
    y.register_hook([](const Tensor& g) { return g * 2.0; });
    y.register_hook([&](const Tensor& g) { seen = g.to_vector<float>(); });
    loss = (y * y).sum();
  }  // y is gone; its hooks live on its grad_fn
  loss.backward();
  // dloss/dy = 2y = [4, -4]; (g + 1) * 2 = [10, -6]; dx = 2 * that
  CHECK(seen == std::vector<float>{10, -6});
  check_values(x.grad(), {2}, {20, -12});
}

TEST_CASE("register_hook: a hook on a leaf applies to autograd::grad too, and to each use summed once") {
  Tensor x = leaf({1, 2, 3});
  int calls = 0;
  x.register_hook([&](const Tensor& g) {
    ++calls;
    return g * 2.0;
  });
  TensorList g = autograd::grad({(x * x).sum()}, {x});
  check_values(g[0], {3}, {4, 8, 12});
  CHECK(calls == 1);
  (x * x + x).sum().backward();  // x used three times: the hook sees the sum once
  CHECK(calls == 2);
  check_values(x.grad(), {3}, {6, 10, 14});
}

TEST_CASE("register_hook: errors name the op and the shapes") {
  check_throws_containing([] { zeros({2}).register_hook([](const Tensor& g) { return g; }); },
                          "cannot register a hook on a tensor that doesn't require gradient");
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 3.0;
  y.register_hook([](const Tensor& g) { return g.narrow(0, 0, 2); });
  check_throws_containing([&] { (y * y).sum().backward(); }, "returned a gradient of shape [2]");
  Tensor z = leaf({1, 2});
  z.register_hook([](const Tensor& g) { return g.to(kFloat64); });
  check_throws_containing([&] { z.sum().backward(); }, "expected shape [2] and dtype torch.float32");
  check_throws_containing([&] { (x * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}); },
                          "cannot be registered on non-leaf tensors (this one was produced by MulBackward0)");
  check_throws_containing([] { zeros({2}).register_post_accumulate_grad_hook([](const Tensor&) {}); },
                          "doesn't require gradient");
}

TEST_CASE("register_post_accumulate_grad_hook runs once, after .grad holds the whole gradient") {
  Tensor v = leaf({0, 0, 0});
  std::vector<std::vector<float>> seen;
  RemovableHandle h = v.register_post_accumulate_grad_hook([&](const Tensor& p) {
    seen.push_back(p.grad().to_vector<float>());
    Tensor w = p;
    w.sub_(p.grad() * 0.01);  // backward runs hooks under no-grad  // torch's docs example: SGD inside backward
  });
  (v * tensor(std::vector<float>{1, 2, 3}, {3}) + v).sum().backward();  // two uses, one call
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<float>{2, 3, 4});
  check_values(v, {3}, {-0.02, -0.03, -0.04});
  h.remove();
  v.sum().backward();
  CHECK(seen.size() == 1);
  // autograd::grad does not accumulate, so it runs no post-accumulate hook
  v.register_post_accumulate_grad_hook([&](const Tensor&) { seen.push_back({}); });
  autograd::grad({v.sum()}, {v});
  CHECK(seen.size() == 1);
}

// torch 2.1's "optimizer step in backward" recipe: one optimizer per parameter, stepped by the
// parameter's post-accumulate hook. Same arithmetic as the usual loop, so the same weights, bit
// for bit; and no .grad is left behind.
template <class Opt, class Options>
void check_step_in_backward(Options options) {
  auto build = [] {
    manual_seed(7);
    return nn::Sequential{nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 16), nn::ReLU(), nn::Linear(16, 3)};
  };
  manual_seed(1);
  Tensor x = randn({8, 6});
  Tensor y = randint(0, 3, {8});
  nn::CrossEntropyLoss loss_fn;

  nn::Sequential usual = build();
  Opt opt(usual->parameters(), options);
  nn::Sequential fused = build();
  std::vector<std::unique_ptr<Opt>> per_param;
  for (const Tensor& p : fused->parameters()) {
    per_param.push_back(std::make_unique<Opt>(TensorList{p}, options));
    Opt* o = per_param.back().get();
    p.register_post_accumulate_grad_hook([o](const Tensor&) {
      o->step();
      o->zero_grad();
    });
  }
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    loss_fn(usual(x), y).backward();
    opt.step();
    loss_fn(fused(x), y).backward();
  }
  TensorList a = usual->parameters(), b = fused->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].to_vector<float>() == b[i].to_vector<float>());
    CHECK_FALSE(b[i].grad().defined());
  }
}

TEST_CASE("optimizer step inside backward (post-accumulate hooks) equals the usual loop: SGD momentum, Adam") {
  check_step_in_backward<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
  check_step_in_backward<optim::Adam>(optim::AdamOptions{.lr = 1e-2});
}
