#pragma once
// What the parity suites that read a safetensors reference written by a PyTorch script share
// (test_nn_parity.cpp, test_transformer.cpp): the reference file, running its script when the
// file is missing, and the comparison of a ctorch tensor with torch's.
//
// Tolerance: ctorch's c matches torch's r when both are NaN, or the same infinity, or
// |c - r| <= 1e-5 |r| + 1e-6 max(1, max finite |r| of that tensor); Match::kBitwise compares the
// bits (seeded initialisation, dropout masks). Shapes and dtypes must always match.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

namespace ctorch::test {

// The environment variable's value, or `fallback` when it is unset or empty.
inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// Runs `/usr/bin/python3 script args...` unless every one of `outputs` exists; throws (naming the
// suite and the command) when it fails: parity is never skipped for want of torch.
inline void make_reference(const std::string& suite, const std::vector<std::string>& outputs,
                           const std::string& script, const std::vector<std::string>& args) {
  bool all = true;
  for (const auto& o : outputs) all = all && std::filesystem::exists(o);
  if (all) return;
  std::string cmd = "/usr/bin/python3";
  cmd.append(" ").append(shell_quote(script));
  for (const auto& a : args) cmd.append(" ").append(shell_quote(a));
  int status = std::system(cmd.c_str());
  int rc = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  CTORCH_CHECK(rc == 0, "{}: the reference files are missing and `{}` failed (exit {}): PyTorch 1.13 must be importable "
               "by /usr/bin/python3 (Debian python3-torch; scripts/setup.sh --test)", suite, cmd, rc);
}

// A reference file: tensors named "<case>/...", and the script's metadata.
struct Reference {
  std::string suite;  // for messages, e.g. "nn parity"
  std::map<std::string, Tensor> t;
  std::map<std::string, std::string> meta;

  static Reference load(std::string suite, const std::string& path) {
    Reference r;
    r.suite = std::move(suite);
    for (auto& [k, v] : load_safetensors(path, &r.meta)) r.t.emplace(k, v);
    return r;
  }
  bool has(const std::string& k) const { return t.count(k) != 0; }
  const Tensor& at(const std::string& k) const {
    auto it = t.find(k);
    CTORCH_CHECK(it != t.end(), "{}: the reference has no tensor '{}'", suite, k);
    return it->second;
  }
  // Tensors whose names start with prefix, the prefix removed, in name order.
  NamedTensors with_prefix(const std::string& prefix) const {
    NamedTensors out;
    for (auto it = t.lower_bound(prefix); it != t.end() && it->first.starts_with(prefix); ++it)
      out.emplace_back(it->first.substr(prefix.size()), it->second);
    return out;
  }
  // The case names (first path component), leaving out names under `skip/`.
  std::set<std::string> case_names(const std::string& skip = "") const {
    std::set<std::string> names;
    for (const auto& [k, _] : t)
      if (skip.empty() || !k.starts_with(skip + "/")) names.insert(k.substr(0, k.find('/')));
    return names;
  }
  // Every case of the file has a C++ case and every C++ case is in the file, once; the file says
  // how many cases it wrote and which torch wrote them.
  void check_covers(const std::vector<std::string>& cpp_cases, const std::string& skip = "") const {
    CHECK(meta.at("torch").starts_with("1.13"));
    std::set<std::string> in_file = case_names(skip), in_cpp;
    for (const auto& name : cpp_cases) {
      CHECK_MESSAGE(in_cpp.insert(name).second, "duplicate C++ case " << name);
      CHECK_MESSAGE(in_file.count(name), "C++ case " << name << " is not in the reference file");
    }
    for (const auto& name : in_file) CHECK_MESSAGE(in_cpp.count(name), "reference case " << name << " has no C++ lambda");
    CHECK(std::to_string(in_file.size()) == meta.at("cases"));
  }
};

enum class Match { kClose, kBitwise };

// Appends to `out` a line per problem: undefined, other dtype or shape, or values out of tolerance
// (the first three named).
inline void compare(const std::string& what, const Tensor& got, const Tensor& want, Match mode,
                    std::vector<std::string>& out) {
  if (!got.defined()) return out.push_back(what + ": ctorch has no tensor (undefined)");
  if (got.dtype() != want.dtype() || !same_shape(got.sizes(), want.sizes()))
    return out.push_back(fmt::format("{}: ctorch gives {} {}, torch {} {}", what, dtype_name(got.dtype()),
                                     shape_str(got.sizes()), dtype_name(want.dtype()), shape_str(want.sizes())));
  std::vector<double> g = got.detach().contiguous().to_vector<double>(), w = want.contiguous().to_vector<double>();
  double scale = 1;
  for (double v : w)
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  int bad = 0;
  std::string detail;
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok;
    if (mode == Match::kBitwise) {
      // float32 and int64 values are exact in a double; compare the bits (so -0.0 != 0.0)
      uint64_t gb, wb;
      std::memcpy(&gb, &g[i], 8);
      std::memcpy(&wb, &w[i], 8);
      ok = gb == wb || (std::isnan(g[i]) && std::isnan(w[i]));
    } else if (std::isnan(w[i]) || std::isnan(g[i])) {
      ok = std::isnan(w[i]) && std::isnan(g[i]);
    } else if (std::isinf(w[i]) || std::isinf(g[i])) {
      ok = g[i] == w[i];
    } else {
      ok = std::abs(g[i] - w[i]) <= 1e-5 * std::abs(w[i]) + 1e-6 * scale;
    }
    if (!ok && ++bad <= 3) detail += fmt::format(" [{}] ctorch {:.9g} torch {:.9g};", i, g[i], w[i]);
  }
  if (bad) out.push_back(fmt::format("{} {}: {} of {} values differ{}", what, shape_str(want.sizes()), bad, g.size(), detail));
}

// Named tensors against torch's: the same names on both sides, each compared.
inline void compare_named(const NamedTensors& got, const NamedTensors& want, Match mode, std::vector<std::string>& out) {
  std::map<std::string, Tensor> g(got.begin(), got.end());
  std::set<std::string> want_names;
  for (const auto& [k, w] : want) {
    want_names.insert(k);
    if (!g.count(k)) out.push_back("torch's " + k + " has no ctorch counterpart");
    else compare(k, g[k], w, mode, out);
  }
  for (const auto& [k, _] : got)
    if (!want_names.count(k)) out.push_back("ctorch's " + k + " is not in the reference");
}

// Runs every case of `group` (run(def) returns its problems): one CHECK per case, with all of
// its problems in the message; a group without cases fails.
template <class Def, class Run>
void run_group(const std::vector<Def>& cases, const std::string& group, Run&& run) {
  int n = 0;
  for (const Def& def : cases) {
    if (def.group != group) continue;
    ++n;
    std::vector<std::string> problems = run(def);
    std::string msg = def.name + ":";
    for (const auto& p : problems) msg += "\n    " + p;
    CHECK_MESSAGE(problems.empty(), msg);
  }
  CHECK_MESSAGE(n > 0, "no cases in group " << group);
}

}  // namespace ctorch::test
