// The fast paths that examples/nn_really.cpp and examples/fashion_cnn.cpp lean on (ops/conv.cpp):
// conv2d computes the whole batch as one matrix product (the images' columns side by side), and
// max_pool2d without padding takes a branch-free path. Each is checked against a plainer
// computation: the batch against its images one at a time, the pool against a direct loop.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <ctorch/ctorch.hpp>

using namespace ctorch;

namespace {

std::vector<double> values(const Tensor& t) { return t.detach().contiguous().to_vector<double>(); }

void check_close(const Tensor& got, const Tensor& want, double tol) {
  REQUIRE(shape_str(got.sizes()) == shape_str(want.sizes()));
  std::vector<double> g = values(got), w = values(want);
  for (size_t i = 0; i < g.size(); ++i)
    CHECK_MESSAGE(std::abs(g[i] - w[i]) <= tol * (1 + std::abs(w[i])), "element ", i, ": ", g[i], " vs ", w[i]);
}

}  // namespace

TEST_CASE("conv2d on a batch equals conv2d on each image: output and the three gradients") {
  manual_seed(0);
  struct Case {
    int64_t N, C, O, H, W, k;
    Int2 stride, padding, dilation;
  };
  for (const Case& c : {Case{5, 3, 4, 9, 7, 3, 1, 1, 1}, Case{4, 2, 3, 11, 10, 3, 2, 1, 1},
                        Case{3, 1, 16, 28, 28, 3, 2, 1, 1}, Case{2, 3, 2, 8, 9, 2, Int2{2, 1}, Int2{0, 2}, 2}}) {
    CAPTURE(c.N);
    Tensor x = randn({c.N, c.C, c.H, c.W}, kFloat64).requires_grad_();
    Tensor w = randn({c.O, c.C, c.k, c.k}, kFloat64).requires_grad_();
    Tensor b = randn({c.O}, kFloat64).requires_grad_();
    Tensor y = conv2d(x, w, b, c.stride, c.padding, c.dilation);
    Tensor g = randn(y.sizes(), kFloat64);
    (y * g).sum().backward();
    Tensor gx = x.grad(), gw = w.grad(), gb = b.grad();

    // The same, one image at a time (3-D inputs), summing the weight and bias gradients.
    x.set_grad({}), w.set_grad({}), b.set_grad({});
    std::vector<Tensor> ys;
    for (int64_t n = 0; n < c.N; ++n) {
      Tensor yn = conv2d(x[n], w, b, c.stride, c.padding, c.dilation);
      (yn * g[n]).sum().backward();
      ys.push_back(yn.detach().unsqueeze(0));
    }
    Tensor want = ys[0];
    for (size_t n = 1; n < ys.size(); ++n) want = cat({want, ys[n]}, 0);
    check_close(y, want, 1e-12);
    check_close(gx, x.grad(), 1e-12);
    check_close(gw, w.grad(), 1e-12);
    check_close(gb, b.grad(), 1e-12);
  }
}

TEST_CASE("conv2d: no weight gradient wanted (frozen weight) and float32 batches agree with float64") {
  manual_seed(1);
  Tensor x = randn({6, 2, 7, 7}).requires_grad_();
  Tensor w = randn({3, 2, 3, 3});
  Tensor y = conv2d(x, w, {}, 1, 1);
  y.sum().backward();
  CHECK(x.grad().defined());
  Tensor y64 = conv2d(x.detach().to(kFloat64), w.to(kFloat64), {}, 1, 1);
  check_close(y, y64, 1e-5);
}

TEST_CASE("max_pool2d without padding: values, first index on ties, NaN wins, all -inf windows, overlapping windows") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // 2x2 windows of one 4x4 plane: ties (first wins), a NaN, a window of -inf only.
  Tensor x = tensor({{{{1.f, 3.f, -inf, -inf}, {3.f, 2.f, -inf, -inf}, {0.f, nan, 5.f, 5.f}, {7.f, 1.f, 5.f, 5.f}}}})
                 .requires_grad_();
  Tensor y = max_pool2d(x, 2);
  std::vector<double> v = values(y);
  REQUIRE(v.size() == 4);
  CHECK(v[0] == 3);
  CHECK(v[1] == -inf);
  CHECK(std::isnan(v[2]));
  CHECK(v[3] == 5);
  y.backward(ones({1, 1, 2, 2}));
  // The gradient lands on: (0, 1) the first 3; (0, 2) the -inf window's first element; (2, 1) the NaN;
  // (2, 2) the first 5.
  std::vector<double> want(16, 0.0);
  want[0 * 4 + 1] = 1, want[0 * 4 + 2] = 1, want[2 * 4 + 1] = 1, want[2 * 4 + 2] = 1;
  CHECK(values(x.grad()) == want);

  // Overlapping 3x3 windows with stride 2 (and a non-square stride) against a direct loop.
  manual_seed(2);
  Tensor z = randn({2, 3, 9, 8});
  for (auto [k, s] : {std::pair{Int2(3), Int2(2)}, std::pair{Int2(2, 3), Int2(1, 2)}}) {
    Tensor out = max_pool2d(z, k, s);
    int64_t OH = (9 - k.h) / s.h + 1, OW = (8 - k.w) / s.w + 1;
    REQUIRE(shape_str(out.sizes()) == shape_str(Shape{2, 3, OH, OW}));
    std::vector<float> zv = z.to_vector<float>(), ov = out.to_vector<float>();
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float m = -inf;
          for (int64_t i = 0; i < k.h; ++i)
            for (int64_t j = 0; j < k.w; ++j) m = std::max(m, zv[p * 72 + (oh * s.h + i) * 8 + ow * s.w + j]);
          CHECK(ov[(p * OH + oh) * OW + ow] == m);
        }
  }
}
