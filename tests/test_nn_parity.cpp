// Parity of ctorch::nn with real PyTorch 1.13: every layer and loss, forward and backward, from the
// very same weights and inputs; seeded initialisation bit for bit; state_dicts in both directions.
//
// tests/parity/gen_nn_ref.py (CTest's fixture `nn_parity_reference`, Debian's /usr/bin/python3)
// writes <dir>/nn_ref.safetensors and <dir>/nn_state_net.safetensors (format in the script). When
// they are missing (the binary run by hand) this test runs the script itself; if that fails (no
// torch), every test here fails: parity is never skipped.
//
// For each case of the file, kCases below has a lambda that rebuilds the computation in ctorch from
// the case's inputs ("<case>/in/...") and initial parameters ("<case>/param/...", loaded with
// Module::load_state_dict); the harness backpropagates torch's upstream gradient and compares the
// output and the gradient of every input and parameter with torch's. Every case of the file must
// have a lambda here and every lambda a case in the file.
//
// Tolerance (as tests/parity/test_parity_ops.cpp): ctorch's c matches torch's r when both are NaN,
// or the same infinity, or |c - r| <= 1e-5 |r| + 1e-6 max(1, max finite |r| of that tensor).
// Dropout masks must match exactly (same zeros), seeded init bit for bit, shapes and dtypes always.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "parity_reference.hpp"

#ifndef CTORCH_NN_PARITY_DIR
#define CTORCH_NN_PARITY_DIR "nn_parity"
#endif
#ifndef CTORCH_SOURCE_DIR
#define CTORCH_SOURCE_DIR "."
#endif

using namespace ctorch;
namespace F = ctorch::nn::functional;
namespace fs = std::filesystem;

