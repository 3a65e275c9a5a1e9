// torch.optim parity: optimizers, learning-rate schedulers and gradient clipping against real
// PyTorch 1.13. The reference numbers come from tests/parity/gen_optim_ref.py, run by the CTest
// fixture `optim_reference` into the build tree (the path CMake compiles in as CTORCH_OPTIM_REF;
// $CTORCH_OPTIM_REF overrides it). When the file is missing or older than the script (a manual run
// of the test binary), the test runs the script itself with /usr/bin/python3. Test cases named "optim parity: ..." need the file; the others do not.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>
#include <ctorch/nn/clip_grad.hpp>
#include <ctorch/optim/optim.hpp>

using namespace ctorch;
using namespace ctorch::optim;
namespace sched = ctorch::optim::lr_scheduler;

namespace {

// ---- the reference file ----

class Reference {
 public:
  static const Reference& get() {
    static const Reference r = load();
    return r;
  }
  bool has(const std::string& key) const { return records_.count(key) != 0; }
  const std::vector<std::string>& tokens(const std::string& key) const {
    auto it = records_.find(key);
    if (it == records_.end()) FAIL("reference has no record " << key);
    return it->second;
  }
  std::vector<double> numbers(const std::string& key) const {
    std::vector<double> v;
    for (const auto& t : tokens(key)) v.push_back(std::stod(t));
    return v;
  }

 private:
  static std::string path() {
    namespace fs = std::filesystem;
    std::string p;
    if (const char* env = std::getenv("CTORCH_OPTIM_REF")) p = env;
#ifdef CTORCH_OPTIM_REF
    if (p.empty()) p = CTORCH_OPTIM_REF;
#endif
    if (p.empty()) p = (fs::temp_directory_path() / "ctorch_optim_ref.txt").string();
#ifdef CTORCH_SOURCE_DIR
    const std::string script = std::string(CTORCH_SOURCE_DIR) + "/tests/parity/gen_optim_ref.py";
    std::error_code ec;
    bool stale = !fs::exists(p) || (fs::exists(script) && fs::last_write_time(script) > fs::last_write_time(p, ec));
    if (stale) {
      if (fs::path(p).has_parent_path()) fs::create_directories(fs::path(p).parent_path(), ec);
      const std::string tmp = p + ".tmp";
      const std::string cmd = "/usr/bin/python3 '" + script + "' '" + tmp + "'";
      if (std::system(cmd.c_str()) == 0) fs::rename(tmp, p, ec);
    }
#endif
    return p;
  }
  static Reference load() {
    Reference r;
    const std::string p = path();
    std::ifstream in(p);
    if (!in) FAIL("cannot read the optim reference file " << p << " (run tests/parity/gen_optim_ref.py)");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto tab = line.find('\t');
      std::vector<std::string> toks;
      std::istringstream ss(line.substr(tab + 1));
      for (std::string t; ss >> t;) toks.push_back(t);
      r.records_[line.substr(0, tab)] = std::move(toks);
    }
    return r;
  }
  std::map<std::string, std::vector<std::string>> records_;
};

// The largest relative difference seen per table (printed with CTORCH_OPTIM_VERBOSE=1).
struct Worst {
  double rel = 0, got = 0, want = 0;
  std::string where;
};
std::map<std::string, Worst>& worst() {
  static std::map<std::string, Worst> w;
  return w;
}
bool verbose() { return std::getenv("CTORCH_OPTIM_VERBOSE") != nullptr; }

// |a - b| <= rtol (|b| + max |want|) + atol for every element; reports the first few mismatches.
// The max |want| term: an element that passes near zero (a weight moved by steps of 0.1 to -0.003)
// carries the rounding of the whole tensor's scale, not of its own size; in float32 that rounding
// depends on the order of sums, which differs between torch's kernels and ctorch's on some CPUs.
void check_close(const std::vector<double>& got, const std::vector<double>& want, double rtol, double atol,
                 const std::string& what, const std::string& table = "") {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": " << got.size() << " values, expected " << want.size());
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!table.empty() && want[i] != 0) {
      Worst& w = worst()[table];
      double rel = std::abs(got[i] - want[i]) / std::abs(want[i]);
      if (rel > w.rel) w = {rel, got[i], want[i], what + "[" + std::to_string(i) + "]"};
    }
    bool ok = std::abs(got[i] - want[i]) <= rtol * (std::abs(want[i]) + scale) + atol;
    if (!ok && reported++ < 3)
      CHECK_MESSAGE(ok, what << "[" << i << "]: ctorch " << fmt::format("{:.17g}", got[i]) << ", torch "
                                  << fmt::format("{:.17g}", want[i]));
  }
  CHECK_MESSAGE(reported == 0, what << ": " << reported << " value(s) differ from torch");
}

std::vector<double> values(const Tensor& t) { return t.contiguous().to_vector<double>(); }

// ---- the tiny linear model of gen_optim_ref.py ----

