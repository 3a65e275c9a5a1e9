// Convolution and pooling (ops/conv.hpp, nn/conv.hpp): hand-checked forwards, gradcheck in float64,
// modules and their reprs, error messages, and ("conv parity: ...") parity with real PyTorch 1.13
// from tests/parity/gen_conv_ref.py (CTest fixture conv_parity_reference; run by hand, the test
// writes the file itself when it is missing). Parity tolerance: |c - r| <= 1e-5 |r| + 1e-6 max|r|.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "helpers.hpp"

#ifndef CTORCH_CONV_REF
#define CTORCH_CONV_REF "conv_ref.safetensors"
#endif
#ifndef CTORCH_SOURCE_DIR
#define CTORCH_SOURCE_DIR "."
#endif

using namespace ctorch;
namespace F = ctorch::nn::functional;

namespace {

using test::values;
using test::check_values_abs;

Tensor arange16() { return arange(1, 17, 1, TensorOptions(kFloat32)).view({1, 1, 4, 4}); }

Tensor rnd(std::initializer_list<int64_t> shape) {
  return randn(IntArrayRef(shape.begin(), shape.size()), kFloat64).requires_grad_();
}

}  // namespace

// ---- forward values, by hand ----

TEST_CASE("conv2d: hand-checked forward (stride, padding, bias, channels, 3-D input)") {
  Tensor x = arange16();
  Tensor w = ones({1, 1, 2, 2});
  Tensor b = tensor({0.5f});
  Tensor y = conv2d(x, w, b);
  CHECK(y.sizes().size() == 4);
  CHECK(shape_str(y.sizes()) == "[1, 1, 3, 3]");
  check_values_abs(y, {14.5, 18.5, 22.5, 30.5, 34.5, 38.5, 46.5, 50.5, 54.5});
  // stride 2, padding 1: windows start at -1, padding reads zeros
  check_values_abs(conv2d(x, w, {}, 2, 1), {1, 5, 4, 14, 34, 20, 13, 29, 16});
  // non-square stride and padding
  check_values_abs(conv2d(x, w, {}, Int2{1, 3}, Int2{0, 1}), {6, 22, 14, 38, 22, 54});
  // two input channels, two output channels of a 1x1 kernel: out0 = x0 + 2 x1, out1 = -x0
  Tensor x2 = tensor({{{{1.f, 2.f}, {3.f, 4.f}}, {{10.f, 20.f}, {30.f, 40.f}}}});
  Tensor w2 = tensor({{{{1.f}}, {{2.f}}}, {{{-1.f}}, {{0.f}}}});
  check_values_abs(conv2d(x2, w2), {21, 42, 63, 84, -1, -2, -3, -4});
  // dilation 2: the corners of a 3x3 window
  check_values_abs(conv2d(arange(1, 10, 1, TensorOptions(kFloat32)).view({1, 1, 3, 3}), ones({1, 1, 2, 2}), {}, 1, 0, 2), {20});
  // [C, H, W] is a batch of one
  Tensor y3 = conv2d(x[0], w, b);
  CHECK(shape_str(y3.sizes()) == "[1, 3, 3]");
  check_values_abs(y3, values(y));
  // float64 too
  check_values_abs(conv2d(x.to(kFloat64), w.to(kFloat64), b.to(kFloat64)), values(y));
}

TEST_CASE("conv2d: the [64, 1, 28, 28] -> 16 x 3x3 stride 2 padding 1 layer has shape [64, 16, 14, 14]") {
  Tensor y = conv2d(randn({64, 1, 28, 28}), randn({16, 1, 3, 3}), randn({16}), 2, 1);
  CHECK(shape_str(y.sizes()) == "[64, 16, 14, 14]");
}

TEST_CASE("max_pool2d: hand-checked forward and backward, first index on ties") {
  Tensor x = arange16().requires_grad_();
  Tensor y = max_pool2d(x, 2);
  check_values_abs(y, {6, 8, 14, 16});
  y.sum().backward();
  check_values_abs(x.grad(), {0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1});
  // padding 1, kernel 2, stride 2: -inf padding never wins
  check_values_abs(max_pool2d(-arange16(), 2, 2, 1), {-1, -2, -4, -5, -6, -8, -13, -14, -16});
  // overlapping windows (stride 1): the shared maximum gets both gradients
  Tensor z = arange16().requires_grad_();
  max_pool2d(z, 2, 1).sum().backward();
  check_values_abs(z.grad(), {0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1});
  // ties: the first maximal element of the window (row-major) gets the gradient, as in PyTorch
  Tensor t = zeros({1, 1, 2, 4}).requires_grad_();
  max_pool2d(t, 2).sum().backward();
  check_values_abs(t.grad(), {1, 0, 1, 0, 0, 0, 0, 0});
}

