// Port of the printing rules of PyTorch 1.13's torch/_tensor_str.py (strided, real dtypes only).
#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ctorch {
namespace {

// Indices printed along a dim of size n: all of them, or the first and last `edge` with -1
// marking the "..." gap (torch summarizes a dim only when it is longer than 2 * edgeitems).
std::vector<int64_t> shown_indices(int64_t n, bool summarize, int64_t edge) {
  std::vector<int64_t> idx;
  const bool cut = summarize && n > 2 * edge;
  for (int64_t i = 0; i < n; ++i) {
    if (cut && i == edge) {
      idx.push_back(-1);
      i = n - edge - 1;
    } else {
      idx.push_back(i);
    }
  }
  return idx;
}

// n spaces (n is never negative; the clamp only makes the size_t conversion safe).
std::string spaces(int64_t n) { return std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' '); }

// Python's float formatting, which fmt matches digit for digit (both round the exact binary
// value correctly), except that Python never prints a sign on NaN while fmt prints "-nan".
std::string py_fixed(double v, int prec) {
  return std::isnan(v) ? "nan" : fmt::format("{:.{}f}", v, prec);
}
std::string py_sci(double v, int prec) {
  return std::isnan(v) ? "nan" : fmt::format("{:.{}e}", v, prec);
}

class Printer {
 public:
  Printer(const StridedView& t, const PrintOptions& o, bool summarize)
      : t_(t), o_(o), summarize_(summarize), esize_(static_cast<int64_t>(element_size(t.dtype))) {
    init_formatter();
  }

  std::string str(int64_t indent) const {
    return nested(static_cast<const char*>(t_.data), 0, indent);
  }

 private:
  const StridedView& t_;
  const PrintOptions& o_;
  bool summarize_;
  int64_t esize_;
  // torch's _Formatter state; it is computed from the printed (summarized) elements only.
  bool int_mode_ = true, sci_mode_ = false;
  size_t width_ = 1;

  size_t ndim() const { return t_.sizes.size(); }
  const char* at(const char* p, size_t d, int64_t i) const {
    return p + i * t_.strides[d] * esize_;
  }
  double load_float(const char* p) const {
    // float32 values go through double, as torch's .item()/.tolist() do before formatting.
    return t_.dtype == kFloat32 ? static_cast<double>(*reinterpret_cast<const float*>(p))
                                : *reinterpret_cast<const double*>(p);
  }

  template <class F>
  void each_shown(const char* p, size_t d, F&& f) const {
    if (d == ndim()) return f(p);
    for (int64_t i : shown_indices(t_.sizes[d], summarize_, o_.edgeitems))
      if (i >= 0) each_shown(at(p, d, i), d + 1, f);
  }