struct Model {
  Tensor X, Y, W, b, U;
  explicit Model(ScalarType dt) {
    const Reference& r = Reference::get();
    X = tensor(r.numbers("data/X"), {6, 4}, dtype(dt));
    Y = tensor(r.numbers("data/Y"), {6, 3}, dtype(dt));
    W = tensor(r.numbers("data/W"), {3, 4}, dtype(dt).requires_grad());
    b = tensor(r.numbers("data/b"), {3}, dtype(dt).requires_grad());
    U = tensor(r.numbers("data/U"), {2}, dtype(dt).requires_grad());  // never gets a grad
  }
  Tensor loss() const { return (X.matmul(W.t()) + b - Y).pow(2).mean(); }
  void train_step(Optimizer& opt) const {
    opt.zero_grad();
    loss().backward();
    opt.step();
  }
};

using Factory = std::function<std::unique_ptr<Optimizer>(const Tensor& W, const Tensor& b, const Tensor& U)>;
struct Config {
  const char* name;
  Factory make;
};

template <class Opt, class Opts>
Factory plain(Opts o) {
  return [o](const Tensor& W, const Tensor& b, const Tensor& U) -> std::unique_ptr<Optimizer> {
    return std::make_unique<Opt>(std::vector<Tensor>{W, b, U}, o);
  };
}

// The CONFIGS of gen_optim_ref.py, one to one (torch keyword arguments -> designated initializers).
const std::vector<Config>& configs() {
  static const std::vector<Config> c = {
      {"sgd_plain", plain<SGD>(SGDOptions{.lr = 0.1})},
      {"sgd_momentum", plain<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9})},
      {"sgd_dampening", plain<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3})},
      {"sgd_nesterov", plain<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true})},
      {"sgd_weight_decay", plain<SGD>(SGDOptions{.lr = 0.1, .weight_decay = 0.05})},
      {"sgd_momentum_wd", plain<SGD>(SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.1, .weight_decay = 0.01})},
      {"sgd_maximize", plain<SGD>(SGDOptions{.lr = 0.05, .momentum = 0.5, .maximize = true})},
      {"sgd_nesterov_wd_max",
       plain<SGD>(SGDOptions{.lr = 0.02, .momentum = 0.7, .weight_decay = 0.1, .nesterov = true, .maximize = true})},
      {"sgd_groups",
       [](const Tensor& W, const Tensor& b, const Tensor& U) -> std::unique_ptr<Optimizer> {
         return std::make_unique<SGD>(
             std::vector<ParamGroup>{{.params = {W, U}}, {.params = {b}, .options = {{"lr", 0.01}, {"momentum", 0.5}}}},
             SGDOptions{.lr = 0.1, .momentum = 0.9});
       }},
      {"adam_default", plain<Adam>(AdamOptions{})},
      {"adam_plain", plain<Adam>(AdamOptions{.lr = 0.01})},
      {"adam_weight_decay", plain<Adam>(AdamOptions{.lr = 0.01, .weight_decay = 0.1})},
      {"adam_amsgrad", plain<Adam>(AdamOptions{.lr = 0.01, .betas = {0.8, 0.99}, .amsgrad = true})},
      {"adam_maximize", plain<Adam>(AdamOptions{.lr = 0.01, .maximize = true})},
      {"adam_all",
       plain<Adam>(AdamOptions{.lr = 0.02, .betas = {0.85, 0.95}, .eps = 1e-6, .weight_decay = 0.05, .amsgrad = true})},
      {"adam_groups",
       [](const Tensor& W, const Tensor& b, const Tensor& U) -> std::unique_ptr<Optimizer> {
         return std::make_unique<Adam>(
             std::vector<ParamGroup>{{.params = {W}, .options = {{"weight_decay", 0.1}}},
                                     {.params = {b, U}, .options = {{"betas", {0.5, 0.9}}}}},
             AdamOptions{.lr = 0.01});
       }},
      {"adamw_default", plain<AdamW>(AdamWOptions{})},
      {"adamw_plain", plain<AdamW>(AdamWOptions{.lr = 0.01, .weight_decay = 0.1})},
      {"adamw_amsgrad", plain<AdamW>(AdamWOptions{.lr = 0.01, .weight_decay = 0.05, .amsgrad = true})},
      {"adamw_maximize", plain<AdamW>(AdamWOptions{.lr = 0.01, .maximize = true})},
      {"rmsprop_plain", plain<RMSprop>(RMSpropOptions{})},
      {"rmsprop_centered", plain<RMSprop>(RMSpropOptions{.centered = true})},
      {"rmsprop_momentum", plain<RMSprop>(RMSpropOptions{.momentum = 0.9})},
      {"rmsprop_weight_decay", plain<RMSprop>(RMSpropOptions{.weight_decay = 0.1})},
      {"rmsprop_all", plain<RMSprop>(RMSpropOptions{.lr = 0.005, .alpha = 0.9, .eps = 1e-6, .weight_decay = 0.01,
                                                    .momentum = 0.5, .centered = true, .maximize = true})},
      {"adagrad_plain", plain<Adagrad>(AdagradOptions{.lr = 0.1})},
      {"adagrad_lr_decay", plain<Adagrad>(AdagradOptions{.lr = 0.1, .lr_decay = 0.05})},
      {"adagrad_weight_decay", plain<Adagrad>(AdagradOptions{.lr = 0.1, .weight_decay = 0.1})},
      {"adagrad_initial_accumulator", plain<Adagrad>(AdagradOptions{.lr = 0.1, .initial_accumulator_value = 0.5})},
      {"adagrad_all", plain<Adagrad>(AdagradOptions{.lr = 0.05, .lr_decay = 0.01, .weight_decay = 0.02,
                                                    .initial_accumulator_value = 0.1, .eps = 1e-8, .maximize = true})},
  };
  return c;
}