namespace {

using test::compare;
using test::Match;
using test::shell_quote;
const char* const kPython = "/usr/bin/python3";

std::string ref_dir() { return test::env_or("CTORCH_NN_PARITY_DIR", CTORCH_NN_PARITY_DIR); }
std::string script() { return test::env_or("CTORCH_SOURCE_DIR", CTORCH_SOURCE_DIR) + std::string("/tests/parity/gen_nn_ref.py"); }
// std::system's status as an exit code (-1 when the shell could not run it or it was killed).
int run(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---- the reference: nn_ref.safetensors, and the state_dict torch wrote beside it ----
struct Reference : test::Reference {
  std::string state_path;
};

Reference load_reference() {
  std::string dir = ref_dir();
  std::string ref_path = dir + "/nn_ref.safetensors", state_path = dir + "/nn_state_net.safetensors";
  test::make_reference("nn parity", {ref_path, state_path}, script(), {dir});
  Reference ref;
  static_cast<test::Reference&>(ref) = test::Reference::load("nn parity", ref_path);
  std::map<std::string, std::string> state_meta;
  load_safetensors(state_path, &state_meta);
  CTORCH_CHECK(ref.meta.count("run") && state_meta["run"] == ref.meta["run"],
               "nn parity: {} and {} come from different runs of gen_nn_ref.py", ref_path, state_path);
  ref.state_path = state_path;
  return ref;
}

const Reference& reference() {
  static const Reference ref = load_reference();  // a failure throws again in every test that needs it
  return ref;
}

// ---- cases ----
class Case {
 public:
  Case(const Reference& ref, std::string name) : ref_(ref), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  // The input `k`, a fresh leaf that requires grad when torch computed a gradient for it.
  Tensor in(const std::string& k) {
    if (auto it = inputs_.find(k); it != inputs_.end()) return it->second;
    Tensor v = ref_.at(name_ + "/in/" + k).clone();
    if (ref_.has(name_ + "/grad/in/" + k)) v.requires_grad_(true);
    return inputs_[k] = v;
  }
  const std::map<std::string, Tensor>& inputs() const { return inputs_; }
  // Loads torch's initial parameters into the module (strict) and compares its gradients later.
  template <class Holder>
  Holder& load(Holder& holder) {
    holder->load_state_dict(ref_.with_prefix(name_ + "/param/"));
    module_ = holder.ptr();
    return holder;
  }
  void watch(std::shared_ptr<nn::Module> m) { module_ = std::move(m); }
  const std::shared_ptr<nn::Module>& module() const { return module_; }
  uint64_t seed() const { return static_cast<uint64_t>(ref_.at(name_ + "/seed").item<int64_t>()); }

 private:
  const Reference& ref_;
  std::string name_;
  std::map<std::string, Tensor> inputs_;
  std::shared_ptr<nn::Module> module_;
};

// A forward case (compared to tolerance, then backward) or an init case (named values, bitwise).
struct CaseDef {
  std::string name, group;
  std::function<Tensor(Case&)> forward;
  std::function<NamedTensors(Case&)> values;
  bool dropout_mask = false;  // the output's zeros must be exactly torch's
};

std::vector<std::string> run_forward(const Reference& ref, const CaseDef& def) {
  std::vector<std::string> problems;
  Case c(ref, def.name);
  Tensor out;
  try {
    out = def.forward(c);
  } catch (const std::exception& e) {
    return {std::string("forward threw: ") + e.what()};
  }
  const Tensor& want = ref.at(def.name + "/out");
  compare("output", out, want, Match::kClose, problems);
  if (def.dropout_mask && problems.empty()) compare("dropout mask (out == 0)", out == 0.0, want == 0.0, Match::kBitwise, problems);
  if (!problems.empty()) return problems;
  if (!out.requires_grad()) return {"the output does not require grad"};
  try {
    out.backward(ref.at(def.name + "/gout"));
  } catch (const std::exception& e) {
    return {std::string("backward threw: ") + e.what()};
  }
  std::set<std::string> compared;
  for (const auto& [k, g] : ref.with_prefix(def.name + "/grad/in/")) {
    auto it = c.inputs().find(k);
    if (it == c.inputs().end()) problems.push_back("input " + k + " (torch has its gradient) was never used");
    else compare("grad of input " + k, it->second.grad(), g, Match::kClose, problems);
  }
  NamedTensors want_param_grads = ref.with_prefix(def.name + "/grad/param/");
  if (c.module()) {
    auto params = c.module()->named_parameters();
    if (params.size() != want_param_grads.size())
      problems.push_back(fmt::format("ctorch's module has {} parameters, torch's {}", params.size(), want_param_grads.size()));
    for (const auto& [k, p] : params) {
      std::string key = def.name + "/grad/param/" + k;
      if (!ref.has(key)) problems.push_back("parameter " + k + " has no torch gradient");
      else compare("grad of parameter " + k, p.grad(), ref.at(key), Match::kClose, problems);
    }
  } else if (!want_param_grads.empty()) {
    problems.push_back("torch has parameter gradients but the case watches no module");
  }
  return problems;
}

std::vector<std::string> run_values(const Reference& ref, const CaseDef& def) {
  std::vector<std::string> problems;
  Case c(ref, def.name);
  NamedTensors got;
  try {
    got = def.values(c);
  } catch (const std::exception& e) {
    return {std::string("threw: ") + e.what()};
  }
  test::compare_named(got, ref.with_prefix(def.name + "/value/"), Match::kBitwise, problems);
  return problems;
}

// ---- the C++ side of every case ----
struct NetImpl : nn::Module {  // gen_nn_ref.py's Net
  nn::Flatten flatten;
  nn::Sequential linear_relu_stack{nn::Linear(12, 16), nn::ReLU(),       nn::Linear(16, 16),
                                   nn::GELU(),         nn::Dropout(0.2), nn::Linear(16, 4)};
  NetImpl() {
    register_module("flatten", flatten);
    register_module("linear_relu_stack", linear_relu_stack);
  }
  Tensor forward(const Tensor& x) override { return linear_relu_stack(flatten(x)); }
};
CTORCH_MODULE(Net);

struct DynamicNetImpl : nn::Module {  // one Linear used three times per forward
  nn::Linear input_linear, middle_linear, output_linear;
  DynamicNetImpl(int64_t d_in, int64_t h, int64_t d_out)
      : input_linear(d_in, h), middle_linear(h, h), output_linear(h, d_out) {
    register_module("input_linear", input_linear);
    register_module("middle_linear", middle_linear);
    register_module("output_linear", output_linear);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = input_linear(x).clamp(0.0);
    for (int i = 0; i < 3; ++i) h = middle_linear(h).clamp(0.0);
    return output_linear(h);
  }
};
CTORCH_MODULE(DynamicNet);

nn::Sequential make_mlp() {
  return nn::Sequential{nn::Linear(6, 8), nn::ReLU(), nn::Linear(8, 8), nn::Tanh(), nn::Linear(8, 3)};
}

template <class Holder>
Tensor apply(Case& c, Holder m) {
  c.load(m);
  return m(c.in("x"));
}

std::vector<CaseDef> make_cases() {
  std::vector<CaseDef> v;
  auto fwd = [&](std::string group, std::string name, std::function<Tensor(Case&)> f, bool mask = false) {
    v.push_back({std::move(name), std::move(group), std::move(f), {}, mask});
  };
  auto init = [&](std::string group, std::string name, std::function<NamedTensors(Case&)> f) {
    v.push_back({std::move(name), std::move(group), {}, std::move(f), false});
  };
  const std::string L = "layers";
  fwd(L, "linear_2d", [](Case& c) { return apply(c, nn::Linear(5, 3)); });
  fwd(L, "linear_3d", [](Case& c) { return apply(c, nn::Linear(5, 3)); });
  fwd(L, "linear_nobias", [](Case& c) { return apply(c, nn::Linear(5, 3, false)); });
  fwd(L, "linear_1d", [](Case& c) { return apply(c, nn::Linear(5, 3)); });
  fwd(L, "identity", [](Case& c) { return apply(c, nn::Identity()); });
  fwd(L, "relu", [](Case& c) { return apply(c, nn::ReLU()); });
  fwd(L, "sigmoid", [](Case& c) { return apply(c, nn::Sigmoid()); });
  fwd(L, "tanh", [](Case& c) { return apply(c, nn::Tanh()); });
  fwd(L, "gelu_none", [](Case& c) { return apply(c, nn::GELU()); });
  fwd(L, "gelu_tanh", [](Case& c) { return apply(c, nn::GELU("tanh")); });
  fwd(L, "softmax_dim1", [](Case& c) { return apply(c, nn::Softmax(1)); });
  fwd(L, "softmax_dim0", [](Case& c) { return apply(c, nn::Softmax(0)); });
  fwd(L, "softmax_3d_neg1", [](Case& c) { return apply(c, nn::Softmax(-1)); });
  fwd(L, "softmax_large", [](Case& c) { return apply(c, nn::Softmax(1)); });
  fwd(L, "logsoftmax_dim1", [](Case& c) { return apply(c, nn::LogSoftmax(1)); });
  fwd(L, "logsoftmax_dim0", [](Case& c) { return apply(c, nn::LogSoftmax(0)); });
  fwd(L, "logsoftmax_3d_neg1", [](Case& c) { return apply(c, nn::LogSoftmax(-1)); });
  fwd(L, "logsoftmax_large", [](Case& c) { return apply(c, nn::LogSoftmax(1)); });
  fwd(L, "flatten", [](Case& c) { return apply(c, nn::Flatten()); });
  fwd(L, "flatten_0_1", [](Case& c) { return apply(c, nn::Flatten(0, 1)); });
  fwd(L, "flatten_1_2", [](Case& c) { return apply(c, nn::Flatten(1, 2)); });

  const std::string D = "dropout";
  fwd(D, "dropout_eval", [](Case& c) {
    nn::Dropout m(0.3);
    m->eval();
    return apply(c, m);
  });
  for (const auto& np : {std::pair{"dropout_train_p03", 0.3}, {"dropout_train_p05", 0.5}, {"dropout_train_p0", 0.0}}) {
    double p = np.second;
    fwd(D, np.first, [p](Case& c) {
      nn::Dropout m(p);
      c.load(m);
      Tensor x = c.in("x");
      manual_seed(c.seed());
      return m(x);
    }, true);
  }
  fwd(D, "f_dropout_p02", [](Case& c) {
    Tensor x = c.in("x");
    manual_seed(c.seed());
    return F::dropout(x, 0.2, true);
  }, true);

  const std::string M = "models";
  fwd(M, "mlp", [](Case& c) { return apply(c, make_mlp()); });
  fwd(M, "mlp_ce", [](Case& c) {
    nn::Sequential m = make_mlp();
    c.load(m);
    return nn::CrossEntropyLoss()(m(c.in("x")), c.in("t"));
  });
  fwd(M, "dynamic_net", [](Case& c) { return apply(c, DynamicNet(5, 6, 2)); });
  for (const auto& nt : {std::pair{"net_eval", false}, {"net_train", true}}) {
    bool train = nt.second;
    fwd(M, nt.first, [train](Case& c) {
      Net net;
      net->load(reference().state_path);  // the state_dict torch wrote, through Module::load
      c.watch(net.ptr());
      net->train(train);
      Tensor x = c.in("x");
      if (train) manual_seed(c.seed());
      return net(x);
    });
  }

  // ---- losses, with every reduction ----
  const std::string RG = "regression losses", CE = "cross_entropy", NLL = "nll_loss", BCE = "binary cross-entropy",
                    MG = "margin losses";
  for (std::string r : {"none", "mean", "sum"}) {
    fwd(RG, "mse_" + r, [r](Case& c) { return nn::MSELoss(r)(c.in("x"), c.in("y")); });
    fwd(RG, "l1_" + r, [r](Case& c) { return nn::L1Loss(r)(c.in("x"), c.in("y")); });
    fwd(RG, "huber_" + r, [r](Case& c) { return nn::HuberLoss(r)(c.in("x"), c.in("y")); });
    fwd(RG, "huber_d05_" + r, [r](Case& c) { return F::huber_loss(c.in("x"), c.in("y"), r, 0.5); });
    fwd(RG, "smooth_l1_b05_" + r, [r](Case& c) { return nn::SmoothL1Loss(r, 0.5)(c.in("x"), c.in("y")); });

    // Options as PyTorch's keyword arguments; "w": the case's class weights.
    struct CeOpt {
      bool weight = false;
      int64_t ignore_index = -100;
      double label_smoothing = 0;
      const char* target = "t";
    };
    auto ce = [r](CeOpt o) {
      return [o, r](Case& c) {
        F::CrossEntropyOptions opt;
        opt.reduction = r;
        opt.ignore_index = o.ignore_index;
        opt.label_smoothing = o.label_smoothing;
        if (o.weight) opt.weight = c.in("w");
        return nn::CrossEntropyLoss(opt)(c.in("x"), c.in(o.target));
      };
    };
    fwd(CE, "ce_" + r, ce(CeOpt{}));
    fwd(CE, "ce_weight_" + r, ce(CeOpt{true}));
    fwd(CE, "ce_ignore_" + r, ce(CeOpt{false, 2}));
    fwd(CE, "ce_ignore_default_" + r, ce(CeOpt{}));
    fwd(CE, "ce_smooth_" + r, ce(CeOpt{false, -100, 0.1}));
    fwd(CE, "ce_wsi_" + r, ce(CeOpt{true, 1, 0.1}));
    fwd(CE, "ce_3d_" + r, ce(CeOpt{}));
    fwd(CE, "ce_3d_wsi_" + r, ce(CeOpt{true, 2, 0.1}));
    fwd(CE, "ce_1d_" + r, [r](Case& c) {
      F::CrossEntropyOptions opt;
      opt.reduction = r;
      return F::cross_entropy(c.in("x"), c.in("t"), opt);
    });
    fwd(CE, "ce_probs_" + r, ce(CeOpt{false, -100, 0, "p"}));
    fwd(CE, "ce_probs_ws_" + r, ce(CeOpt{true, -100, 0.2, "p"}));
    fwd(CE, "ce_large_" + r, ce(CeOpt{}));

    auto nll = [r](bool weight, int64_t ignore_index) {
      return [weight, ignore_index, r](Case& c) {
        F::NLLLossOptions opt;
        opt.reduction = r;
        opt.ignore_index = ignore_index;
        if (weight) opt.weight = c.in("w");
        return nn::NLLLoss(opt)(c.in("x"), c.in("t"));
      };
    };
    fwd(NLL, "nll_" + r, nll(false, -100));
    fwd(NLL, "nll_weight_" + r, nll(true, -100));
    fwd(NLL, "nll_ignore_" + r, nll(false, 0));
    fwd(NLL, "nll_wi_" + r, nll(true, 4));
    fwd(NLL, "nll_3d_" + r, [r](Case& c) {
      F::NLLLossOptions opt;
      opt.reduction = r;
      return F::nll_loss(c.in("x"), c.in("t"), opt);
    });

    fwd(BCE, "bce_" + r, [r](Case& c) { return nn::BCELoss(Tensor(), r)(c.in("x"), c.in("y")); });
    fwd(BCE, "bce_soft_" + r, [r](Case& c) { return nn::BCELoss(Tensor(), r)(c.in("x"), c.in("y")); });
    fwd(BCE, "bce_weight_" + r, [r](Case& c) { return nn::BCELoss(c.in("w"), r)(c.in("x"), c.in("y")); });
    fwd(BCE, "bcel_" + r, [r](Case& c) { return nn::BCEWithLogitsLoss(Tensor(), r)(c.in("x"), c.in("y")); });
    fwd(BCE, "bcel_weight_" + r, [r](Case& c) { return nn::BCEWithLogitsLoss(c.in("w"), r)(c.in("x"), c.in("y")); });
    fwd(BCE, "bcel_posw_" + r, [r](Case& c) {
      return nn::BCEWithLogitsLoss(Tensor(), r, c.in("pw"))(c.in("x"), c.in("y"));
    });
    fwd(BCE, "bcel_both_" + r, [r](Case& c) {
      return F::binary_cross_entropy_with_logits(c.in("x"), c.in("y"), c.in("w"), r, c.in("pw"));
    });

    fwd(MG, "hinge_" + r, [r](Case& c) { return nn::HingeEmbeddingLoss(1.0, r)(c.in("x"), c.in("y")); });
    fwd(MG, "hinge_m2_" + r, [r](Case& c) { return F::hinge_embedding_loss(c.in("x"), c.in("y"), 2.0, r); });
    fwd(MG, "mm_p1_" + r, [r](Case& c) { return nn::MultiMarginLoss(1, 1.0, Tensor(), r)(c.in("x"), c.in("t")); });
    fwd(MG, "mm_p2_" + r, [r](Case& c) { return nn::MultiMarginLoss(2, 1.0, Tensor(), r)(c.in("x"), c.in("t")); });
    fwd(MG, "mm_weight_" + r, [r](Case& c) { return nn::MultiMarginLoss(1, 1.0, c.in("w"), r)(c.in("x"), c.in("t")); });
    fwd(MG, "mm_p2_wm_" + r, [r](Case& c) { return nn::MultiMarginLoss(2, 0.7, c.in("w"), r)(c.in("x"), c.in("t")); });
    fwd(MG, "mm_1d_" + r, [r](Case& c) { return F::multi_margin_loss(c.in("x"), c.in("t"), 1, 1.0, Tensor(), r); });
  }
  // cases with only some reductions
  fwd(RG, "smooth_l1_b1_mean", [](Case& c) { return nn::SmoothL1Loss()(c.in("x"), c.in("y")); });
  fwd(RG, "smooth_l1_b0_mean", [](Case& c) { return nn::SmoothL1Loss("mean", 0.0)(c.in("x"), c.in("y")); });
  for (std::string r : {"none", "mean"}) {
    fwd(RG, "mse_bcast_" + r, [r](Case& c) { return nn::MSELoss(r)(c.in("x"), c.in("y")); });
    auto ce = [r](const char* target) {
      return [r, target](Case& c) {
        F::CrossEntropyOptions opt;
        opt.reduction = r;
        return nn::CrossEntropyLoss(opt)(c.in("x"), c.in(target));
      };
    };
    fwd(CE, "ce_4d_" + r, ce("t"));
    fwd(CE, "ce_probs_3d_" + r, ce("p"));
    fwd(BCE, "bcel_large_" + r, [r](Case& c) {
      return nn::BCEWithLogitsLoss(Tensor(), r, c.in("pw"))(c.in("x"), c.in("y"));
    });
  }
  fwd(CE, "ce_large_ws_mean", [](Case& c) {
    F::CrossEntropyOptions opt;
    opt.weight = c.in("w");
    opt.label_smoothing = 0.1;
    return nn::CrossEntropyLoss(opt)(c.in("x"), c.in("t"));
  });
  fwd(MG, "mm_1d_t1_none", [](Case& c) { return nn::MultiMarginLoss(1, 1.0, Tensor(), "none")(c.in("x"), c.in("t")); });

  // ---- seeded initialisation, bit for bit ----
  const std::string LI = "linear init";
  auto linear_values = [](const nn::Linear& m, const std::string& prefix = "") {
    NamedTensors out{{prefix + "weight", m->weight}};
    if (m->bias.defined()) out.emplace_back(prefix + "bias", m->bias);
    return out;
  };
  struct LinearShape {
    const char* name;
    int64_t in, out;
    bool bias;
  };
  for (LinearShape s : {LinearShape{"init_linear_5_3", 5, 3, true}, {"init_linear_1_1", 1, 1, true},
                        {"init_linear_784_10", 784, 10, true}, {"init_linear_16_33_nobias", 16, 33, false}}) {
    init(LI, s.name, [s, linear_values](Case& c) {
      manual_seed(c.seed());
      return linear_values(nn::Linear(s.in, s.out, s.bias));
    });
  }
  init(LI, "init_linear_0_3_then_rand", [linear_values](Case& c) {
    manual_seed(c.seed());
    NamedTensors out = linear_values(nn::Linear(0, 3));
    out.emplace_back("rand", rand({4}));  // the generator is where torch's is
    return out;
  });
  init(LI, "init_two_linears", [linear_values](Case& c) {
    manual_seed(c.seed());
    nn::Linear a(3, 4), b(4, 2);
    NamedTensors out = linear_values(a, "a.");
    for (auto& kv : linear_values(b, "b.")) out.push_back(kv);
    return out;
  });
  init(LI, "init_sequential", [](Case& c) {
    manual_seed(c.seed());
    // braces: the layers are built (and draw their weights) left to right, as in Python
    return nn::Sequential{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)}->state_dict();
  });
  init(LI, "init_net", [](Case& c) {
    manual_seed(c.seed());
    return Net()->state_dict();
  });

  const std::string IF = "init functions";
  using Fill = std::function<void(Tensor&)>;
  auto init_fn = [&](const std::string& name, Shape shape, Fill fill, ScalarType dt = kFloat32) {
    init(IF, name, [shape, fill, dt](Case& c) {
      manual_seed(c.seed());
      Tensor t = empty(shape, dt);
      fill(t);
      return NamedTensors{{"t", t}};
    });
  };
  namespace I = nn::init;
  init_fn("init_uniform", {3, 5}, [](Tensor& t) { I::uniform_(t, -2.0, 3.0); });
  init_fn("init_uniform_default", {20}, [](Tensor& t) { I::uniform_(t); });
  init_fn("init_normal", {4, 5}, [](Tensor& t) { I::normal_(t, 1.0, 0.5); });
  init_fn("init_normal_small", {3, 4}, [](Tensor& t) { I::normal_(t, -1.0, 2.0); });
  init_fn("init_normal_default", {7, 3}, [](Tensor& t) { I::normal_(t); });
  init_fn("init_xavier_uniform", {6, 4}, [](Tensor& t) { I::xavier_uniform_(t); });
  init_fn("init_xavier_uniform_relu", {5, 7}, [](Tensor& t) { I::xavier_uniform_(t, I::calculate_gain("relu")); });
  init_fn("init_xavier_normal", {6, 4}, [](Tensor& t) { I::xavier_normal_(t); });
  init_fn("init_xavier_normal_conv_gain2", {8, 3, 3, 3}, [](Tensor& t) { I::xavier_normal_(t, 2.0); });
  init_fn("init_kaiming_uniform", {6, 4}, [](Tensor& t) { I::kaiming_uniform_(t); });
  init_fn("init_kaiming_uniform_fan_out_relu", {6, 4}, [](Tensor& t) { I::kaiming_uniform_(t, 0, "fan_out", "relu"); });
  init_fn("init_kaiming_uniform_a_sqrt5", {10, 3}, [](Tensor& t) { I::kaiming_uniform_(t, std::sqrt(5.0)); });
  init_fn("init_kaiming_uniform_conv", {4, 3, 2, 2}, [](Tensor& t) { I::kaiming_uniform_(t); });
  init_fn("init_kaiming_normal", {6, 4}, [](Tensor& t) { I::kaiming_normal_(t); });
  init_fn("init_kaiming_normal_fan_out_relu", {8, 5}, [](Tensor& t) { I::kaiming_normal_(t, 0, "fan_out", "relu"); });
  init_fn("init_kaiming_normal_tanh", {3, 3}, [](Tensor& t) { I::kaiming_normal_(t, 0, "fan_in", "tanh"); });
  init_fn("init_kaiming_normal_leaky02_fan_out", {5, 4, 3},
          [](Tensor& t) { I::kaiming_normal_(t, 0.2, "fan_out", "leaky_relu"); });
  init_fn("init_kaiming_uniform_f64", {5, 4}, [](Tensor& t) { I::kaiming_uniform_(t); }, kFloat64);
  init_fn("init_normal_f64", {4, 5}, [](Tensor& t) { I::normal_(t, 0.5, 3.0); }, kFloat64);
  init_fn("init_constant", {2, 3}, [](Tensor& t) { I::constant_(t, 0.25); });
  init_fn("init_zeros", {2, 3}, [](Tensor& t) { I::zeros_(t); });
  init_fn("init_ones", {2, 3}, [](Tensor& t) { I::ones_(t); });
  return v;
}

const std::vector<CaseDef>& cases() {
  static const std::vector<CaseDef> v = make_cases();
  return v;
}

void run_group(const std::string& group) {
  const Reference& ref = reference();
  test::run_group(cases(), group, [&](const CaseDef& def) { return def.forward ? run_forward(ref, def) : run_values(ref, def); });
}

}  // namespace

