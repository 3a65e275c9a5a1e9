// format_tensor against PyTorch 1.13: every expected string below is torch's own repr(),
// produced by tests/parity/gen_format_ref.py (run with /usr/bin/python3) and pasted verbatim.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <ctorch/core/format.hpp>

using namespace ctorch;

namespace {

// Lays `storage` out as elements of dtype `dt`, views it with sizes/strides/offset, prints it.
std::string repr(ScalarType dt, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                 int64_t offset, const std::vector<double>& storage, bool requires_grad,
                 const char* grad_fn, const PrintOptions& opts = {}) {
  const size_t es = element_size(dt);
  std::vector<unsigned char> bytes(std::max<size_t>(storage.size(), 1) * es);
  dispatch(dt, [&]<class T>() {
    for (size_t i = 0; i < storage.size(); ++i) {
      const T v = static_cast<T>(storage[i]);
      std::memcpy(bytes.data() + i * es, &v, es);
    }
  });
  const StridedView view{dt, sizes, strides, bytes.data() + offset * es};
  return format_tensor(view, requires_grad, grad_fn, opts);
}

// start + i * step for i < n (exact in the tests' values), with a few elements overridden.
std::vector<double> iota(int64_t n, double start, double step,
                         const std::vector<std::pair<int64_t, double>>& patches) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<double>(i) * step;
  for (auto [i, x] : patches) v[static_cast<size_t>(i)] = x;
  return v;
}

}  // namespace

TEST_CASE("format_tensor: sizes and strides must agree") {
  const std::vector<int64_t> sizes{2}, strides{};
  const float data[2] = {1, 2};
  CHECK_THROWS_AS(format_tensor({kFloat32, sizes, strides, data}, false, nullptr), Error);
}

// ---- Output of /usr/bin/python3 tests/parity/gen_format_ref.py (torch 1.13.0a0), unedited ----

TEST_CASE("format_tensor: float int mode") {
  // torch.tensor([1., 2., 3.])
  CHECK(repr(kFloat32, {3}, {1}, 0, {1.0, 2.0, 3.0}, false, nullptr) ==
        R"py(tensor([1., 2., 3.]))py");
  // torch.tensor([[1., 2.], [3., 4.]])
  CHECK(repr(kFloat32, {2, 2}, {2, 1}, 0, {1.0, 2.0, 3.0, 4.0}, false, nullptr) ==
        R"py(tensor([[1., 2.],
        [3., 4.]]))py");
  // torch.tensor([0., 0.])
  CHECK(repr(kFloat32, {2}, {1}, 0, {0.0, 0.0}, false, nullptr) ==
        R"py(tensor([0., 0.]))py");
  // torch.tensor([-1., 10., 100.])
  CHECK(repr(kFloat32, {3}, {1}, 0, {-1.0, 10.0, 100.0}, false, nullptr) ==
        R"py(tensor([ -1.,  10., 100.]))py");
  // torch.tensor([100000000.])
  CHECK(repr(kFloat32, {1}, {1}, 0, {100000000.0}, false, nullptr) ==
        R"py(tensor([100000000.]))py");
  // torch.tensor([1., 1001.])
  CHECK(repr(kFloat32, {2}, {1}, 0, {1.0, 1001.0}, false, nullptr) ==
        R"py(tensor([1.0000e+00, 1.0010e+03]))py");
  // torch.tensor([1e9, 3.])
  CHECK(repr(kFloat32, {2}, {1}, 0, {1000000000.0, 3.0}, false, nullptr) ==
        R"py(tensor([1.0000e+09, 3.0000e+00]))py");
}

TEST_CASE("format_tensor: fixed mode") {
  // torch.tensor([1.5, 2.25, 3.14159265])
  CHECK(repr(kFloat32, {3}, {1}, 0, {1.5, 2.25, 3.1415927410125732}, false, nullptr) ==
        R"py(tensor([1.5000, 2.2500, 3.1416]))py");
  // torch.tensor([0.1, 0.2, 0.3])
  CHECK(repr(kFloat32, {3}, {1}, 0, {0.10000000149011612, 0.20000000298023224, 0.30000001192092896}, false, nullptr) ==
        R"py(tensor([0.1000, 0.2000, 0.3000]))py");
  // torch.tensor([0.00015, 0.1])
  CHECK(repr(kFloat32, {2}, {1}, 0, {0.0001500000071246177, 0.10000000149011612}, false, nullptr) ==
        R"py(tensor([0.0002, 0.1000]))py");
  // torch.tensor([1.00005, 2.00015, 0.12345, 0.99995])
  CHECK(repr(kFloat32, {4}, {1}, 0, {1.0000499486923218, 2.000149965286255, 0.12345000356435776, 0.9999499917030334}, false, nullptr) ==
        R"py(tensor([1.0000, 2.0001, 0.1235, 0.9999]))py");
  // torch.tensor([0.123456, 12.5, -999.5])
  CHECK(repr(kFloat32, {3}, {1}, 0, {0.12345600128173828, 12.5, -999.5}, false, nullptr) ==
        R"py(tensor([ 1.2346e-01,  1.2500e+01, -9.9950e+02]))py");
  // torch.tensor([0.123456, 12.5, -99.5])
  CHECK(repr(kFloat32, {3}, {1}, 0, {0.12345600128173828, 12.5, -99.5}, false, nullptr) ==
        R"py(tensor([  0.1235,  12.5000, -99.5000]))py");
  // torch.tensor([0.125, 0.375, 2.5, 0.625], dtype=f64)
  CHECK(repr(kFloat64, {4}, {1}, 0, {0.125, 0.375, 2.5, 0.625}, false, nullptr) ==
        R"py(tensor([0.1250, 0.3750, 2.5000, 0.6250], dtype=torch.float64))py");
}