struct DtypeCase {
  const char* name;
  ScalarType dtype;
  double rtol, atol;
};
// float32 to 1e-5 relative (plus 1e-7 absolute for values near 0); float64 much tighter, which
// pins the formulas down: only rounding differences (torch's FMA in vectorised kernels) remain.
const DtypeCase kDtypes[] = {{"f32", kFloat32, 1e-5, 1e-7}, {"f64", kFloat64, 1e-10, 1e-13}};

// The option tokens of gen_optim_ref.py ("lr:0.1", "nesterov:False", "betas:0.9,0.999").
std::map<std::string, std::string> parse_group(const std::vector<std::string>& toks) {
  std::map<std::string, std::string> m;
  for (const auto& t : toks) {
    auto colon = t.find(':');
    m[t.substr(0, colon)] = t.substr(colon + 1);
  }
  return m;
}

void check_option(const std::string& key, const OptionValue& mine, const std::string& torch_value) {
  INFO("option " << key << ": ctorch " << mine.to_string() << ", torch " << torch_value);
  if (mine.is_flag()) {
    CHECK(torch_value == (mine.flag() ? "True" : "False"));
  } else if (mine.is_tuple()) {
    std::vector<double> t;
    std::stringstream ss(torch_value);
    for (std::string x; std::getline(ss, x, ',');) t.push_back(std::stod(x));
    CHECK(t == mine.tuple());
  } else {
    CHECK(std::stod(torch_value) == mine.number());
  }
}

// Runs one configuration for 10 steps and compares params, state and param groups with torch.
void run_config(const Config& c, const DtypeCase& d) {
  const Reference& r = Reference::get();
  INFO("config " << c.name << " " << d.name);
  Model m(d.dtype);
  auto opt = c.make(m.W, m.b, m.U);
  const std::string prefix = std::string(c.name) + "/" + d.name;
  for (int step = 1; step <= 10; ++step) {
    m.train_step(*opt);
    if (step == 1 || step == 2 || step == 5 || step == 10) {
      for (auto [pname, p] : {std::pair{"W", m.W}, std::pair{"b", m.b}, std::pair{"U", m.U}}) {
        const std::string key = "opt/" + prefix + "/" + std::to_string(step) + "/" + pname;
        check_close(values(p), r.numbers(key), d.rtol, d.atol, key, std::string(c.name) + " " + d.name);
      }
    }
  }
  // state_dict: the same params have state, under the same names, with the same values
  OptimizerStateDict sd = opt->state_dict();
  std::set<int64_t> torch_indices;
  for (int64_t index = 0; index < 3; ++index) {
    const std::string kk = "statekeys/" + prefix + "/" + std::to_string(index);
    std::vector<std::string> names = r.has(kk) ? r.tokens(kk) : std::vector<std::string>{};
    auto it = sd.state.find(index);
    std::vector<std::string> mine;
    if (it != sd.state.end())
      for (const auto& [k, v] : it->second) mine.push_back(k);
    CHECK_MESSAGE(mine == names, kk << ": ctorch has [" << fmt::format("{}", fmt::join(mine, " ")) << "], torch ["
                                    << fmt::format("{}", fmt::join(names, " ")) << "]");
    for (const auto& k : names) {
      if (it == sd.state.end() || !it->second.count(k)) continue;
      const std::string key = "state/" + prefix + "/" + std::to_string(index) + "/" + k;
      check_close(values(it->second.at(k)), r.numbers(key), d.rtol, d.atol, key);
    }
  }
  // param groups: the same param indices, and every ctorch option under torch's name and value
  const std::set<std::string> torch_only = {"foreach", "differentiable", "capturable", "fused"};
  REQUIRE(sd.param_groups.size() == opt->param_groups().size());
  for (size_t g = 0; g < sd.param_groups.size(); ++g) {
    auto torch_group = parse_group(r.tokens("groups/" + prefix + "/" + std::to_string(g)));
    CHECK(torch_group.at("params") == fmt::format("{}", fmt::join(sd.param_groups[g].params, ",")));
    for (const auto& [key, value] : sd.param_groups[g].options) {
      REQUIRE_MESSAGE(torch_group.count(key), "torch's param group has no option " << key);
      check_option(key, value, torch_group.at(key));
    }
    for (const auto& [key, value] : torch_group)
      if (key != "params" && !torch_only.count(key))
        CHECK_MESSAGE(sd.param_groups[g].options.count(key), "ctorch's param group lacks torch's option " << key);
  }
}