TEST_CASE("avg_pool2d: hand-checked forward and backward, count_include_pad") {
  Tensor x = arange16().requires_grad_();
  Tensor y = avg_pool2d(x, 2);
  check_values_abs(y, {3.5, 5.5, 11.5, 13.5});
  y.sum().backward();
  check_values_abs(x.grad(), std::vector<double>(16, 0.25));
  Tensor ones4 = ones({1, 1, 4, 4});
  // padding 1: a corner window holds one real element of four
  check_values_abs(avg_pool2d(ones4, 2, 2, 1), {0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});
  check_values_abs(avg_pool2d(ones4, 2, 2, 1, false), std::vector<double>(9, 1));
  check_values_abs(avg_pool2d(arange16(), Int2{1, 4}), {2.5, 6.5, 10.5, 14.5});
}

TEST_CASE("adaptive_avg_pool2d: PyTorch's windows floor(i H / oh) .. ceil((i + 1) H / oh)") {
  Tensor x = arange16().requires_grad_();
  check_values_abs(adaptive_avg_pool2d(x, 1), {8.5});
  // 4 -> 3: rows [0, 2), [1, 3), [2, 4), the same for columns
  Tensor y = adaptive_avg_pool2d(x, 3);
  check_values_abs(y, {3.5, 4.5, 5.5, 7.5, 8.5, 9.5, 11.5, 12.5, 13.5});
  y.sum().backward();
  check_values_abs(x.grad(), {0.25, 0.5, 0.5, 0.25, 0.5, 1, 1, 0.5, 0.5, 1, 1, 0.5, 0.25, 0.5, 0.5, 0.25});
  check_values_abs(adaptive_avg_pool2d(arange16(), Int2{2, 1}), {4.5, 12.5});
  CHECK(shape_str(adaptive_avg_pool2d(randn({3, 5, 7}), Int2{2, 3}).sizes()) == "[3, 2, 3]");
}

// ---- gradcheck in float64 ----

TEST_CASE("conv2d: gradcheck (bias or not, stride, padding, non-square kernels, dilation)") {
  manual_seed(3);
  struct Cfg {
    Shape x, w;
    bool bias;
    Int2 stride, padding, dilation;
  };
  std::vector<Cfg> cfgs = {
      {{2, 3, 5, 5}, {4, 3, 3, 3}, true, 1, 0, 1},
      {{2, 3, 5, 5}, {4, 3, 3, 3}, false, 1, 0, 1},
      {{2, 2, 7, 6}, {3, 2, 3, 3}, true, 2, 1, 1},
      {{1, 2, 6, 7}, {3, 2, 2, 3}, true, Int2{2, 1}, Int2{0, 1}, 1},
      {{2, 1, 5, 6}, {2, 1, 3, 1}, false, Int2{1, 2}, Int2{1, 0}, 1},
      {{1, 2, 7, 7}, {2, 2, 3, 2}, true, 1, 1, Int2{2, 3}},
      {{2, 3, 4, 4}, {5, 3, 1, 1}, true, 1, 0, 1},
  };
  for (const Cfg& c : cfgs) {
    CAPTURE(shape_str(c.x));
    CAPTURE(shape_str(c.w));
    Tensor x = randn(c.x, kFloat64).requires_grad_();
    Tensor w = randn(c.w, kFloat64).requires_grad_();
    Tensor b = randn({c.w[0]}, kFloat64).requires_grad_();
    if (c.bias)
      CHECK(autograd::gradcheck(
          [&](const TensorList& in) { return conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation); },
          {x, w, b}));
    else
      CHECK(autograd::gradcheck(
          [&](const TensorList& in) { return conv2d(in[0], in[1], {}, c.stride, c.padding, c.dilation); }, {x, w}));
  }
  // only the weight, only the input, and a 3-D input
  Tensor x = rnd({2, 5, 5}), w = rnd({3, 2, 3, 3});
  CHECK(autograd::gradcheck([&](const TensorList& in) { return conv2d(x.detach(), in[0], {}, 2, 1); }, {w}));
  CHECK(autograd::gradcheck([&](const TensorList& in) { return conv2d(in[0], w.detach(), {}, 2, 1); }, {x}));
}