TEST_CASE("format_tensor: sci mode") {
  // torch.tensor([1e-5, 1.0])
  CHECK(repr(kFloat32, {2}, {1}, 0, {9.999999747378752e-06, 1.0}, false, nullptr) ==
        R"py(tensor([1.0000e-05, 1.0000e+00]))py");
  // torch.tensor([1.5e9, 2.5])
  CHECK(repr(kFloat32, {2}, {1}, 0, {1500000000.0, 2.5}, false, nullptr) ==
        R"py(tensor([1.5000e+09, 2.5000e+00]))py");
  // torch.tensor([0.1, 200.5])
  CHECK(repr(kFloat32, {2}, {1}, 0, {0.10000000149011612, 200.5}, false, nullptr) ==
        R"py(tensor([1.0000e-01, 2.0050e+02]))py");
  // torch.tensor([1e-20, 1e20, -3.5e-7])
  CHECK(repr(kFloat32, {3}, {1}, 0, {9.999999682655225e-21, 1.0000000200408773e+20, -3.4999999343199306e-07}, false, nullptr) ==
        R"py(tensor([ 1.0000e-20,  1.0000e+20, -3.5000e-07]))py");
  // torch.tensor([1e-100, 1e200, 0.5], dtype=f64)
  CHECK(repr(kFloat64, {3}, {1}, 0, {1e-100, 1e+200, 0.5}, false, nullptr) ==
        R"py(tensor([1.0000e-100, 1.0000e+200,  5.0000e-01], dtype=torch.float64))py");
  // torch.tensor([[1e-5, 2.], [0., -3.]])
  CHECK(repr(kFloat32, {2, 2}, {2, 1}, 0, {9.999999747378752e-06, 2.0, 0.0, -3.0}, false, nullptr) ==
        R"py(tensor([[ 1.0000e-05,  2.0000e+00],
        [ 0.0000e+00, -3.0000e+00]]))py");
}

TEST_CASE("format_tensor: negative numbers") {
  // torch.tensor([-1.5, 2.0, -300.25])
  CHECK(repr(kFloat32, {3}, {1}, 0, {-1.5, 2.0, -300.25}, false, nullptr) ==
        R"py(tensor([  -1.5000,    2.0000, -300.2500]))py");
  // torch.tensor([[-1, 2], [3, -40]])
  CHECK(repr(kInt64, {2, 2}, {2, 1}, 0, {-1, 2, 3, -40}, false, nullptr) ==
        R"py(tensor([[ -1,   2],
        [  3, -40]]))py");
  // torch.tensor([-0., 1.])
  CHECK(repr(kFloat32, {2}, {1}, 0, {-0.0, 1.0}, false, nullptr) ==
        R"py(tensor([-0., 1.]))py");
  // torch.tensor([-0., 1.5])
  CHECK(repr(kFloat32, {2}, {1}, 0, {-0.0, 1.5}, false, nullptr) ==
        R"py(tensor([-0.0000, 1.5000]))py");
  // torch.tensor(-0.)
  CHECK(repr(kFloat32, {}, {}, 0, {-0.0}, false, nullptr) ==
        R"py(tensor(-0.))py");
  // torch.tensor([-1e-5, 1.])
  CHECK(repr(kFloat32, {2}, {1}, 0, {-9.999999747378752e-06, 1.0}, false, nullptr) ==
        R"py(tensor([-1.0000e-05,  1.0000e+00]))py");
}

TEST_CASE("format_tensor: nan and inf") {
  // torch.tensor([nan, inf, -inf, 1.5])
  CHECK(repr(kFloat32, {4}, {1}, 0, {NAN, INFINITY, -INFINITY, 1.5}, false, nullptr) ==
        R"py(tensor([   nan,    inf,   -inf, 1.5000]))py");
  // torch.tensor([nan, 1., 2.])
  CHECK(repr(kFloat32, {3}, {1}, 0, {NAN, 1.0, 2.0}, false, nullptr) ==
        R"py(tensor([nan, 1., 2.]))py");
  // torch.tensor([nan, inf])
  CHECK(repr(kFloat32, {2}, {1}, 0, {NAN, INFINITY}, false, nullptr) ==
        R"py(tensor([nan, inf]))py");
  // torch.tensor([inf, 1e-5, -2.])
  CHECK(repr(kFloat32, {3}, {1}, 0, {INFINITY, 9.999999747378752e-06, -2.0}, false, nullptr) ==
        R"py(tensor([        inf,  1.0000e-05, -2.0000e+00]))py");
  // torch.tensor([1., nan]).neg()
  CHECK(repr(kFloat32, {2}, {1}, 0, {-1.0, -NAN}, false, nullptr) ==
        R"py(tensor([-1., nan]))py");
  // torch.tensor([nan, 100., -inf], dtype=f64)
  CHECK(repr(kFloat64, {3}, {1}, 0, {NAN, 100.0, -INFINITY}, false, nullptr) ==
        R"py(tensor([ nan, 100., -inf], dtype=torch.float64))py");
}