void run_family(const std::string& prefix) {
  int n = 0;
  for (const Config& c : configs())
    if (std::string(c.name).rfind(prefix, 0) == 0) {
      for (const DtypeCase& d : kDtypes) run_config(c, d);
      ++n;
    }
  CHECK(n > 0);
  if (verbose())
    for (const auto& [table, w] : worst())
      if (table.rfind(prefix, 0) == 0) MESSAGE(table << ": max relative difference " << w.rel << " at " << w.where << fmt::format(" (ctorch {:.9g}, torch {:.9g})", w.got, w.want));
}

// Two param groups (lr 0.1 and 0.05) as the schedulers in gen_optim_ref.py see them.
struct TwoGroups {
  Tensor p1 = zeros({2}, requires_grad()), p2 = zeros({3}, requires_grad());
  SGD opt{std::vector<ParamGroup>{{.params = {p1}}, {.params = {p2}, .options = {{"lr", 0.05}}}}, SGDOptions{.lr = 0.1}};
  std::vector<double> lrs() const {
    std::vector<double> v;
    for (const auto& g : opt.param_groups()) v.push_back(g["lr"]);
    return v;
  }
};

// Steps the schedulers made by `make` 30 times and checks every lr bit for bit against torch.
template <class Make>
void check_schedule(const std::string& name, Make&& make) {
  INFO("scheduler " << name);
  TwoGroups t;
  auto scheds = make(t.opt);
  std::vector<double> seq = t.lrs();
  for (int i = 0; i < 30; ++i) {
    t.opt.step();
    for (auto& s : scheds) s->step();
    CHECK(scheds.back()->get_last_lr() == t.lrs());
    auto l = t.lrs();
    seq.insert(seq.end(), l.begin(), l.end());
  }
  check_close(seq, Reference::get().numbers("sched/" + name), 0, 0, "sched/" + name);  // bit for bit
}

template <class... S>
std::vector<std::unique_ptr<sched::LRScheduler>> list(std::unique_ptr<S>... s) {
  std::vector<std::unique_ptr<sched::LRScheduler>> v;
  (v.push_back(std::move(s)), ...);
  return v;
}

}  // namespace

// ==== optimizers vs torch ====

TEST_CASE("optim parity: SGD") { run_family("sgd_"); }
TEST_CASE("optim parity: Adam") { run_family("adam_"); }
TEST_CASE("optim parity: AdamW") { run_family("adamw_"); }
TEST_CASE("optim parity: RMSprop") { run_family("rmsprop_"); }
TEST_CASE("optim parity: Adagrad") { run_family("adagrad_"); }

// ==== schedulers vs torch ====

TEST_CASE("optim parity: lr_scheduler") {
  check_schedule("step", [](Optimizer& o) { return list(std::make_unique<sched::StepLR>(o, 7, 0.5)); });
  check_schedule("step_default", [](Optimizer& o) { return list(std::make_unique<sched::StepLR>(o, 4)); });
  check_schedule("multistep", [](Optimizer& o) {
    return list(std::make_unique<sched::MultiStepLR>(o, std::vector<int64_t>{5, 12, 12, 20}, 0.3));
  });
  check_schedule("exponential", [](Optimizer& o) { return list(std::make_unique<sched::ExponentialLR>(o, 0.9)); });
  check_schedule("cosine", [](Optimizer& o) { return list(std::make_unique<sched::CosineAnnealingLR>(o, 10, 0.001)); });
  check_schedule("cosine_default", [](Optimizer& o) { return list(std::make_unique<sched::CosineAnnealingLR>(o, 7)); });
  check_schedule("lambda", [](Optimizer& o) {
    return list(std::make_unique<sched::LambdaLR>(o, [](int64_t e) { return std::pow(0.95, static_cast<double>(e)); }));
  });
  check_schedule("lambda_list", [](Optimizer& o) {
    return list(std::make_unique<sched::LambdaLR>(
        o, std::vector<sched::LambdaLR::Lambda>{[](int64_t e) { return 1.0 / static_cast<double>(e + 1); },
                                                [](int64_t e) { return std::pow(0.9, static_cast<double>(e)); }}));
  });
  check_schedule("linear_default", [](Optimizer& o) { return list(std::make_unique<sched::LinearLR>(o)); });
  check_schedule("linear_custom",
                 [](Optimizer& o) { return list(std::make_unique<sched::LinearLR>(o, 0.25, 0.75, 12)); });
  check_schedule("linear_decay", [](Optimizer& o) { return list(std::make_unique<sched::LinearLR>(o, 1.0, 0.1, 20)); });
  check_schedule("chained", [](Optimizer& o) {
    return list(std::make_unique<sched::ExponentialLR>(o, 0.95), std::make_unique<sched::StepLR>(o, 5, 0.5));
  });
}

