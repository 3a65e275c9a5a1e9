// The core tensor: factories, dtypes, conversion, views and their strides, copies, printing,
// element access, broadcasting, type promotion, comparisons and where. Expected values were
// computed by hand or with PyTorch 1.13 (/usr/bin/python3) and are quoted beside each check.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "helpers.hpp"

using namespace ctorch;
using test::Ints;
using test::shape_of;

namespace {

std::vector<int64_t> strides_of(const Tensor& t) { return {t.strides().begin(), t.strides().end()}; }

// t has exactly this shape and these values (row-major), within a relative tolerance.
constexpr test::ValuesCheck check_values{1e-6};

}  // namespace

// ---- factories and dtypes ----

TEST_CASE("factories: zeros, ones, full, eye and scalar_tensor fill the requested shape and dtype") {
  Tensor z = zeros({2, 3});
  CHECK(z.dtype() == kFloat32);
  check_values(z, {2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor o = ones({4}, kInt64);
  CHECK(o.dtype() == kInt64);
  CHECK(o.to_vector<int64_t>() == Ints{1, 1, 1, 1});
  Tensor f = full({2, 2}, 7.5, kFloat64);
  CHECK(f.dtype() == kFloat64);
  check_values(f, {2, 2}, {7.5, 7.5, 7.5, 7.5});
  check_values(eye(3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  Tensor s = scalar_tensor(3.5);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item<float>() == 3.5f);
  Tensor e = empty({0, 3});
  CHECK(e.numel() == 0);
  CHECK(shape_of(e) == Ints{0, 3});
  Tensor zl = zeros_like(f);
  CHECK(zl.dtype() == kFloat64);
  check_values(ones_like(f, kInt64), {2, 2}, {1, 1, 1, 1});
  check_values(full_like(o, -2), {4}, {-2, -2, -2, -2});
  Tensor r = zeros({2}, dtype(kFloat64).requires_grad());
  CHECK(r.requires_grad());
  CHECK(r.is_leaf());
}

TEST_CASE("factories: arange and linspace follow torch, including float steps") {
  Tensor a = arange(5);
  CHECK(a.dtype() == kInt64);
  CHECK(a.to_vector<int64_t>() == Ints{0, 1, 2, 3, 4});
  CHECK(arange(2, 11, 3).to_vector<int64_t>() == Ints{2, 5, 8});
  CHECK(arange(3, 0, -1).to_vector<int64_t>() == Ints{3, 2, 1});
  check_values(arange(1, 2, 0.25, kFloat32), {4}, {1, 1.25, 1.5, 1.75});
  // torch.arange(0, 1, 0.25) is float32: a fractional bound or step makes a float range
  Tensor fr = arange(0, 1, 0.25);
  CHECK(fr.dtype() == kFloat32);
  check_values(fr, {4}, {0, 0.25, 0.5, 0.75});
  CHECK(arange(2.5).dtype() == kFloat32);
  check_values(arange(2.5), {3}, {0, 1, 2});
  check_values(linspace(0, 1, 5), {5}, {0, 0.25, 0.5, 0.75, 1});
  check_values(linspace(-1, 1, 1), {1}, {-1});
  CHECK(linspace(0, 1, 0).numel() == 0);
}

TEST_CASE("tensor(): nested literals infer shape and dtype like torch.tensor") {
  Tensor i = tensor({{1, 2, 3}, {4, 5, 6}});
  CHECK(i.dtype() == kInt64);
  CHECK(shape_of(i) == Ints{2, 3});
  CHECK(i.to_vector<int64_t>() == Ints{1, 2, 3, 4, 5, 6});
  Tensor f = tensor({1, 2.5});  // one float literal makes the whole tensor float32
  CHECK(f.dtype() == kFloat32);
  check_values(f, {2}, {1, 2.5});
  Tensor b = tensor({true, false});
  CHECK(b.dtype() == kBool);
  CHECK(b.to_vector<bool>() == std::vector<bool>{true, false});
  Tensor s = tensor(4);
  CHECK(s.dim() == 0);
  CHECK(s.item<int64_t>() == 4);
  Tensor d = tensor({1, 2}, kFloat64);
  CHECK(d.dtype() == kFloat64);
  Tensor v = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(v.dtype() == kFloat64);
  check_values(v, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor vf = tensor(std::vector<float>{1, 2}, {2}, dtype(kFloat32).requires_grad());
  CHECK(vf.requires_grad());
}

TEST_CASE("rand, randn, randint and randperm are seeded, shaped and in range") {
  manual_seed(0);
  Tensor u = rand({1000});
  std::vector<double> uv = u.to_vector<double>();
  CHECK(*std::min_element(uv.begin(), uv.end()) >= 0.0);
  CHECK(*std::max_element(uv.begin(), uv.end()) < 1.0);
  CHECK(u.mean().item() == doctest::Approx(0.5).epsilon(0.05));
  manual_seed(0);
  CHECK(rand({1000}).to_vector<double>() == uv);  // reseeding replays the stream
  // torch.manual_seed(0); torch.rand(2) == [0.4963, 0.7682]
  manual_seed(0);
  check_values(rand({2}), {2}, {0.49625659, 0.76822180});
  Tensor n = randn({4000}, kFloat64);
  CHECK(n.dtype() == kFloat64);
  CHECK(n.mean().item() == doctest::Approx(0.0).epsilon(0.05));
  CHECK(n.std().item() == doctest::Approx(1.0).epsilon(0.05));
  Tensor ri = randint(3, 7, {500});
  CHECK(ri.dtype() == kInt64);
  CHECK(ri.min().item() >= 3);
  CHECK(ri.max().item() <= 6);
  Ints p = randperm(10).to_vector<int64_t>();
  std::sort(p.begin(), p.end());
  Ints want(10);
  std::iota(want.begin(), want.end(), 0);
  CHECK(p == want);
}

TEST_CASE("dtypes: sizes, names, floating-point flags and promotion order") {
  CHECK(element_size(kBool) == 1);
  CHECK(element_size(kInt64) == 8);
  CHECK(element_size(kFloat32) == 4);
  CHECK(zeros({2}, kFloat64).element_size() == 8);
  CHECK(dtype_name(kFloat32) == "torch.float32");
  CHECK(dtype_name(kInt64) == "torch.int64");
  CHECK(is_floating_point(kFloat64));
  CHECK_FALSE(is_floating_point(kInt64));
  CHECK_FALSE(zeros({1}, kBool).is_floating_point());
  CHECK(promote_types(kBool, kInt64) == kInt64);
  CHECK(promote_types(kInt64, kFloat32) == kFloat32);
  CHECK(promote_types(kFloat64, kFloat32) == kFloat64);
}

TEST_CASE("to(): converts between dtypes like torch") {
  Tensor f = tensor({-1.7, 0.0, 2.9});
  // torch: tensor([-1.7, 0., 2.9]).to(int64) == [-1, 0, 2]; .to(bool) == [True, False, True]
  CHECK(f.to(kInt64).to_vector<int64_t>() == Ints{-1, 0, 2});
  CHECK(f.to(kBool).to_vector<bool>() == std::vector<bool>{true, false, true});
  Tensor d = f.to(kFloat64);
  CHECK(d.dtype() == kFloat64);
  CHECK(d.to_vector<double>()[0] == static_cast<double>(-1.7f));  // widening is exact
  CHECK(tensor({1.0 / 3.0}, kFloat64).to(kFloat32).item<float>() == static_cast<float>(1.0 / 3.0));
  CHECK(tensor({true, false}).to(kFloat32).to_vector<float>() == std::vector<float>{1, 0});
  CHECK(f.to(kFloat32).is_same(f));  // same dtype: the very same tensor, like torch
  CHECK(f.to(dtype(kFloat64)).dtype() == kFloat64);
  Tensor nc = arange(6).view({2, 3}).t().to(kFloat32);  // a strided source converts in logical order
  CHECK(nc.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

// ---- views ----

TEST_CASE("views share storage and have the strides torch gives them") {
  Tensor a = arange(12, kFloat32).view({3, 4});
  CHECK(strides_of(a) == Ints{4, 1});
  CHECK(a.is_contiguous());

  Tensor t = a.t();
  CHECK(shape_of(t) == Ints{4, 3});
  CHECK(strides_of(t) == Ints{1, 4});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.shares_storage(a));
  CHECK(t.transpose(0, 1).is_contiguous());

  Tensor p = arange(24).view({2, 3, 4}).permute({2, 0, 1});
  CHECK(shape_of(p) == Ints{4, 2, 3});
  CHECK(strides_of(p) == Ints{1, 12, 4});

  Tensor row = a.select(0, 1);
  CHECK(shape_of(row) == Ints{4});
  CHECK(row.storage_offset() == 4);
  check_values(row, {4}, {4, 5, 6, 7});
  Tensor col = a[2].select(0, -1);  // operator[] is select(0, i); negative indices wrap
  CHECK(col.dim() == 0);
  CHECK(col.item() == 11);

  Tensor sl = a.slice(1, 1, 4, 2);
  CHECK(shape_of(sl) == Ints{3, 2});
  CHECK(strides_of(sl) == Ints{4, 2});
  CHECK(sl.storage_offset() == 1);
  check_values(sl, {3, 2}, {1, 3, 5, 7, 9, 11});
  CHECK(shape_of(a.slice(0, -2)) == Ints{2, 4});     // a[-2:]
  CHECK(shape_of(a.slice(1, 1, 100)) == Ints{3, 3});  // ends clamp like Python slices

  Tensor nr = a.narrow(0, 1, 2);
  CHECK(nr.storage_offset() == 4);
  check_values(nr, {2, 4}, {4, 5, 6, 7, 8, 9, 10, 11});

  Tensor ex = tensor({1.f, 2.f, 3.f}).unsqueeze(0).expand({4, 3});
  CHECK(shape_of(ex) == Ints{4, 3});
  CHECK(strides_of(ex) == Ints{0, 1});
  CHECK(shape_of(tensor({1.f, 2.f}).expand({2, -1})) == Ints{2, 2});

  Tensor u = a.unsqueeze(1);
  CHECK(shape_of(u) == Ints{3, 1, 4});
  CHECK(shape_of(a.unsqueeze(-1)) == Ints{3, 4, 1});
  CHECK(shape_of(u.squeeze()) == Ints{3, 4});
  CHECK(shape_of(u.squeeze(0)) == Ints{3, 1, 4});  // not size 1: unchanged
  CHECK(shape_of(zeros({2, 3, 4}).flatten(1)) == Ints{2, 12});
  CHECK(shape_of(zeros({2, 3, 4}).flatten()) == Ints{24});
  CHECK(shape_of(scalar_tensor(1).flatten()) == Ints{1});
  CHECK(shape_of(a.view({2, -1})) == Ints{2, 6});
  CHECK(shape_of(a.view_as(zeros({6, 2}))) == Ints{6, 2});
}

TEST_CASE("writing through a view changes the base, and the version counter is shared") {
  Tensor a = zeros({3, 4});
  uint32_t v0 = a.version();
  a.select(0, 1).fill_(-1);
  a.t().select(0, 3).add_(2.0);  // column 3 of a
  check_values(a, {3, 4}, {0, 0, 0, 2, -1, -1, -1, 1, 0, 0, 0, 2});
  CHECK(a.version() == v0 + 2);
  CHECK(a.view({12}).version() == a.version());
}

TEST_CASE("reshape is a view when strides allow and a copy otherwise; view never copies") {
  Tensor a = arange(12, kFloat32).view({3, 4});
  Tensor r = a.reshape({2, 6});
  CHECK(r.shares_storage(a));
  Tensor rt = a.t().reshape({12});
  CHECK_FALSE(rt.shares_storage(a));
  check_values(rt, {12}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(a.t().reshape({4, 3}).shares_storage(a));  // same shape: still a view
  CHECK_THROWS_AS(a.t().view({12}), Error);
  Tensor sl = a.slice(1, 0, 2);  // [3, 2] with row stride 4: rows merge no further
  CHECK(sl.view({3, 2, 1}).shares_storage(a));
  CHECK(shape_of(sl.reshape({6})) == Ints{6});
}

TEST_CASE("contiguous, clone and detach") {
  Tensor a = arange(6, kFloat32).view({2, 3});
  CHECK(a.contiguous().is_same(a));  // already contiguous: no copy
  Tensor t = a.t();
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK_FALSE(c.shares_storage(a));
  CHECK(strides_of(c) == Ints{2, 1});
  check_values(c, {3, 2}, {0, 3, 1, 4, 2, 5});

  Tensor k = a.clone();
  CHECK_FALSE(k.shares_storage(a));
  k.fill_(9);
  CHECK(a.to_vector<float>()[0] == 0.f);  // the original is untouched
  CHECK(t.clone().is_contiguous());

  Tensor x = ones({2}, requires_grad());
  Tensor d = (x * 2).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor dx = x.detach();
  CHECK(dx.shares_storage(x));
  CHECK_FALSE(dx.requires_grad());
  { NoGradGuard g; dx.fill_(5); }
  CHECK(x.to_vector<float>() == std::vector<float>{5, 5});
}

// ---- printing and element access ----

TEST_CASE("printing: str(), operator<< and fmt give PyTorch's repr") {
  Tensor m = tensor({{1.f, 2.5f}, {3.f, 4.f}});
  const char* want = "tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])";
  CHECK(m.str() == want);
  std::ostringstream os;
  os << m;
  CHECK(os.str() == want);
  CHECK(fmt::format("{}", m) == want);
  CHECK(fmt::format("{}", tensor({{1, -20}, {300, 4}})) == "tensor([[  1, -20],\n        [300,   4]])");
  CHECK(fmt::format("{}", tensor({{true, false}})) == "tensor([[ True, False]])");
  CHECK(fmt::format("{}", scalar_tensor(3.5)) == "tensor(3.5000)");
  CHECK(fmt::format("{}", tensor({1, 2}, kFloat64)) == "tensor([1., 2.], dtype=torch.float64)");
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  CHECK(x.str() == "tensor([1., 2.], requires_grad=True)");
  CHECK((x * 2).str() == "tensor([2., 4.], grad_fn=<MulBackward0>)");
  CHECK(zeros({0, 3}).str() == "tensor([], size=(0, 3))");
  CHECK(zeros({0}, kInt64).str() == "tensor([], dtype=torch.int64)");
  CHECK(arange(12).view({3, 4}).t().str() ==
        "tensor([[ 0,  4,  8],\n        [ 1,  5,  9],\n        [ 2,  6, 10],\n        [ 3,  7, 11]])");
  std::ostringstream und;
  und << Tensor();
  CHECK(und.str() == "Tensor(undefined)");
  CHECK(fmt::format("{}", Tensor()) == "Tensor(undefined)");
}

TEST_CASE("item and to_vector read values in logical order with conversion") {
  CHECK(scalar_tensor(2.5).item() == 2.5);
  CHECK(tensor({{7}}).item<int64_t>() == 7);  // any one-element shape
  CHECK(tensor({-3.7}).item<int64_t>() == -3);
  CHECK(tensor({true}).item<bool>());
  Tensor a = arange(6).view({2, 3});
  CHECK(a.t().to_vector<int64_t>() == Ints{0, 3, 1, 4, 2, 5});
  CHECK(a.select(1, 2).to_vector<double>() == std::vector<double>{2, 5});
  CHECK(a.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(tensor({1.f}).expand({3}).to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(zeros({0}).to_vector<float>().empty());
  Tensor x = tensor({1.5f}).requires_grad_();
  CHECK((x * 2).item<float>() == 3.f);  // works on tensors in a graph
}

// ---- broadcasting ----

TEST_CASE("broadcasting: a number or a 0-d tensor against a tensor") {
  Tensor a = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  check_values(a + 2.0, {2, 3}, {3, 4, 5, 6, 7, 8});
  check_values(10.0 - a, {2, 3}, {9, 8, 7, 6, 5, 4});
  check_values(a / 2.0, {2, 3}, {0.5, 1, 1.5, 2, 2.5, 3});
  check_values(2.0 / tensor({4.f, 8.f}), {2}, {0.5, 0.25});
  check_values(a * scalar_tensor(-1.0), {2, 3}, {-1, -2, -3, -4, -5, -6});
  check_values(scalar_tensor(1.0) + a, {2, 3}, {2, 3, 4, 5, 6, 7});
}

TEST_CASE("broadcasting: [3, 1] against [1, 4] gives [3, 4]") {
  Tensor col = tensor({{1.f}, {2.f}, {3.f}});
  Tensor row = tensor({{10.f, 20.f, 30.f, 40.f}});
  check_values(col + row, {3, 4}, {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43});
  check_values(row * col, {3, 4}, {10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120});
}

TEST_CASE("broadcasting: [2, 1, 3] against [4, 1] gives [2, 4, 3]") {
  Tensor a = arange(6, kFloat32).view({2, 1, 3});    // [[[0,1,2]], [[3,4,5]]]
  Tensor b = arange(4, kFloat32).view({4, 1}) * 10;  // [[0],[10],[20],[30]]
  Tensor c = a + b;
  CHECK(shape_of(c) == Ints{2, 4, 3});
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(3 * i + k + 10 * j);
  check_values(c, {2, 4, 3}, want);
  std::vector<double> diff;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) diff.push_back(10 * j - (3 * i + k));
  check_values(b - a, {2, 4, 3}, diff);
  // a transposed (non-contiguous) operand broadcasts too
  check_values(arange(6, kFloat32).view({3, 2}).t() + tensor({{100.f}, {200.f}}), {2, 3},
               {100, 102, 104, 201, 203, 205});
}

TEST_CASE("broadcasting: 0-d tensors") {
  Tensor a = scalar_tensor(2.0), b = scalar_tensor(3.0);
  Tensor c = a * b;
  CHECK(c.dim() == 0);
  CHECK(c.item() == 6.0);
  CHECK((a + tensor({1.f})).dim() == 1);
  CHECK(c.sum().dim() == 0);
  CHECK(c.sum().item() == 6.0);
  CHECK(a.unsqueeze(0).dim() == 1);
  CHECK(shape_of(a.expand({2, 2})) == Ints{2, 2});
}

TEST_CASE("broadcasting: empty tensors stay empty and reduce to the identity") {
  Tensor e = zeros({0, 3});
  CHECK(shape_of(e + ones({3})) == Ints{0, 3});
  CHECK(shape_of(zeros({0}) * ones({1})) == Ints{0});
  CHECK(e.sum().item() == 0.0);
  CHECK(shape_of(e.sum(0)) == Ints{3});
  check_values(e.sum(0), {3}, {0, 0, 0});
  CHECK(std::isnan(e.mean().item()));  // torch: nan
  CHECK(shape_of(e.t()) == Ints{3, 0});
  CHECK(shape_of(e.reshape({3, 0, 5})) == Ints{3, 0, 5});
  CHECK_THROWS_AS(zeros({2}) + zeros({0}), Error);  // [2] vs [0]: no dim of size 1
}

// ---- type promotion ----

TEST_CASE("type promotion: int64 with float, numbers, 0-d tensors and bool") {
  Tensor i = tensor({1, 2, 3});
  Tensor f = tensor({0.5f, 0.5f, 0.5f});
  Tensor s = i + f;
  CHECK(s.dtype() == kFloat32);
  check_values(s, {3}, {1.5, 2.5, 3.5});
  CHECK((i + 2.5).dtype() == kFloat32);
  check_values(i + 2.5, {3}, {3.5, 4.5, 5.5});
  CHECK((i + 2.0).dtype() == kInt64);  // C++ numbers with integral value act like Python ints
  CHECK((i * 3.0).to_vector<int64_t>() == Ints{3, 6, 9});
  check_values(i / tensor({2, 4, 4}), {3}, {0.5, 0.5, 0.75});  // true division of ints
  CHECK((i / 2.0).dtype() == kFloat32);
  CHECK((f + tensor({1.0}, kFloat64)).dtype() == kFloat64);
  // a 0-d tensor only matters when of a higher category: torch.tensor([1., 2.]) + torch.tensor(1.5, f64)
  CHECK((f + scalar_tensor(1.5, kFloat64)).dtype() == kFloat32);
  CHECK((i + scalar_tensor(1.5, kFloat64)).dtype() == kFloat64);
  CHECK((i + scalar_tensor(1.5, kFloat32)).dtype() == kFloat32);
  Tensor b = tensor({true, false});
  CHECK((b + 1.0).dtype() == kInt64);
  CHECK((b + 1.0).to_vector<int64_t>() == Ints{2, 1});
  Tensor bb = b + tensor({true, true});  // torch: bool + bool stays bool
  CHECK(bb.dtype() == kBool);
  CHECK(bb.to_vector<bool>() == std::vector<bool>{true, true});
  CHECK((b * tensor({true, true})).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(b.sum().dtype() == kInt64);
  CHECK(b.sum().item<int64_t>() == 1);
  CHECK(result_type(i, f) == kFloat32);
  CHECK(i.pow(2.0).dtype() == kInt64);
  CHECK(i.pow(0.5).dtype() == kFloat32);
  CHECK(i.exp().dtype() == kFloat32);
}

// ---- comparisons and where ----

TEST_CASE("comparisons return bool masks, with broadcasting and promotion") {
  Tensor a = tensor({1.f, 2.f, 3.f});
  Tensor b = tensor({3.f, 2.f, 1.f});
  using B = std::vector<bool>;
  CHECK((a == b).dtype() == kBool);
  CHECK((a == b).to_vector<bool>() == B{false, true, false});
  CHECK((a != b).to_vector<bool>() == B{true, false, true});
  CHECK((a < b).to_vector<bool>() == B{true, false, false});
  CHECK((a <= b).to_vector<bool>() == B{true, true, false});
  CHECK((a > b).to_vector<bool>() == B{false, false, true});
  CHECK((a >= b).to_vector<bool>() == B{false, true, true});
  CHECK(a.ge(b).to_vector<bool>() == B{false, true, true});
  CHECK((a > 1.5).to_vector<bool>() == B{false, true, true});
  CHECK((tensor({1, 2, 3}) < 2.5).to_vector<bool>() == B{true, true, false});  // int vs float number
  CHECK((tensor({1, 2}) == tensor({1.0f, 2.5f})).to_vector<bool>() == B{true, false});
  Tensor m = a.unsqueeze(1) < b;  // [3, 1] vs [3]
  CHECK(shape_of(m) == Ints{3, 3});
  CHECK(m.to_vector<bool>() == B{true, true, false, true, false, false, false, false, false});
  CHECK(((a > 1.5) & (a < 2.5)).to_vector<bool>() == B{false, true, false});
  CHECK(((a < 1.5) | (a > 2.5)).to_vector<bool>() == B{true, false, true});
  CHECK((!(a > 1.5)).to_vector<bool>() == B{true, false, false});
  CHECK((a > 1.5).sum().item<int64_t>() == 2);
  Tensor x = a.detach().requires_grad_();
  CHECK_FALSE((x > 1.0).requires_grad());  // masks carry no gradient
}

TEST_CASE("where picks elementwise with broadcasting and promotion") {
  Tensor c = tensor({{true}, {false}});  // [2, 1]
  Tensor a = tensor({1.f, 2.f, 3.f});
  Tensor b = tensor({{-1.f, -2.f, -3.f}, {-4.f, -5.f, -6.f}});
  check_values(where(c, a, b), {2, 3}, {1, 2, 3, -4, -5, -6});
  check_values(where(a > 1.5, a, scalar_tensor(0.0)), {3}, {0, 2, 3});
  Tensor w = where(tensor({true, false}), tensor({1, 2}), tensor({0.5f, 0.5f}));
  CHECK(w.dtype() == kFloat32);
  check_values(w, {2}, {1, 0.5});
  check_values(tensor({1.f, -2.f, 3.f}).masked_fill(tensor({false, true, false}), 0.0), {3}, {1, 0, 3});
}