TEST_CASE("format_tensor: float64") {
  // torch.tensor([1., 2.], dtype=f64)
  CHECK(repr(kFloat64, {2}, {1}, 0, {1.0, 2.0}, false, nullptr) ==
        R"py(tensor([1., 2.], dtype=torch.float64))py");
  // torch.tensor([0.1, 0.2], dtype=f64)
  CHECK(repr(kFloat64, {2}, {1}, 0, {0.1, 0.2}, false, nullptr) ==
        R"py(tensor([0.1000, 0.2000], dtype=torch.float64))py");
  // torch.arange(8, dtype=f64).reshape(2, 2, 2) / 3
  CHECK(repr(kFloat64, {2, 2, 2}, {4, 2, 1}, 0, {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.3333333333333333, 1.6666666666666667, 2.0, 2.3333333333333335}, false, nullptr) ==
        R"py(tensor([[[0.0000, 0.3333],
         [0.6667, 1.0000]],

        [[1.3333, 1.6667],
         [2.0000, 2.3333]]], dtype=torch.float64))py");
}

TEST_CASE("format_tensor: int64") {
  // torch.tensor([1, -20, 300])
  CHECK(repr(kInt64, {3}, {1}, 0, {1, -20, 300}, false, nullptr) ==
        R"py(tensor([  1, -20, 300]))py");
  // torch.arange(6).reshape(2, 3)
  CHECK(repr(kInt64, {2, 3}, {3, 1}, 0, {0, 1, 2, 3, 4, 5}, false, nullptr) ==
        R"py(tensor([[0, 1, 2],
        [3, 4, 5]]))py");
  // torch.tensor([0])
  CHECK(repr(kInt64, {1}, {1}, 0, {0}, false, nullptr) ==
        R"py(tensor([0]))py");
  // torch.tensor([123456789012, -5])
  CHECK(repr(kInt64, {2}, {1}, 0, {123456789012, -5}, false, nullptr) ==
        R"py(tensor([123456789012,           -5]))py");
}

TEST_CASE("format_tensor: bool") {
  // torch.tensor([True, False, True])
  CHECK(repr(kBool, {3}, {1}, 0, {1, 0, 1}, false, nullptr) ==
        R"py(tensor([ True, False,  True]))py");
  // torch.tensor([[True], [False]])
  CHECK(repr(kBool, {2, 1}, {1, 1}, 0, {1, 0}, false, nullptr) ==
        R"py(tensor([[ True],
        [False]]))py");
}

TEST_CASE("format_tensor: 0-d") {
  // torch.tensor(3.)
  CHECK(repr(kFloat32, {}, {}, 0, {3.0}, false, nullptr) ==
        R"py(tensor(3.))py");
  // torch.tensor(3.5)
  CHECK(repr(kFloat32, {}, {}, 0, {3.5}, false, nullptr) ==
        R"py(tensor(3.5000))py");
  // torch.tensor(-7)
  CHECK(repr(kInt64, {}, {}, 0, {-7}, false, nullptr) ==
        R"py(tensor(-7))py");
  // torch.tensor(True)
  CHECK(repr(kBool, {}, {}, 0, {1}, false, nullptr) ==
        R"py(tensor(True))py");
  // torch.tensor(1e-6)
  CHECK(repr(kFloat32, {}, {}, 0, {9.999999974752427e-07}, false, nullptr) ==
        R"py(tensor(1.0000e-06))py");
  // torch.tensor(2.5, dtype=f64)
  CHECK(repr(kFloat64, {}, {}, 0, {2.5}, false, nullptr) ==
        R"py(tensor(2.5000, dtype=torch.float64))py");
  // torch.tensor(nan)
  CHECK(repr(kFloat32, {}, {}, 0, {NAN}, false, nullptr) ==
        R"py(tensor(nan))py");
  // torch.tensor(-inf)
  CHECK(repr(kFloat32, {}, {}, 0, {-INFINITY}, false, nullptr) ==
        R"py(tensor(-inf))py");
  // torch.tensor(123456789.)
  CHECK(repr(kFloat32, {}, {}, 0, {123456792.0}, false, nullptr) ==
        R"py(tensor(1.2346e+08))py");
}

TEST_CASE("format_tensor: empty") {
  // torch.tensor([])
  CHECK(repr(kFloat32, {0}, {1}, 0, {}, false, nullptr) ==
        R"py(tensor([]))py");
  // torch.zeros(0, 3)
  CHECK(repr(kFloat32, {0, 3}, {3, 1}, 0, {}, false, nullptr) ==
        R"py(tensor([], size=(0, 3)))py");
  // torch.zeros(0, dtype=i64)
  CHECK(repr(kInt64, {0}, {1}, 0, {}, false, nullptr) ==
        R"py(tensor([], dtype=torch.int64))py");
  // torch.zeros(2, 0, dtype=f64)
  CHECK(repr(kFloat64, {2, 0}, {1, 1}, 0, {}, false, nullptr) ==
        R"py(tensor([], size=(2, 0), dtype=torch.float64))py");
  // torch.zeros(0, dtype=torch.bool)
  CHECK(repr(kBool, {0}, {1}, 0, {}, false, nullptr) ==
        R"py(tensor([], dtype=torch.bool))py");
  // torch.zeros(3, 0, 2)
  CHECK(repr(kFloat32, {3, 0, 2}, {2, 2, 1}, 0, {}, false, nullptr) ==
        R"py(tensor([], size=(3, 0, 2)))py");
}