TEST_CASE("pooling: gradcheck of max_pool2d (no ties), avg_pool2d and adaptive_avg_pool2d") {
  manual_seed(5);
  // distinct values (a random permutation) so that max pooling has no ties
  auto distinct = [](std::initializer_list<int64_t> shape) {
    Shape s(shape);
    return (randperm(numel_of(s)).to(kFloat64) * 0.1).view(s).requires_grad_();
  };
  Tensor a = distinct({2, 3, 6, 6}), b = distinct({1, 2, 7, 9});
  CHECK(autograd::gradcheck([](const TensorList& in) { return max_pool2d(in[0], 2); }, {a}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return max_pool2d(in[0], 3, 2, 1); }, {a}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return max_pool2d(in[0], Int2{2, 3}, Int2{1, 2}, Int2{1, 1}); }, {b}));
  Tensor c = rnd({2, 3, 7, 6}), d = rnd({3, 5, 9});
  CHECK(autograd::gradcheck([](const TensorList& in) { return avg_pool2d(in[0], 2); }, {c}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return avg_pool2d(in[0], 3, 2, 1); }, {c}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return avg_pool2d(in[0], 3, 2, 1, false); }, {c}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return avg_pool2d(in[0], Int2{2, 3}, Int2{1, 2}, Int2{1, 1}); }, {d}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return adaptive_avg_pool2d(in[0], Int2{3, 4}); }, {c}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return adaptive_avg_pool2d(in[0], 1); }, {c}));
  CHECK(autograd::gradcheck([](const TensorList& in) { return adaptive_avg_pool2d(in[0], Int2{4, 11}); }, {d}));
}

// ---- modules ----

TEST_CASE("nn::Conv2d and the pooling modules: parameters, forward, repr like torch") {
  nn::Conv2d conv{1, 16, 3, 2, 1};
  CHECK(shape_str(conv->weight.sizes()) == "[16, 1, 3, 3]");
  CHECK(shape_str(conv->bias.sizes()) == "[16]");
  CHECK(conv->parameters().size() == 2);
  CHECK(conv->repr() == "Conv2d(1, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))");
  CHECK(nn::Conv2d(1, 16, Int2{3, 5}, 1, 0, false)->repr() == "Conv2d(1, 16, kernel_size=(3, 5), stride=(1, 1), bias=False)");
  CHECK(nn::Conv2d(1, 16, Int2{3, 5}, 1, 0, false)->parameters().size() == 1);
  Tensor x = randn({4, 1, 28, 28});
  Tensor y = conv(x);
  CHECK(shape_str(y.sizes()) == "[4, 16, 14, 14]");
  check_values_abs(y, values(F::conv2d(x, conv->weight, conv->bias, 2, 1)), 0);
  // fan_in = 1 * 3 * 3: weight and bias within +-1/3
  for (double v : values(conv->weight)) CHECK(std::abs(v) <= 1.0 / 3);
  for (double v : values(conv->bias)) CHECK(std::abs(v) <= 1.0 / 3);

  CHECK(nn::MaxPool2d(2)->repr() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(nn::MaxPool2d(Int2{2, 3}, 1)->repr() ==
        "MaxPool2d(kernel_size=(2, 3), stride=1, padding=0, dilation=1, ceil_mode=False)");
  CHECK(nn::AvgPool2d(2)->repr() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(nn::AvgPool2d(Int2{2, 2}, Int2{1, 2}, 1)->repr() == "AvgPool2d(kernel_size=(2, 2), stride=(1, 2), padding=1)");
  CHECK(nn::AdaptiveAvgPool2d(1)->repr() == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(nn::AdaptiveAvgPool2d(Int2{5, 7})->repr() == "AdaptiveAvgPool2d(output_size=(5, 7))");
  check_values_abs(nn::MaxPool2d(2)(arange16()), {6, 8, 14, 16});
  check_values_abs(nn::AvgPool2d(2)(arange16()), {3.5, 5.5, 11.5, 13.5});
  check_values_abs(nn::AdaptiveAvgPool2d(1)(arange16()), {8.5});

  // the tutorial's CNN: three stride-2 convolutions, relu, then a global average
  nn::Conv2d c1{1, 16, 3, 2, 1}, c2{16, 16, 3, 2, 1}, c3{16, 10, 3, 2, 1};
  Tensor h = relu(c3(relu(c2(relu(c1(x))))));
  Tensor logits = F::adaptive_avg_pool2d(h, 1).view({-1, 10});
  CHECK(shape_str(logits.sizes()) == "[4, 10]");
  logits.sum().backward();
  CHECK(c1->weight.grad().defined());
  CHECK(c1->bias.grad().defined());
}

// ---- errors ----

TEST_CASE("conv and pooling: bad inputs throw errors naming the op and the shapes") {
  Tensor x = randn({2, 3, 5, 5});
  CHECK_ERROR(conv2d(randn({3, 5}), randn({4, 3, 3, 3})), "conv2d", "[3, 5]", "4-D");
  CHECK_ERROR(conv2d(x, randn({4, 2, 3, 3})), "conv2d", "[2, 3, 5, 5]", "[4, 2, 3, 3]", "3 channels");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3})), "conv2d", "weight", "[4, 3, 3]");
  CHECK_ERROR(conv2d(x, randn({4, 3, 6, 6})), "conv2d", "larger than the padded input", "[2, 3, 5, 5]",
              "[4, 3, 6, 6]");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3, 3}), {}, 0), "conv2d", "stride must be positive", "(0, 0)");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3, 3}), {}, 1, -1), "conv2d", "padding must be non-negative");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3, 3}), randn({5})), "conv2d", "bias", "[5]", "[4, 3, 3, 3]");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3, 3}), {}, 1, 0, 1, 3), "conv2d", "groups=1", "groups=3");
  CHECK_ERROR(conv2d(x, randn({4, 3, 3, 3}, kFloat64)), "conv2d", "same dtype", "float64");
  CHECK_ERROR(conv2d(x.to(kInt64), randn({4, 3, 3, 3})), "conv2d", "int64");
  CHECK_ERROR(max_pool2d(randn({5, 5}), 2), "max_pool2d", "[5, 5]");
  CHECK_ERROR(max_pool2d(x, 6), "max_pool2d", "larger than the padded input", "[2, 3, 5, 5]");
  CHECK_ERROR(max_pool2d(x, 2, 0), "max_pool2d", "stride must be positive");
  CHECK_ERROR(max_pool2d(x, 2, 2, 2), "max_pool2d", "at most half of kernel_size");
  CHECK_ERROR(avg_pool2d(x, 0), "avg_pool2d", "kernel_size must be positive");
  CHECK_ERROR(avg_pool2d(x, 3, -1), "avg_pool2d", "stride must be positive");
  CHECK_ERROR(avg_pool2d(randn({1, 3, 2, 2}), 3), "avg_pool2d", "larger than the padded input", "[1, 3, 2, 2]");
  CHECK_ERROR(adaptive_avg_pool2d(x, 0), "adaptive_avg_pool2d", "output_size must be positive", "[2, 3, 5, 5]");
  CHECK_ERROR(adaptive_avg_pool2d(randn({2, 3, 0, 5}), 1), "adaptive_avg_pool2d", "non-zero", "[2, 3, 0, 5]");
  CHECK_ERROR(nn::Conv2d(0, 4, 3), "Conv2d", "positive");
  CHECK_ERROR(nn::Conv2d(1, 4, 3, 0), "Conv2d", "stride");
  nn::Conv2d conv{3, 4, 3};
  CHECK_ERROR(conv(randn({2, 1, 8, 8})), "conv2d", "1 channels", "[4, 3, 3, 3]");
}