  void init_formatter() {
    const char* base = static_cast<const char*>(t_.data);
    if (!is_floating_point(t_.dtype)) {
      each_shown(base, 0, [&](const char* p) { width_ = std::max(width_, raw(p).size()); });
      return;
    }
    // Mode and width only look at nonzero finite values; with none, stay in int mode, width 1.
    std::vector<double> vals;
    each_shown(base, 0, [&](const char* p) {
      double v = load_float(p);
      if (std::isfinite(v) && v != 0) vals.push_back(v);
    });
    if (vals.empty()) return;
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (double v : vals) {
      lo = std::min(lo, std::abs(v));
      hi = std::max(hi, std::abs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    // Scientific when magnitudes span > 3 decades or are huge; tiny values only matter for
    // non-integers (an integer-valued float is at least 1).
    sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || (!int_mode_ && lo < 1.0e-4);
    for (double v : vals) width_ = std::max(width_, float_str(v).size());
  }

  std::string float_str(double v) const {
    if (sci_mode_) return py_sci(v, o_.precision);
    if (int_mode_) {
      // "1." marks a float tensor holding integers; nan/inf get no dot.
      std::string s = py_fixed(v, 0);
      return std::isfinite(v) ? s + "." : s;
    }
    return py_fixed(v, o_.precision);
  }

  std::string raw(const char* p) const {
    switch (t_.dtype) {
      case ScalarType::Bool: return *reinterpret_cast<const bool*>(p) ? "True" : "False";
      case ScalarType::Int64: return fmt::format("{}", *reinterpret_cast<const int64_t*>(p));
      default: return float_str(load_float(p));
    }
  }

  // One element, right-aligned to the common width.
  std::string cell(const char* p) const {
    std::string s = raw(p);
    return s.size() < width_ ? std::string(width_ - s.size(), ' ') + s : s;
  }

  // The innermost dim: elements joined by ", ", wrapped so each line fits in linewidth
  // (" ..." counts as an element when summarized).
  std::string vec(const char* p, int64_t indent) const {
    const int64_t elem_len = static_cast<int64_t>(width_) + 2;
    const int64_t per_line = std::max<int64_t>(1, (o_.linewidth - indent) / elem_len);
    const size_t d = ndim() - 1;
    std::string s = "[";
    int64_t k = 0;
    for (int64_t i : shown_indices(t_.sizes[d], summarize_, o_.edgeitems)) {
      if (k > 0) s += k % per_line == 0 ? ",\n" + spaces(indent + 1) : ", ";
      s += i < 0 ? " ..." : cell(at(p, d, i));
      ++k;
    }
    return s + "]";
  }

  // Outer dims: sub-tensors separated by one blank line fewer than their rank, each indented
  // one column deeper than its parent's "[".
  std::string nested(const char* p, size_t d, int64_t indent) const {
    if (d == ndim()) return cell(p);  // 0-d tensor
    if (d + 1 == ndim()) return vec(p, indent);
    const std::string sep = "," + std::string(ndim() - d - 1, '\n') + spaces(indent + 1);
    std::string s = "[";
    bool first = true;
    for (int64_t i : shown_indices(t_.sizes[d], summarize_, o_.edgeitems)) {
      if (!first) s += sep;
      s += i < 0 ? "..." : nested(at(p, d, i), d + 1, indent + 1);
      first = false;
    }
    return s + "]";
  }
};

// Python's str(tuple): "(0, 3)", "(0,)".
std::string py_tuple(std::span<const int64_t> v) {
  return v.size() == 1 ? fmt::format("({},)", v[0]) : fmt::format("({})", fmt::join(v, ", "));
}

}  // namespace

std::string format_tensor(const StridedView& t, bool requires_grad, const char* grad_fn_name,
                          const PrintOptions& opts) {
  CTORCH_CHECK(t.sizes.size() == t.strides.size(), "format_tensor: {} sizes but {} strides",
               t.sizes.size(), t.strides.size());
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  int64_t numel = 1;
  for (int64_t s : t.sizes) numel *= s;

  std::vector<std::string> suffixes;
  std::string body;
  if (numel == 0) {
    // No elements to infer the dtype from, so anything but float32 is named (even int64).
    body = "[]";
    if (t.sizes.size() != 1) suffixes.push_back("size=" + py_tuple(t.sizes));
    if (t.dtype != kFloat32) suffixes.push_back(fmt::format("dtype={}", dtype_name(t.dtype)));
  } else {
    // float32 (the default dtype), int64 and bool are implied by how the values look.
    if (t.dtype == kFloat64) suffixes.push_back(fmt::format("dtype={}", dtype_name(t.dtype)));
    body = Printer(t, opts, numel > opts.threshold).str(indent);
  }
  if (grad_fn_name != nullptr)
    suffixes.push_back(fmt::format("grad_fn=<{}>", grad_fn_name));
  else if (requires_grad)
    suffixes.push_back("requires_grad=True");

  // torch's _add_suffixes, including its length arithmetic (rfind is -1 without a newline,
  // so a single-line repr counts two columns more than it has).
  std::string out = prefix + body;
  const size_t nl = out.rfind('\n');
  int64_t last_line_len =
      static_cast<int64_t>(out.size()) - (nl == std::string::npos ? -1 : static_cast<int64_t>(nl)) + 1;
  for (const std::string& sfx : suffixes) {
    const int64_t len = static_cast<int64_t>(sfx.size());
    if (last_line_len + len + 2 > opts.linewidth) {
      out += ",\n" + spaces(indent) + sfx;
      last_line_len = indent + len;
    } else {
      out += ", " + sfx;
      last_line_len += len + 2;
    }
  }
  return out + ")";
}

}  // namespace ctorch