TEST_CASE("format_tensor: nesting") {
  // torch.arange(24.).reshape(2, 3, 4)
  CHECK(repr(kFloat32, {2, 3, 4}, {12, 4, 1}, 0, {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0}, false, nullptr) ==
        R"py(tensor([[[ 0.,  1.,  2.,  3.],
         [ 4.,  5.,  6.,  7.],
         [ 8.,  9., 10., 11.]],

        [[12., 13., 14., 15.],
         [16., 17., 18., 19.],
         [20., 21., 22., 23.]]]))py");
  // torch.arange(8).reshape(2, 2, 2)
  CHECK(repr(kInt64, {2, 2, 2}, {4, 2, 1}, 0, {0, 1, 2, 3, 4, 5, 6, 7}, false, nullptr) ==
        R"py(tensor([[[0, 1],
         [2, 3]],

        [[4, 5],
         [6, 7]]]))py");
  // torch.arange(16.).reshape(2, 2, 2, 2) / 4
  CHECK(repr(kFloat32, {2, 2, 2, 2}, {8, 4, 2, 1}, 0, {0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75}, false, nullptr) ==
        R"py(tensor([[[[0.0000, 0.2500],
          [0.5000, 0.7500]],

         [[1.0000, 1.2500],
          [1.5000, 1.7500]]],


        [[[2.0000, 2.2500],
          [2.5000, 2.7500]],

         [[3.0000, 3.2500],
          [3.5000, 3.7500]]]]))py");
  // torch.tensor([[[1.5]]])
  CHECK(repr(kFloat32, {1, 1, 1}, {1, 1, 1}, 0, {1.5}, false, nullptr) ==
        R"py(tensor([[[1.5000]]]))py");
}

TEST_CASE("format_tensor: non-contiguous views") {
  // torch.arange(6.).reshape(3, 2).t()
  CHECK(repr(kFloat32, {2, 3}, {1, 2}, 0, {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}, false, nullptr) ==
        R"py(tensor([[0., 2., 4.],
        [1., 3., 5.]]))py");
  // torch.arange(12.).reshape(3, 4)[1:, 1:3]
  CHECK(repr(kFloat32, {2, 2}, {4, 1}, 5, {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0}, false, nullptr) ==
        R"py(tensor([[ 5.,  6.],
        [ 9., 10.]]))py");
  // torch.arange(12).reshape(3, 4)[:, ::2]
  CHECK(repr(kInt64, {3, 2}, {4, 2}, 0, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false, nullptr) ==
        R"py(tensor([[ 0,  2],
        [ 4,  6],
        [ 8, 10]]))py");
  // torch.tensor([1., 2.5]).expand(3, 2)
  CHECK(repr(kFloat32, {3, 2}, {0, 1}, 0, {1.0, 2.5}, false, nullptr) ==
        R"py(tensor([[1.0000, 2.5000],
        [1.0000, 2.5000],
        [1.0000, 2.5000]]))py");
}