TEST_CASE("optim parity: ReduceLROnPlateau") {
  const Reference& r = Reference::get();
  const std::vector<double> metrics = r.numbers("plateau/metrics");
  const std::vector<std::pair<std::string, sched::ReduceLROnPlateauOptions>> cases = {
      {"plateau_default", {}},
      {"plateau_min", {.patience = 2}},
      {"plateau_max_abs",
       {.mode = "max", .factor = 0.5, .patience = 1, .threshold = 0.01, .threshold_mode = "abs", .cooldown = 2}},
      {"plateau_min_lrs", {.factor = 0.2, .patience = 0, .min_lrs = {0.001, 0.0005}}},
      {"plateau_cooldown", {.patience = 1, .threshold = 0.05, .cooldown = 3, .min_lr = 0.002}},
      {"plateau_eps", {.factor = 0.5, .patience = 0, .eps = 0.02}},
  };
  for (const auto& [name, options] : cases) {
    INFO("scheduler " << name);
    TwoGroups t;
    sched::ReduceLROnPlateau s(t.opt, options);
    CHECK(s.get_last_lr() == t.lrs());
    std::vector<double> seq = t.lrs();
    for (double metric : metrics) {
      t.opt.step();
      s.step(metric);
      CHECK(s.get_last_lr() == t.lrs());
      auto l = t.lrs();
      seq.insert(seq.end(), l.begin(), l.end());
    }
    check_close(seq, r.numbers("sched/" + name), 0, 0, "sched/" + name);
  }
}

// ==== gradient clipping vs torch ====

TEST_CASE("optim parity: clip_grad") {
  const Reference& r = Reference::get();
  struct Case {
    const char* name;
    double max_norm, norm_type;
    ScalarType dtype;
  };
  const Case cases[] = {{"l2", 1.0, 2.0, kFloat32},     {"l2_noclip", 100.0, 2.0, kFloat32},
                        {"inf", 0.5, nn::utils::inf, kFloat32}, {"l1", 2.0, 1.0, kFloat32},
                        {"p3_5", 1.5, 3.5, kFloat32},   {"l2_f64", 1.0, 2.0, kFloat64},
                        {"value", 0.5, 0.0, kFloat32}};
  const std::vector<std::vector<int64_t>> shapes = {{3, 4}, {5}, {2, 2}};
  for (const Case& c : cases) {
    INFO("clip case " << c.name);
    std::vector<Tensor> ps;
    for (size_t i = 0; i < 3; ++i) {
      Tensor p = zeros(shapes[i], dtype(c.dtype).requires_grad());
      p.set_grad(tensor(r.numbers("clip/grads/g" + std::to_string(i)), shapes[i], dtype(c.dtype)));
      ps.push_back(p);
    }
    ps.push_back(zeros({3}, dtype(c.dtype).requires_grad()));  // no grad: skipped
    const double rtol = c.dtype == kFloat32 ? 1e-6 : 1e-13;
    if (std::string(c.name) == "value") {
      nn::utils::clip_grad_value_(ps, c.max_norm);
    } else {
      Tensor total = nn::utils::clip_grad_norm_(ps, c.max_norm, c.norm_type);
      CHECK(total.dim() == 0);
      CHECK(total.dtype() == c.dtype);
      check_close({total.item()}, r.numbers(std::string("clip/") + c.name + "/total"), rtol, 0, "total norm",
                  std::string("clip ") + c.name);
    }
    for (size_t i = 0; i < 3; ++i) {
      const std::string key = std::string("clip/") + c.name + "/g" + std::to_string(i);
      check_close(values(ps[i].grad()), r.numbers(key), rtol, 1e-8, key, std::string("clip ") + c.name);
    }
    CHECK_FALSE(ps[3].grad().defined());
  }
  if (verbose())
    for (const auto& [table, w] : worst())
      if (table.rfind("clip", 0) == 0) MESSAGE(table << ": max relative difference " << w.rel << " at " << w.where << fmt::format(" (ctorch {:.9g}, torch {:.9g})", w.got, w.want));
}

// ==== behaviour (no reference file needed) ====

TEST_CASE("optim zero_grad: None by default (set_to_none, torch 2.x), zeros in place with false") {
  Tensor w = ones({3}, requires_grad());
  SGD opt({w}, {.lr = 0.1});
  (w * w).sum().backward();
  Tensor g = w.grad();
  opt.zero_grad(false);
  REQUIRE(w.grad().defined());
  CHECK(w.grad().is_same(g));  // zeroed in place
  CHECK(values(w.grad()) == std::vector<double>{0, 0, 0});
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());
  opt.step();  // no grad: skipped
  CHECK(values(w) == std::vector<double>{1, 1, 1});
}