// ---- parity with real PyTorch ----

namespace {

std::string ref_path() {
  const char* env = std::getenv("CTORCH_CONV_REF");
  return env && *env ? env : CTORCH_CONV_REF;
}

const std::map<std::string, Tensor>& reference() {
  static std::map<std::string, Tensor> ref = [] {
    std::string path = ref_path();
    if (!std::filesystem::exists(path)) {
      std::filesystem::path p(path);
      if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
      std::string cmd = "/usr/bin/python3 '" + std::string(CTORCH_SOURCE_DIR) + "/tests/parity/gen_conv_ref.py' '" + path + "'";
      int rc = std::system(cmd.c_str());
      if (rc != 0) throw Error("conv parity: " + cmd + " failed (is PyTorch installed for /usr/bin/python3?)");
    }
    std::map<std::string, Tensor> m;
    for (auto& [name, t] : load_safetensors(path)) m[name] = t;
    return m;
  }();
  return ref;
}

const Tensor& reftensor(const std::string& name) {
  auto it = reference().find(name);
  if (it == reference().end()) throw Error("conv parity: the reference has no tensor " + name);
  return it->second;
}
bool has(const std::string& name) { return reference().count(name) != 0; }

void check_close(const Tensor& got, const Tensor& want, const std::string& what) {
  CAPTURE(what);
  REQUIRE(got.defined());
  REQUIRE(shape_str(got.sizes()) == shape_str(want.sizes()));
  std::vector<double> g = values(got), w = values(want);
  double scale = 1;
  for (double v : w) scale = std::max(scale, std::abs(v));
  size_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= 1e-5 * std::abs(w[i]) + 1e-6 * scale)) {
      if (bad++ < 5) FAIL_CHECK(what, "[", i, "]: ctorch ", g[i], ", torch ", w[i]);
    }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", g.size(), " elements differ");
}