TEST_CASE("format_tensor: summarization") {
  // torch.arange(2000.)
  CHECK(repr(kFloat32, {2000}, {1}, 0, iota(2000, 0.0, 1.0, {}), false, nullptr) ==
        R"py(tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,
        1.9990e+03]))py");
  // torch.arange(10000.).reshape(100, 100)
  CHECK(repr(kFloat32, {100, 100}, {100, 1}, 0, iota(10000, 0.0, 1.0, {}), false, nullptr) ==
        R"py(tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.7000e+01, 9.8000e+01,
         9.9000e+01],
        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.9700e+02, 1.9800e+02,
         1.9900e+02],
        [2.0000e+02, 2.0100e+02, 2.0200e+02,  ..., 2.9700e+02, 2.9800e+02,
         2.9900e+02],
        ...,
        [9.7000e+03, 9.7010e+03, 9.7020e+03,  ..., 9.7970e+03, 9.7980e+03,
         9.7990e+03],
        [9.8000e+03, 9.8010e+03, 9.8020e+03,  ..., 9.8970e+03, 9.8980e+03,
         9.8990e+03],
        [9.9000e+03, 9.9010e+03, 9.9020e+03,  ..., 9.9970e+03, 9.9980e+03,
         9.9990e+03]]))py");
  // torch.arange(2000)
  CHECK(repr(kInt64, {2000}, {1}, 0, iota(2000, 0, 1, {}), false, nullptr) ==
        R"py(tensor([   0,    1,    2,  ..., 1997, 1998, 1999]))py");
  // torch.arange(2000.).reshape(10, 10, 20)
  CHECK(repr(kFloat32, {10, 10, 20}, {200, 20, 1}, 0, iota(2000, 0.0, 1.0, {}), false, nullptr) ==
        R"py(tensor([[[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.7000e+01,
          1.8000e+01, 1.9000e+01],
         [2.0000e+01, 2.1000e+01, 2.2000e+01,  ..., 3.7000e+01,
          3.8000e+01, 3.9000e+01],
         [4.0000e+01, 4.1000e+01, 4.2000e+01,  ..., 5.7000e+01,
          5.8000e+01, 5.9000e+01],
         ...,
         [1.4000e+02, 1.4100e+02, 1.4200e+02,  ..., 1.5700e+02,
          1.5800e+02, 1.5900e+02],
         [1.6000e+02, 1.6100e+02, 1.6200e+02,  ..., 1.7700e+02,
          1.7800e+02, 1.7900e+02],
         [1.8000e+02, 1.8100e+02, 1.8200e+02,  ..., 1.9700e+02,
          1.9800e+02, 1.9900e+02]],

        [[2.0000e+02, 2.0100e+02, 2.0200e+02,  ..., 2.1700e+02,
          2.1800e+02, 2.1900e+02],
         [2.2000e+02, 2.2100e+02, 2.2200e+02,  ..., 2.3700e+02,
          2.3800e+02, 2.3900e+02],
         [2.4000e+02, 2.4100e+02, 2.4200e+02,  ..., 2.5700e+02,
          2.5800e+02, 2.5900e+02],
         ...,
         [3.4000e+02, 3.4100e+02, 3.4200e+02,  ..., 3.5700e+02,
          3.5800e+02, 3.5900e+02],
         [3.6000e+02, 3.6100e+02, 3.6200e+02,  ..., 3.7700e+02,
          3.7800e+02, 3.7900e+02],
         [3.8000e+02, 3.8100e+02, 3.8200e+02,  ..., 3.9700e+02,
          3.9800e+02, 3.9900e+02]],

        [[4.0000e+02, 4.0100e+02, 4.0200e+02,  ..., 4.1700e+02,
          4.1800e+02, 4.1900e+02],
         [4.2000e+02, 4.2100e+02, 4.2200e+02,  ..., 4.3700e+02,
          4.3800e+02, 4.3900e+02],
         [4.4000e+02, 4.4100e+02, 4.4200e+02,  ..., 4.5700e+02,
          4.5800e+02, 4.5900e+02],
         ...,
         [5.4000e+02, 5.4100e+02, 5.4200e+02,  ..., 5.5700e+02,
          5.5800e+02, 5.5900e+02],
         [5.6000e+02, 5.6100e+02, 5.6200e+02,  ..., 5.7700e+02,
          5.7800e+02, 5.7900e+02],
         [5.8000e+02, 5.8100e+02, 5.8200e+02,  ..., 5.9700e+02,
          5.9800e+02, 5.9900e+02]],

        ...,

        [[1.4000e+03, 1.4010e+03, 1.4020e+03,  ..., 1.4170e+03,
          1.4180e+03, 1.4190e+03],
         [1.4200e+03, 1.4210e+03, 1.4220e+03,  ..., 1.4370e+03,
          1.4380e+03, 1.4390e+03],
         [1.4400e+03, 1.4410e+03, 1.4420e+03,  ..., 1.4570e+03,
          1.4580e+03, 1.4590e+03],
         ...,
         [1.5400e+03, 1.5410e+03, 1.5420e+03,  ..., 1.5570e+03,
          1.5580e+03, 1.5590e+03],
         [1.5600e+03, 1.5610e+03, 1.5620e+03,  ..., 1.5770e+03,
          1.5780e+03, 1.5790e+03],
         [1.5800e+03, 1.5810e+03, 1.5820e+03,  ..., 1.5970e+03,
          1.5980e+03, 1.5990e+03]],

        [[1.6000e+03, 1.6010e+03, 1.6020e+03,  ..., 1.6170e+03,
          1.6180e+03, 1.6190e+03],
         [1.6200e+03, 1.6210e+03, 1.6220e+03,  ..., 1.6370e+03,
          1.6380e+03, 1.6390e+03],
         [1.6400e+03, 1.6410e+03, 1.6420e+03,  ..., 1.6570e+03,
          1.6580e+03, 1.6590e+03],
         ...,
         [1.7400e+03, 1.7410e+03, 1.7420e+03,  ..., 1.7570e+03,
          1.7580e+03, 1.7590e+03],
         [1.7600e+03, 1.7610e+03, 1.7620e+03,  ..., 1.7770e+03,
          1.7780e+03, 1.7790e+03],
         [1.7800e+03, 1.7810e+03, 1.7820e+03,  ..., 1.7970e+03,
          1.7980e+03, 1.7990e+03]],

        [[1.8000e+03, 1.8010e+03, 1.8020e+03,  ..., 1.8170e+03,
          1.8180e+03, 1.8190e+03],
         [1.8200e+03, 1.8210e+03, 1.8220e+03,  ..., 1.8370e+03,
          1.8380e+03, 1.8390e+03],
         [1.8400e+03, 1.8410e+03, 1.8420e+03,  ..., 1.8570e+03,
          1.8580e+03, 1.8590e+03],
         ...,
         [1.9400e+03, 1.9410e+03, 1.9420e+03,  ..., 1.9570e+03,
          1.9580e+03, 1.9590e+03],
         [1.9600e+03, 1.9610e+03, 1.9620e+03,  ..., 1.9770e+03,
          1.9780e+03, 1.9790e+03],
         [1.9800e+03, 1.9810e+03, 1.9820e+03,  ..., 1.9970e+03,
          1.9980e+03, 1.9990e+03]]]))py");
  // torch.arange(1200.).reshape(2, 600)
  CHECK(repr(kFloat32, {2, 600}, {600, 1}, 0, iota(1200, 0.0, 1.0, {}), false, nullptr) ==
        R"py(tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 5.9700e+02, 5.9800e+02,
         5.9900e+02],
        [6.0000e+02, 6.0100e+02, 6.0200e+02,  ..., 1.1970e+03, 1.1980e+03,
         1.1990e+03]]))py");
  // torch.arange(1001.) * 0.25 - 100
  CHECK(repr(kFloat32, {1001}, {1}, 0, iota(1001, -100.0, 0.25, {}), false, nullptr) ==
        R"py(tensor([-100.0000,  -99.7500,  -99.5000,  ...,  149.5000,  149.7500,
         150.0000]))py");
  // torch.arange(2000.) * 1024
  CHECK(repr(kFloat32, {2000}, {1}, 0, iota(2000, 0.0, 1024.0, {}), false, nullptr) ==
        R"py(tensor([0.0000e+00, 1.0240e+03, 2.0480e+03,  ..., 2.0449e+06, 2.0460e+06,
        2.0470e+06]))py");
  // torch.ones(1001).index_fill_(0, torch.tensor([500]), 1e10)
  CHECK(repr(kFloat32, {1001}, {1}, 0, iota(1001, 1.0, 0.0, {{500, 10000000000.0}}), false, nullptr) ==
        R"py(tensor([1., 1., 1.,  ..., 1., 1., 1.]))py");
  // torch.ones(1001, dtype=torch.bool).index_fill_(0, torch.tensor([1, 999]), False)
  CHECK(repr(kBool, {1001}, {1}, 0, iota(1001, 1, 0, {{1, 0}, {999, 0}}), false, nullptr) ==
        R"py(tensor([ True, False,  True,  ...,  True, False,  True]))py");
}

