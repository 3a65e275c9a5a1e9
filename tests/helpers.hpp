#pragma once
// Checks shared by the doctest files (include after <doctest/doctest.h>).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

namespace ctorch::test {

using Ints = std::vector<int64_t>;

inline Ints shape_of(const Tensor& t) { return {t.sizes().begin(), t.sizes().end()}; }

// check_values(t, shape, want[, tol]): t is defined, has exactly this shape and these values
// (row-major), each within a relative tolerance (doctest::Approx's epsilon). A test file makes
// one with its default tolerance, e.g. `constexpr test::ValuesCheck check_values{1e-6};`.
struct ValuesCheck {
  double default_tol;

  void operator()(const Tensor& t, const Ints& shape, const std::vector<double>& want) const {
    (*this)(t, shape, want, default_tol);
  }
  void operator()(const Tensor& t, const Ints& shape, const std::vector<double>& want, double tol) const {
    REQUIRE(t.defined());
    CHECK(shape_of(t) == shape);
    std::vector<double> got = t.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(tol), "element " << i);
  }
};

inline std::vector<double> values(const Tensor& t) { return t.detach().contiguous().to_vector<double>(); }

// t's values (row-major) each within `tol`, absolute, of want.
inline void check_values_abs(const Tensor& t, const std::vector<double>& want, double tol = 1e-6) {
  std::vector<double> got = values(t);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol, "element ", i, ": ", got[i], " vs ", want[i]);
}

// The message of the ctorch::Error thrown by f ("" when none is thrown).
template <class Fn> std::string error_of(Fn&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Runs f, expects a ctorch::Error whose message contains `fragment`.
template <class F> void check_throws_containing(F&& f, const std::string& fragment) {
  try {
    f();
    FAIL_CHECK("expected an exception containing: " << fragment);
  } catch (const Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos, "message: " << std::string(e.what()));
  }
}

}  // namespace ctorch::test

// CHECK_ERROR(expr, "part", ...): expr throws a ctorch::Error whose message contains every part.
#define CHECK_ERROR(expr, ...)                                                                         \
  do {                                                                                                 \
    std::string msg_ = ::ctorch::test::error_of([&] { (void)(expr); });                                \
    CHECK_MESSAGE(!msg_.empty(), "no ctorch::Error from " #expr);                                      \
    for (const char* part_ : {__VA_ARGS__})                                                            \
      CHECK_MESSAGE(msg_.find(part_) != std::string::npos, "message '", msg_, "' lacks '", part_, "'"); \
  } while (0)