TEST_CASE("nn parity: the reference file and the C++ cases cover each other") {
  std::vector<std::string> names;
  for (const CaseDef& def : cases()) names.push_back(def.name);
  reference().check_covers(names, /*skip=*/"gain");
}

TEST_CASE("nn parity: layers forward and backward") { run_group("layers"); }
TEST_CASE("nn parity: dropout in eval and train mode with torch's masks") { run_group("dropout"); }
TEST_CASE("nn parity: Sequential MLP and DynamicNet and a torch-written state_dict") { run_group("models"); }
TEST_CASE("nn parity: MSE L1 Huber and SmoothL1 losses") { run_group("regression losses"); }
TEST_CASE("nn parity: cross_entropy") { run_group("cross_entropy"); }
TEST_CASE("nn parity: nll_loss") { run_group("nll_loss"); }
TEST_CASE("nn parity: BCELoss and BCEWithLogitsLoss") { run_group("binary cross-entropy"); }
TEST_CASE("nn parity: HingeEmbeddingLoss and MultiMarginLoss") { run_group("margin losses"); }
TEST_CASE("nn parity: seeded nn::Linear init is torch's bit for bit") { run_group("linear init"); }
TEST_CASE("nn parity: nn::init functions are torch's bit for bit") { run_group("init functions"); }