TEST_CASE("optim step: in place, bumps the version, records no graph, returns the closure's loss") {
  Tensor w = tensor({1.0f, 2.0f}).requires_grad_();
  Adam opt({w}, {.lr = 0.1});
  const void* data = w.raw_data();
  uint32_t v0 = w.version();
  int calls = 0;
  Tensor loss = opt.step([&] {
    ++calls;
    opt.zero_grad();
    Tensor l = (w * w).sum();
    CHECK(GradMode::is_enabled());
    l.backward();
    return l;
  });
  CHECK(calls == 1);
  CHECK(loss.item() == doctest::Approx(5.0));
  CHECK(w.raw_data() == data);
  CHECK(w.version() > v0);
  CHECK(w.is_leaf());
  CHECK(w.grad_fn() == nullptr);
  CHECK(values(w)[0] == doctest::Approx(0.9));  // Adam's first step moves each weight by lr
  CHECK_FALSE(opt.step().defined());          // no closure: no loss
}

TEST_CASE("optim non-contiguous params and grads take the slow path with the same numbers") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    // the same 3x4 weights, once contiguous and once as the transpose of a 4x3 tensor
    Tensor base = arange(12).to(dt).reshape({3, 4}) * 0.1;
    Tensor a = base.clone().requires_grad_();
    Tensor bt = base.t().contiguous().t().detach().requires_grad_();
    REQUIRE_FALSE(bt.is_contiguous());
    Tensor x = tensor(std::vector<double>{0.5, -1.0, 2.0, 0.25}, {4, 1}, dtype(dt));
    Adam oa({a}, {.lr = 0.05, .weight_decay = 0.1, .amsgrad = true});
    Adam ob({bt}, {.lr = 0.05, .weight_decay = 0.1, .amsgrad = true});
    for (int i = 0; i < 4; ++i) {
      oa.zero_grad();
      ob.zero_grad();
      a.matmul(x).pow(2).sum().backward();
      bt.matmul(x).pow(2).sum().backward();
      // a non-contiguous grad too, on the second optimizer
      Tensor g = bt.grad();
      bt.set_grad(g.t().contiguous().t());
      REQUIRE_FALSE(bt.grad().is_contiguous());
      oa.step();
      ob.step();
    }
    CHECK_FALSE(bt.is_contiguous());
    CHECK(values(a) == values(bt));  // bit for bit
  }
}

TEST_CASE("optim state_dict round trip continues exactly where it stopped") {
  auto make = [](const std::vector<Tensor>& ps) {
    return std::make_unique<RMSprop>(ps, RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
  };
  Tensor x = tensor({1.0f, -2.0f, 0.5f});
  Tensor w1 = tensor({0.3f, 0.1f, -0.2f}).requires_grad_();
  auto o1 = make({w1});
  auto train = [&](Optimizer& o, Tensor& w, int n) {
    for (int i = 0; i < n; ++i) {
      o.zero_grad();
      ((w * x).sum() - 1.0).pow(2).backward();
      o.step();
    }
  };
  train(*o1, w1, 5);
  OptimizerStateDict sd = o1->state_dict();
  CHECK(sd.state.size() == 1);
  CHECK(sd.state.at(0).at("step").item<int64_t>() == 5);
  CHECK(sd.state.at(0).at("step").dtype() == kInt64);
  Tensor w2 = w1.detach().clone().requires_grad_();
  auto o2 = make({w2});
  o2->param_groups()[0]["lr"] = 1.0;  // replaced by the saved options
  o2->load_state_dict(sd);
  CHECK(o2->param_groups()[0].at("lr").number() == 0.01);
  // state_dict shares the optimizer's tensors (as torch's does); load_state_dict copies them
  CHECK(sd.state.at(0).at("square_avg").is_same(o1->find_state(w1)->at("square_avg")));
  CHECK_FALSE(o2->find_state(w2)->at("square_avg").shares_storage(sd.state.at(0).at("square_avg")));
  o1->load_state_dict(o1->state_dict());  // a self-load changes nothing
  train(*o1, w1, 5);
  train(*o2, w2, 5);
  CHECK(values(w1) == values(w2));
}

TEST_CASE("optim state_dict indexes params across groups and casts loaded state") {
  Tensor a = ones({2}, requires_grad()), b = ones({3}, requires_grad()), c = ones({1}, requires_grad());
  Adagrad opt(std::vector<ParamGroup>{{.params = {a, b}}, {.params = {c}, .options = {{"lr", 0.5}}}},
              {.lr = 0.1, .initial_accumulator_value = 0.25});
  OptimizerStateDict sd = opt.state_dict();  // Adagrad makes its state up front, like torch
  REQUIRE(sd.state.size() == 3);
  CHECK(sd.param_groups[0].params == std::vector<int64_t>{0, 1});
  CHECK(sd.param_groups[1].params == std::vector<int64_t>{2});
  CHECK(sd.param_groups[1].options.at("lr").number() == 0.5);
  CHECK(values(sd.state.at(1).at("sum")) == std::vector<double>{0.25, 0.25, 0.25});
  CHECK(sd.state.at(2).at("step").dtype() == kFloat32);
  // float64 state is cast to the param's float32 (but "step" is kept as is)
  sd.state.at(0)["sum"] = full({2}, 2.0, kFloat64);
  sd.state.at(0)["step"] = scalar_tensor(3, kFloat64);
  opt.load_state_dict(sd);
  CHECK(opt.find_state(a)->at("sum").dtype() == kFloat32);
  CHECK(opt.find_state(a)->at("step").dtype() == kFloat64);
  // wrong shapes and sizes are refused
  sd.state.at(0)["sum"] = zeros({5});
  CHECK_THROWS_AS(opt.load_state_dict(sd), Error);
  OptimizerStateDict bad = opt.state_dict();
  bad.param_groups.pop_back();
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad), "loaded state dict has a different number of parameter groups", Error);
  bad = opt.state_dict();
  bad.param_groups[0].params.pop_back();
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad),
                       "loaded state dict contains a parameter group that doesn't match the size of optimizer's group",
                       Error);
}