TEST_CASE("format_tensor: line wrapping") {
  // torch.arange(30.) * 1.5
  CHECK(repr(kFloat32, {30}, {1}, 0, {0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 12.0, 13.5, 15.0, 16.5, 18.0, 19.5, 21.0, 22.5, 24.0, 25.5, 27.0, 28.5, 30.0, 31.5, 33.0, 34.5, 36.0, 37.5, 39.0, 40.5, 42.0, 43.5}, false, nullptr) ==
        R"py(tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,
        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,
        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,
        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000]))py");
  // torch.arange(40)
  CHECK(repr(kInt64, {40}, {1}, 0, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39}, false, nullptr) ==
        R"py(tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,
        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
        36, 37, 38, 39]))py");
  // torch.arange(60.).reshape(2, 30) / 7
  CHECK(repr(kFloat32, {2, 30}, {30, 1}, 0, {0.0, 0.1428571492433548, 0.2857142984867096, 0.4285714328289032, 0.5714285969734192, 0.7142857313156128, 0.8571428656578064, 1.0, 1.1428571939468384, 1.2857142686843872, 1.4285714626312256, 1.5714285373687744, 1.7142857313156128, 1.8571428060531616, 2.0, 2.142857074737549, 2.2857143878936768, 2.4285714626312256, 2.5714285373687744, 2.7142856121063232, 2.857142925262451, 3.0, 3.142857074737549, 3.2857143878936768, 3.4285714626312256, 3.5714285373687744, 3.7142856121063232, 3.857142925262451, 4.0, 4.142857074737549, 4.285714149475098, 4.4285712242126465, 4.5714287757873535, 4.714285850524902, 4.857142925262451, 5.0, 5.142857074737549, 5.285714149475098, 5.4285712242126465, 5.5714287757873535, 5.714285850524902, 5.857142925262451, 6.0, 6.142857074737549, 6.285714149475098, 6.4285712242126465, 6.5714287757873535, 6.714285850524902, 6.857142925262451, 7.0, 7.142857074737549, 7.285714149475098, 7.4285712242126465, 7.5714287757873535, 7.714285850524902, 7.857142925262451, 8.0, 8.142857551574707, 8.285714149475098, 8.428571701049805}, false, nullptr) ==
        R"py(tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,
         1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,
         2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,
         3.8571, 4.0000, 4.1429],
        [4.2857, 4.4286, 4.5714, 4.7143, 4.8571, 5.0000, 5.1429, 5.2857, 5.4286,
         5.5714, 5.7143, 5.8571, 6.0000, 6.1429, 6.2857, 6.4286, 6.5714, 6.7143,
         6.8571, 7.0000, 7.1429, 7.2857, 7.4286, 7.5714, 7.7143, 7.8571, 8.0000,
         8.1429, 8.2857, 8.4286]]))py");
  // torch.linspace(-1, 1, 25)
  CHECK(repr(kFloat32, {25}, {1}, 0, {-1.0, -0.9166666865348816, -0.8333333134651184, -0.75, -0.6666666269302368, -0.5833333134651184, -0.5, -0.4166666269302368, -0.3333333134651184, -0.2499999701976776, -0.166666641831398, -0.08333331346511841, 2.9802322387695312e-08, 0.08333337306976318, 0.1666666865348816, 0.2500000596046448, 0.3333333134651184, 0.4166666567325592, 0.5, 0.5833333134651184, 0.6666666269302368, 0.75, 0.8333333134651184, 0.9166666865348816, 1.0}, false, nullptr) ==
        R"py(tensor([-1.0000e+00, -9.1667e-01, -8.3333e-01, -7.5000e-01, -6.6667e-01,
        -5.8333e-01, -5.0000e-01, -4.1667e-01, -3.3333e-01, -2.5000e-01,
        -1.6667e-01, -8.3333e-02,  2.9802e-08,  8.3333e-02,  1.6667e-01,
         2.5000e-01,  3.3333e-01,  4.1667e-01,  5.0000e-01,  5.8333e-01,
         6.6667e-01,  7.5000e-01,  8.3333e-01,  9.1667e-01,  1.0000e+00]))py");
  // torch.arange(40.).reshape(2, 1, 20) / 3
  CHECK(repr(kFloat32, {2, 1, 20}, {20, 20, 1}, 0, {0.0, 0.3333333432674408, 0.6666666865348816, 1.0, 1.3333333730697632, 1.6666666269302368, 2.0, 2.3333332538604736, 2.6666667461395264, 3.0, 3.3333332538604736, 3.6666667461395264, 4.0, 4.333333492279053, 4.666666507720947, 5.0, 5.333333492279053, 5.666666507720947, 6.0, 6.333333492279053, 6.666666507720947, 7.0, 7.333333492279053, 7.666666507720947, 8.0, 8.333333015441895, 8.666666984558105, 9.0, 9.333333015441895, 9.666666984558105, 10.0, 10.333333015441895, 10.666666984558105, 11.0, 11.333333015441895, 11.666666984558105, 12.0, 12.333333015441895, 12.666666984558105, 13.0}, false, nullptr) ==
        R"py(tensor([[[ 0.0000,  0.3333,  0.6667,  1.0000,  1.3333,  1.6667,  2.0000,
           2.3333,  2.6667,  3.0000,  3.3333,  3.6667,  4.0000,  4.3333,
           4.6667,  5.0000,  5.3333,  5.6667,  6.0000,  6.3333]],

        [[ 6.6667,  7.0000,  7.3333,  7.6667,  8.0000,  8.3333,  8.6667,
           9.0000,  9.3333,  9.6667, 10.0000, 10.3333, 10.6667, 11.0000,
          11.3333, 11.6667, 12.0000, 12.3333, 12.6667, 13.0000]]]))py");
  // torch.logspace(-5, 5, 20)
  CHECK(repr(kFloat32, {20}, {1}, 0, {9.999999747378752e-06, 3.359818219905719e-05, 0.0001128837902797386, 0.0003792690113186836, 0.001274275011382997, 0.0042813322506845, 0.014384498819708824, 0.04832930117845535, 0.16237767040729523, 0.5455594658851624, 1.832980751991272, 6.158482074737549, 20.691381454467773, 69.51927947998047, 233.5721435546875, 784.7599487304688, 2636.65087890625, 8858.66796875, 29763.513671875, 100000.0}, false, nullptr) ==
        R"py(tensor([1.0000e-05, 3.3598e-05, 1.1288e-04, 3.7927e-04, 1.2743e-03, 4.2813e-03,
        1.4384e-02, 4.8329e-02, 1.6238e-01, 5.4556e-01, 1.8330e+00, 6.1585e+00,
        2.0691e+01, 6.9519e+01, 2.3357e+02, 7.8476e+02, 2.6367e+03, 8.8587e+03,
        2.9764e+04, 1.0000e+05]))py");
  // torch.tensor([True, False] * 20)
  CHECK(repr(kBool, {40}, {1}, 0, {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}, false, nullptr) ==
        R"py(tensor([ True, False,  True, False,  True, False,  True, False,  True, False,
         True, False,  True, False,  True, False,  True, False,  True, False,
         True, False,  True, False,  True, False,  True, False,  True, False,
         True, False,  True, False,  True, False,  True, False,  True, False]))py");
}