std::vector<std::string> cases(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& [name, t] : reference()) {
    auto slash = name.find('/');
    if (name.rfind(prefix, 0) == 0 && name.substr(slash) == "/params") out.push_back(name.substr(0, slash));
  }
  return out;
}

// Runs f on the case's inputs (x, and w, b when present), backpropagates torch's gout, compares.
void run_case(const std::string& c, const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f) {
  CAPTURE(c);
  Tensor x = reftensor(c + "/x").clone().requires_grad_();
  Tensor w = has(c + "/w") ? reftensor(c + "/w").clone().requires_grad_() : Tensor();
  Tensor b = has(c + "/b") ? reftensor(c + "/b").clone().requires_grad_() : Tensor();
  Tensor out = f(x, w, b);
  check_close(out, reftensor(c + "/out"), c + "/out");
  out.backward(reftensor(c + "/gout"));
  check_close(x.grad(), reftensor(c + "/gx"), c + "/gx");
  if (w.defined()) check_close(w.grad(), reftensor(c + "/gw"), c + "/gw");
  if (b.defined()) check_close(b.grad(), reftensor(c + "/gb"), c + "/gb");
}

}  // namespace

TEST_CASE("conv parity: conv2d forward and gradients equal torch's") {
  auto cs = cases("conv_");
  CHECK(cs.size() == 6);
  for (const std::string& c : cs) {
    std::vector<int64_t> p = reftensor(c + "/params").to_vector<int64_t>();
    run_case(c, [&](const Tensor& x, const Tensor& w, const Tensor& b) {
      return conv2d(x, w, b, Int2{p[0], p[1]}, Int2{p[2], p[3]}, Int2{p[4], p[5]});
    });
  }
}

TEST_CASE("conv parity: max_pool2d, avg_pool2d, adaptive_avg_pool2d forward and gradients equal torch's") {
  auto mp = cases("maxpool_"), ap = cases("avgpool_"), ad = cases("adaptive_");
  CHECK(mp.size() == 3);
  CHECK(ap.size() == 4);
  CHECK(ad.size() == 4);
  for (const std::string& c : mp) {
    std::vector<int64_t> p = reftensor(c + "/params").to_vector<int64_t>();
    run_case(c, [&](const Tensor& x, const Tensor&, const Tensor&) {
      return max_pool2d(x, Int2{p[0], p[1]}, Int2{p[2], p[3]}, Int2{p[4], p[5]});
    });
  }
  for (const std::string& c : ap) {
    std::vector<int64_t> p = reftensor(c + "/params").to_vector<int64_t>();
    run_case(c, [&](const Tensor& x, const Tensor&, const Tensor&) {
      return avg_pool2d(x, Int2{p[0], p[1]}, Int2{p[2], p[3]}, Int2{p[4], p[5]}, p[6] != 0);
    });
  }
  for (const std::string& c : ad) {
    std::vector<int64_t> p = reftensor(c + "/params").to_vector<int64_t>();
    run_case(c, [&](const Tensor& x, const Tensor&, const Tensor&) { return adaptive_avg_pool2d(x, Int2{p[0], p[1]}); });
  }
}

TEST_CASE("conv parity: nn::Conv2d seeded initialisation equals torch's bit for bit") {
  int checked = 0;
  for (int i = 0; has("init/" + std::to_string(i) + "/args"); ++i) {
    std::string k = "init/" + std::to_string(i);
    std::vector<int64_t> a = reftensor(k + "/args").to_vector<int64_t>();
    CAPTURE(k);
    manual_seed(static_cast<uint64_t>(a[0]));
    nn::Conv2d m{a[1], a[2], Int2{a[3], a[4]}, 1, 0, a[5] != 0};
    std::vector<float> w = m->weight.detach().contiguous().to_vector<float>();
    std::vector<float> rw = reftensor(k + "/weight").to_vector<float>();
    CHECK(shape_str(m->weight.sizes()) == shape_str(reftensor(k + "/weight").sizes()));
    CHECK(w == rw);
    CHECK(m->bias.defined() == has(k + "/bias"));
    if (m->bias.defined()) CHECK(m->bias.detach().contiguous().to_vector<float>() == reftensor(k + "/bias").to_vector<float>());
    ++checked;
  }
  CHECK(checked == 4);
}