TEST_CASE("optim param groups: defaults fill in, add_param_group, lr edits take effect") {
  Tensor a = ones({2}, requires_grad()), b = ones({2}, requires_grad());
  SGD opt({a}, {.lr = 0.1, .momentum = 0.9});
  opt.add_param_group({.params = {b}, .options = {{"lr", 0.01}}});
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[1]["lr"].number() == 0.01);
  CHECK(opt.param_groups()[1]["momentum"].number() == 0.9);
  CHECK(opt.param_groups()[1]["nesterov"].is_flag());
  for (auto& g : opt.param_groups()) g["lr"] = 0.0;  // like `for g in opt.param_groups: g['lr'] = 0`
  (a.sum() + b.sum()).backward();
  opt.step();
  CHECK(values(a) == std::vector<double>{1, 1});
  CHECK(values(b) == std::vector<double>{1, 1});
  CHECK(opt.repr().rfind("SGD (\nParameter Group 0\n    dampening: 0\n", 0) == 0);
}

TEST_CASE("optim OptionValue reads like Python values and round-trips through strings") {
  OptionValue lr = 0.1, flag = true, betas = {0.9, 0.999}, n = 5;
  CHECK(lr.to_string() == "0.1");
  CHECK(flag.to_string() == "True");
  CHECK(betas.to_string() == "(0.9, 0.999)");
  CHECK(n.number() == 5);
  for (const OptionValue& v : {lr, flag, betas, n, OptionValue(1e-8), OptionValue(1.0 / 3)})
    CHECK(OptionValue::from_string(v.to_string()) == v);
  double x = lr;
  CHECK(x == 0.1);
  CHECK(betas[1] == 0.999);
  CHECK_THROWS_AS((void)static_cast<double>(betas), Error);
}