TEST_CASE("format_tensor: autograd suffixes") {
  // torch.tensor([1., 2.], requires_grad=True)
  CHECK(repr(kFloat32, {2}, {1}, 0, {1.0, 2.0}, true, nullptr) ==
        R"py(tensor([1., 2.], requires_grad=True))py");
  // x2(torch.tensor([1., 2.]))
  CHECK(repr(kFloat32, {2}, {1}, 0, {2.0, 4.0}, true, "MulBackward0") ==
        R"py(tensor([2., 4.], grad_fn=<MulBackward0>))py");
  // torch.tensor(3., requires_grad=True)
  CHECK(repr(kFloat32, {}, {}, 0, {3.0}, true, nullptr) ==
        R"py(tensor(3., requires_grad=True))py");
  // torch.zeros(0, 3, requires_grad=True)
  CHECK(repr(kFloat32, {0, 3}, {3, 1}, 0, {}, true, nullptr) ==
        R"py(tensor([], size=(0, 3), requires_grad=True))py");
  // torch.tensor([1., 2.], dtype=f64, requires_grad=True)
  CHECK(repr(kFloat64, {2}, {1}, 0, {1.0, 2.0}, true, nullptr) ==
        R"py(tensor([1., 2.], dtype=torch.float64, requires_grad=True))py");
  // torch.tensor([1., 2.], dtype=f64, requires_grad=True) + 1
  CHECK(repr(kFloat64, {2}, {1}, 0, {2.0, 3.0}, true, "AddBackward0") ==
        R"py(tensor([2., 3.], dtype=torch.float64, grad_fn=<AddBackward0>))py");
  // torch.arange(9., requires_grad=True) / 3
  CHECK(repr(kFloat32, {9}, {1}, 0, {0.0, 0.3333333432674408, 0.6666666865348816, 1.0, 1.3333333730697632, 1.6666666269302368, 2.0, 2.3333332538604736, 2.6666667461395264}, true, "DivBackward0") ==
        R"py(tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],
       grad_fn=<DivBackward0>))py");
  // torch.arange(20., requires_grad=True) / 3
  CHECK(repr(kFloat32, {20}, {1}, 0, {0.0, 0.3333333432674408, 0.6666666865348816, 1.0, 1.3333333730697632, 1.6666666269302368, 2.0, 2.3333332538604736, 2.6666667461395264, 3.0, 3.3333332538604736, 3.6666667461395264, 4.0, 4.333333492279053, 4.666666507720947, 5.0, 5.333333492279053, 5.666666507720947, 6.0, 6.333333492279053}, true, "DivBackward0") ==
        R"py(tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,
        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,
        6.0000, 6.3333], grad_fn=<DivBackward0>))py");
  // torch.arange(9., dtype=f64, requires_grad=True) / 3
  CHECK(repr(kFloat64, {9}, {1}, 0, {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.3333333333333333, 1.6666666666666667, 2.0, 2.3333333333333335, 2.6666666666666665}, true, "DivBackward0") ==
        R"py(tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],
       dtype=torch.float64, grad_fn=<DivBackward0>))py");
  // torch.tensor([1., 2.], requires_grad=True).sum()
  CHECK(repr(kFloat32, {}, {}, 0, {3.0}, true, "SumBackward0") ==
        R"py(tensor(3., grad_fn=<SumBackward0>))py");
  // x2(torch.arange(2000.))
  CHECK(repr(kFloat32, {2000}, {1}, 0, iota(2000, 0.0, 2.0, {}), true, "MulBackward0") ==
        R"py(tensor([0.0000e+00, 2.0000e+00, 4.0000e+00,  ..., 3.9940e+03, 3.9960e+03,
        3.9980e+03], grad_fn=<MulBackward0>))py");
}