TEST_CASE("nn parity: calculate_gain") {
  const Reference& ref = reference();
  int n = 0;
  for (const auto& [key, want] : ref.with_prefix("gain/")) {
    ++n;
    auto slash = key.find('/');
    std::string nl = key.substr(0, slash);
    double got = slash == std::string::npos ? nn::init::calculate_gain(nl)
                                            : nn::init::calculate_gain(nl, std::stod(key.substr(slash + 1)));
    CHECK_MESSAGE(got == want.item<double>(), key << ": ctorch " << got << " torch " << want.item<double>());
  }
  CHECK(n == 14);
}

TEST_CASE("nn parity: a state_dict saved by ctorch loads in torch") {
  // ctorch: Net after manual_seed(kSeed), every parameter p set to p * 1.5 + 0.25; saved with
  // Module::save. torch (gen_nn_ref.py --check-ctorch-state) rebuilds the same, compares keys,
  // shapes, dtypes and values exactly, loads the file strictly and checks the output on x.
  const uint64_t kSeed = 31337;
  (void)reference();  // torch must be there: the reference was made with it
  manual_seed(kSeed);
  Net net;
  {
    NoGradGuard g;
    for (Tensor& p : net->parameters()) p.mul_(1.5).add_(0.25);
  }
  net->eval();
  fs::path dir = fs::temp_directory_path() / fmt::format("ctorch_nn_state_{}", ::getpid());
  fs::create_directories(dir);
  std::string state = (dir / "net.safetensors").string(), io = (dir / "io.safetensors").string();
  net->save(state);
  Tensor x = randn({2, 3, 4});
  Tensor y;
  {
    NoGradGuard g;
    y = net(x);
  }
  save_safetensors(io, {{"x", x}, {"y", y}});
  // The file is complete before torch reads it: save() returns after an fsync'ed rename.
  std::string cmd = shell_quote(kPython) + " " + shell_quote(script()) + " --check-ctorch-state " + shell_quote(state) + " " + shell_quote(io) +
                    " " + std::to_string(kSeed);
  int rc = run(cmd);
  CHECK_MESSAGE(rc == 0, "torch rejected ctorch's state_dict: `" << cmd << "` exited with " << rc);
  fs::remove_all(dir);
}