TEST_CASE("optim errors match torch's messages") {
  Tensor w = ones({2}, requires_grad());
  std::vector<Tensor> ps{w};
  CHECK_THROWS_WITH_AS(SGD(ps, {.lr = -1}), "Invalid learning rate: -1", Error);
  CHECK_THROWS_WITH_AS(SGD(ps, {.lr = 0.1, .momentum = -0.5}), "Invalid momentum value: -0.5", Error);
  CHECK_THROWS_WITH_AS(SGD(ps, {.lr = 0.1, .weight_decay = -1e-4}), "Invalid weight_decay value: -0.0001", Error);
  CHECK_THROWS_WITH_AS(SGD(ps, {.lr = 0.1, .nesterov = true}), "Nesterov momentum requires a momentum and zero dampening",
                       Error);
  CHECK_THROWS_WITH_AS(SGD(ps, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                       "Nesterov momentum requires a momentum and zero dampening", Error);
  CHECK_THROWS_WITH_AS(SGD(ps, {}), "parameter group didn't specify a value of required optimization parameter lr",
                       Error);
  CHECK_NOTHROW(SGD(std::vector<ParamGroup>{{.params = {w}, .options = {{"lr", 0.1}}}}, {}));  // lr in the group
  CHECK_THROWS_WITH_AS(Adam(ps, {.lr = -0.5}), "Invalid learning rate: -0.5", Error);
  CHECK_THROWS_WITH_AS(Adam(ps, {.betas = {1.0, 0.999}}), "Invalid beta parameter at index 0: 1", Error);
  CHECK_THROWS_WITH_AS(Adam(ps, {.betas = {0.9, -0.1}}), "Invalid beta parameter at index 1: -0.1", Error);
  CHECK_THROWS_WITH_AS(Adam(ps, {.eps = -1e-8}), "Invalid epsilon value: -1e-08", Error);
  CHECK_THROWS_WITH_AS(AdamW(ps, {.weight_decay = -1}), "Invalid weight_decay value: -1", Error);
  CHECK_THROWS_WITH_AS(AdamW(ps, {.betas = {0.9, 1.5}}), "Invalid beta parameter at index 1: 1.5", Error);
  CHECK_THROWS_WITH_AS(RMSprop(ps, {.alpha = -0.1}), "Invalid alpha value: -0.1", Error);
  CHECK_THROWS_WITH_AS(RMSprop(ps, {.momentum = -1}), "Invalid momentum value: -1", Error);
  CHECK_THROWS_WITH_AS(Adagrad(ps, {.lr_decay = -1}), "Invalid lr_decay value: -1", Error);
  CHECK_THROWS_WITH_AS(Adagrad(ps, {.initial_accumulator_value = -1}), "Invalid initial_accumulator_value value: -1",
                       Error);
  // group values are checked too (torch checks only the constructor's defaults)
  CHECK_THROWS_WITH_AS(Adam(std::vector<ParamGroup>{{.params = {w}, .options = {{"betas", {0.9, 1.0}}}}}),
                       "Invalid beta parameter at index 1: 1", Error);
  // params
  CHECK_THROWS_WITH_AS(SGD(std::vector<Tensor>{}, {.lr = 0.1}), "optimizer got an empty parameter list", Error);
  CHECK_THROWS_WITH_AS(SGD(std::vector<ParamGroup>{}, {.lr = 0.1}), "optimizer got an empty parameter list", Error);
  CHECK_THROWS_WITH_AS(SGD(std::vector<ParamGroup>{{.params = {w}}, {.params = {}}}, {.lr = 0.1}),
                       "SGD: parameter group 1 has no parameters", Error);
  CHECK_THROWS_WITH_AS(SGD(std::vector<ParamGroup>{{.params = {w}}, {.params = {w}}}, {.lr = 0.1}),
                       "some parameters appear in more than one parameter group", Error);
  CHECK_THROWS_WITH_AS(SGD(std::vector<Tensor>{w * 2}, {.lr = 0.1}), "can't optimize a non-leaf Tensor", Error);
  SGD ok(ps, {.lr = 0.1});
  CHECK_THROWS_WITH_AS(ok.add_param_group({.params = {}}), "SGD: parameter group 1 has no parameters", Error);
  // schedulers
  CHECK_THROWS_WITH_AS(sched::LinearLR(ok, 2.0), "Starting multiplicative factor expected to be between 0 and 1.",
                       Error);
  CHECK_THROWS_WITH_AS(sched::LinearLR(ok, 0.5, -1.0), "Ending multiplicative factor expected to be between 0 and 1.",
                       Error);
  CHECK_THROWS_WITH_AS(sched::ReduceLROnPlateau(ok, {.factor = 1.0}), "Factor should be < 1.0.", Error);
  CHECK_THROWS_WITH_AS(sched::ReduceLROnPlateau(ok, {.mode = "mid"}), "mode mid is unknown!", Error);
  CHECK_THROWS_WITH_AS(sched::ReduceLROnPlateau(ok, {.threshold_mode = "x"}), "threshold mode x is unknown!", Error);
  CHECK_THROWS_WITH_AS(sched::ReduceLROnPlateau(ok, {.min_lrs = {0.1, 0.2}}), "expected 1 min_lrs, got 2", Error);
  CHECK_THROWS_WITH_AS(sched::LambdaLR(ok, std::vector<sched::LambdaLR::Lambda>{}), "Expected 1 lr_lambdas, but got 0",
                       Error);
  CHECK_THROWS_WITH_AS(sched::StepLR(ok, 0), "StepLR: step_size must be positive, got 0", Error);
  CHECK_THROWS_WITH_AS(sched::CosineAnnealingLR(ok, 0), "CosineAnnealingLR: T_max must be positive, got 0", Error);
  CHECK_FALSE(ok.param_groups()[0].contains("initial_lr"));  // a refused scheduler leaves the groups alone
  CHECK_THROWS_WITH_AS(sched::StepLR(ok, 3, 0.1, 5),
                       "param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer", Error);
}

TEST_CASE("optim schedulers record initial_lr and resume from last_epoch") {
  Tensor w = ones({2}, requires_grad());
  SGD opt({w}, {.lr = 1.0});
  {
    sched::CosineAnnealingLR s(opt, 10);
    CHECK(opt.param_groups()[0]["initial_lr"].number() == 1.0);
    for (int i = 0; i < 4; ++i) s.step();
    CHECK(s.last_epoch() == 4);
  }
  // resuming at epoch 4 (closed form on the first step), as torch does with last_epoch=4
  double lr_then = opt.param_groups()[0]["lr"];
  sched::CosineAnnealingLR resumed(opt, 10, 0.0, 3);
  CHECK(resumed.last_epoch() == 4);
  CHECK(resumed.get_last_lr()[0] == doctest::Approx(lr_then).epsilon(1e-12));
  sched::ReduceLROnPlateau plateau(opt, {.patience = 0});
  plateau.step(ones({}));
  plateau.step(ones({}) * 2);
  CHECK(plateau.get_last_lr()[0] == doctest::Approx(lr_then * 0.1));
}