TEST_CASE("format_tensor: print options") {
  // torch.tensor([0.125, 0.375, 2.5, 0.625], dtype=f64)
  CHECK(repr(kFloat64, {4}, {1}, 0, {0.125, 0.375, 2.5, 0.625}, false, nullptr, PrintOptions{2, 1000, 3, 80}) ==
        R"py(tensor([0.12, 0.38, 2.50, 0.62], dtype=torch.float64))py");
  // torch.tensor([1e-5, 1.0])
  CHECK(repr(kFloat32, {2}, {1}, 0, {9.999999747378752e-06, 1.0}, false, nullptr, PrintOptions{2, 1000, 3, 80}) ==
        R"py(tensor([1.00e-05, 1.00e+00]))py");
  // torch.arange(20.) / 3
  CHECK(repr(kFloat32, {20}, {1}, 0, {0.0, 0.3333333432674408, 0.6666666865348816, 1.0, 1.3333333730697632, 1.6666666269302368, 2.0, 2.3333332538604736, 2.6666667461395264, 3.0, 3.3333332538604736, 3.6666667461395264, 4.0, 4.333333492279053, 4.666666507720947, 5.0, 5.333333492279053, 5.666666507720947, 6.0, 6.333333492279053}, false, nullptr, PrintOptions{4, 1000, 3, 40}) ==
        R"py(tensor([0.0000, 0.3333, 0.6667, 1.0000,
        1.3333, 1.6667, 2.0000, 2.3333,
        2.6667, 3.0000, 3.3333, 3.6667,
        4.0000, 4.3333, 4.6667, 5.0000,
        5.3333, 5.6667, 6.0000, 6.3333]))py");
  // torch.arange(12.).reshape(2, 6) * 1000.5
  CHECK(repr(kFloat32, {2, 6}, {6, 1}, 0, {0.0, 1000.5, 2001.0, 3001.5, 4002.0, 5002.5, 6003.0, 7003.5, 8004.0, 9004.5, 10005.0, 11005.5}, false, nullptr, PrintOptions{4, 1000, 3, 40}) ==
        R"py(tensor([[    0.0000,  1000.5000,
          2001.0000,  3001.5000,
          4002.0000,  5002.5000],
        [ 6003.0000,  7003.5000,
          8004.0000,  9004.5000,
         10005.0000, 11005.5000]]))py");
  // torch.arange(10)
  CHECK(repr(kInt64, {10}, {1}, 0, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false, nullptr, PrintOptions{4, 5, 3, 80}) ==
        R"py(tensor([0, 1, 2,  ..., 7, 8, 9]))py");
  // torch.arange(36.).reshape(6, 6)
  CHECK(repr(kFloat32, {6, 6}, {6, 1}, 0, {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0}, false, nullptr, PrintOptions{4, 5, 2, 80}) ==
        R"py(tensor([[ 0.,  1.,  ...,  4.,  5.],
        [ 6.,  7.,  ..., 10., 11.],
        ...,
        [24., 25.,  ..., 28., 29.],
        [30., 31.,  ..., 34., 35.]]))py");
}
