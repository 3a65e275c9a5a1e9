// nn::Module mechanics (names, sharing, modes, gradients, printing, containers, state_dicts) and the
// errors nn gives for bad input. Expected strings and names are PyTorch 1.13's (checked with
// /usr/bin/python3); the numerical parity with torch is in test_nn_parity.cpp.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

using namespace ctorch;
namespace F = ctorch::nn::functional;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, _] : named) out.push_back(n);
  return out;
}
template <class T>
std::vector<std::string> module_names(const std::vector<std::pair<std::string, T>>& named) {
  std::vector<std::string> out;
  for (const auto& [n, _] : named) out.push_back(n);
  return out;
}
using Names = std::vector<std::string>;

// The message of the ctorch::Error that f throws ("<no error>" when it returns, "<other exception>"
// for anything else), so that CHECKs show what the message was.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (...) {
    return "<other exception>";
  }
  return "<no error>";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
#define CHECK_ERROR_HAS(expr, ...)                                          \
  do {                                                                      \
    std::string msg_ = error_of([&] { (void)(expr); });                    \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__}) \
      CHECK_MESSAGE(contains(msg_, part_), "message: " << msg_ << "\nmissing: " << part_); \
  } while (0)

bool same_values(const Tensor& a, const Tensor& b) {
  return same_shape(a.sizes(), b.sizes()) && a.dtype() == b.dtype() && a.to_vector<double>() == b.to_vector<double>();
}
bool close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  if (!same_shape(a.sizes(), b.sizes())) return false;
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    if (std::abs(x[i] - y[i]) > atol + rtol * std::abs(y[i])) return false;
  return true;
}

// ---- modules used below ----
struct TwoLayerImpl : nn::Module {
  nn::Linear fc1{4, 3}, fc2{3, 2};
  TwoLayerImpl() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
};
CTORCH_MODULE(TwoLayer);

// PyTorch's quickstart model.
struct NeuralNetworkImpl : nn::Module {
  nn::Flatten flatten;
  nn::Sequential linear_relu_stack{nn::Linear(28 * 28, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                   nn::Linear(512, 10)};
  NeuralNetworkImpl() {
    register_module("flatten", flatten);
    register_module("linear_relu_stack", linear_relu_stack);
  }
  Tensor forward(const Tensor& x) override { return linear_relu_stack(flatten(x)); }
};
CTORCH_MODULE(NeuralNetwork);

struct StackedImpl : nn::Module {  // nested Sequential and a buffer at two levels
  nn::Sequential stack{nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1), nn::Dropout(0.5)};
  nn::Linear head{1, 1};
  StackedImpl() {
    register_buffer("running", zeros({2}));
    register_module("stack", stack);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) override { return head(stack(x)); }
};
CTORCH_MODULE(Stacked);

// x + fc2(tanh(fc1(x))) * scale: a custom forward, and an extra_repr above the children.
struct ResidualImpl : nn::Module {
  nn::Linear fc1, fc2;
  double scale;
  ResidualImpl(int64_t n, double scale) : fc1(n, n), fc2(n, n), scale(scale) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) override { return x + fc2(tanh(fc1(x))) * scale; }
  std::string extra_repr() const override { return fmt::format("scale={}", scale); }
};
CTORCH_MODULE(Residual);

// The tutorial's DynamicNet: middle_linear is applied `repeats` times, sharing its weights.
struct DynamicNetImpl : nn::Module {
  nn::Linear input_linear, middle_linear, output_linear;
  int repeats = 0;
  DynamicNetImpl(int64_t d_in, int64_t h, int64_t d_out)
      : input_linear(d_in, h), middle_linear(h, h), output_linear(h, d_out) {
    register_module("input_linear", input_linear);
    register_module("middle_linear", middle_linear);
    register_module("output_linear", output_linear);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = input_linear(x).clamp(0.0);
    for (int i = 0; i < repeats; ++i) h = middle_linear(h).clamp(0.0);
    return output_linear(h);
  }
};
CTORCH_MODULE(DynamicNet);

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / fmt::format("ctorch_test_nn_{}_{}", ::getpid(), name)).string();
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}
// A safetensors file: the header's length, the header, the data.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// names and registration

TEST_CASE("nn::Module: parameters and buffers and modules get PyTorch's dotted names") {
  TwoLayer net;
  CHECK(names(net->named_parameters()) == Names{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(net->parameters().size() == 4);
  CHECK(net->parameters()[0].is_same(net->fc1->weight));
  CHECK(names(net->named_parameters(false)).empty());
  CHECK(names(net->fc1->named_parameters(false)) == Names{"weight", "bias"});

  nn::Sequential seq{nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1, false)};
  CHECK(names(seq->named_parameters()) == Names{"0.weight", "0.bias", "2.weight"});

  Stacked s;
  CHECK(names(s->named_parameters()) ==
        Names{"stack.0.weight", "stack.0.bias", "stack.2.weight", "stack.2.bias", "head.weight", "head.bias"});
  CHECK(names(s->named_buffers()) == Names{"running"});
  // state_dict: each module's parameters, then its buffers, then its children (PyTorch's order)
  CHECK(names(s->state_dict()) == Names{"running", "stack.0.weight", "stack.0.bias", "stack.2.weight", "stack.2.bias",
                                        "head.weight", "head.bias"});
  for (const Tensor& p : s->parameters()) CHECK(p.requires_grad());
  CHECK_FALSE(s->named_buffers()[0].second.requires_grad());

  struct OuterImpl : nn::Module {
    nn::Linear fc{1, 1};
    std::shared_ptr<nn::Module> sub = std::make_shared<nn::Module>();
    OuterImpl() {
      register_buffer("running", zeros({2}));
      register_module("fc", fc);
      sub->register_buffer("running", zeros({1}));
      register_module("sub", sub);
    }
  };
  OuterImpl outer;
  CHECK(names(outer.state_dict()) == Names{"running", "fc.weight", "fc.bias", "sub.running"});
  CHECK(names(outer.named_buffers()) == Names{"running", "sub.running"});
  CHECK(names(outer.named_buffers(false)) == Names{"running"});
}

TEST_CASE("nn::Module: registration rejects bad and duplicate names") {
  nn::Module m;
  m.register_parameter("w", zeros({2}));
  CHECK_ERROR_HAS(m.register_parameter("w", zeros({2})), "attribute 'w' already exists");
  CHECK_ERROR_HAS(m.register_buffer("w", zeros({2})), "attribute 'w' already exists");
  CHECK_ERROR_HAS(m.register_module("w", nn::Linear(1, 1).ptr()), "attribute 'w' already exists");
  CHECK_ERROR_HAS(m.register_parameter("a.b", zeros({2})), "'a.b'", "must not contain '.'");
  CHECK_ERROR_HAS(m.register_buffer("", zeros({2})), "must be non-empty");
  CHECK_ERROR_HAS(m.register_parameter("u", Tensor()), "'u'", "undefined");
  CHECK_ERROR_HAS(m.register_module("empty", std::shared_ptr<nn::Module>()), "'empty'", "empty");
  // requires_grad = false registers a parameter that is not trained
  Tensor& frozen = m.register_parameter("frozen", ones({1}), false);
  CHECK_FALSE(frozen.requires_grad());
  CHECK(names(m.named_parameters()) == Names{"w", "frozen"});
}

TEST_CASE("nn::Module: a shared parameter or module is listed once as in PyTorch") {
  // the same Linear registered under two names
  struct TiedImpl : nn::Module {
    nn::Linear fc{3, 3};
    TiedImpl() {
      register_module("a", fc);
      register_module("b", fc);
    }
  };
  TiedImpl tied;
  CHECK(names(tied.named_parameters()) == Names{"a.weight", "a.bias"});
  CHECK(tied.parameters().size() == 2);
  CHECK(names(tied.state_dict()) == Names{"a.weight", "a.bias", "b.weight", "b.bias"});  // state_dict keeps both
  CHECK(module_names(tied.named_modules()) == Names{"", "a"});
  CHECK(tied.children().size() == 1);
  CHECK(tied.named_children().size() == 2);
  CHECK(tied.repr() ==
        "Tied(\n  (a): Linear(in_features=3, out_features=3, bias=True)\n  (b): Linear(in_features=3, out_features=3, "
        "bias=True)\n)");

  // one parameter tensor owned by two different submodules
  struct HolderImpl : nn::Module {
    explicit HolderImpl(const Tensor& t) { register_parameter("w", t); }
  };
  Tensor shared = randn({2, 2});
  struct PairImpl : nn::Module {
    std::shared_ptr<HolderImpl> x, y;
    explicit PairImpl(const Tensor& t) : x(std::make_shared<HolderImpl>(t)), y(std::make_shared<HolderImpl>(t)) {
      register_module("x", x);
      register_module("y", y);
    }
  };
  PairImpl pair(shared);
  CHECK(names(pair.named_parameters()) == Names{"x.w"});
  CHECK(module_names(pair.named_modules()) == Names{"", "x", "y"});
  Tensor loss = (pair.x->parameters()[0] * 2.0).sum() + (pair.y->parameters()[0] * 3.0).sum();
  loss.backward();
  CHECK(same_values(shared.grad(), full({2, 2}, 5.0)));
}

TEST_CASE("nn::Module: children and named_modules walk the tree in registration order") {
  NeuralNetwork net;
  CHECK(module_names(net->named_children()) == Names{"flatten", "linear_relu_stack"});
  CHECK(net->children().size() == 2);
  CHECK(net->children()[1].get() == net->linear_relu_stack.ptr().get());
  auto mods = net->named_modules();
  CHECK(module_names(mods) == Names{"", "flatten", "linear_relu_stack", "linear_relu_stack.0", "linear_relu_stack.1",
                                    "linear_relu_stack.2", "linear_relu_stack.3", "linear_relu_stack.4"});
  CHECK(mods[0].second.get() == net.ptr().get());
  CHECK(mods[3].second->name() == "Linear");
  CHECK(mods[4].second->name() == "ReLU");
  CHECK(module_names(net->named_modules("model")) ==
        Names{"model", "model.flatten", "model.linear_relu_stack", "model.linear_relu_stack.0",
              "model.linear_relu_stack.1", "model.linear_relu_stack.2", "model.linear_relu_stack.3",
              "model.linear_relu_stack.4"});
  // a module living on the stack (not owned by a shared_ptr) works too
  TwoLayerImpl local;
  CHECK(module_names(local.named_modules()) == Names{"", "fc1", "fc2"});
  CHECK(local.named_modules()[0].second.get() == &local);
}

// ---------------------------------------------------------------------------------------------
// modes and gradients

TEST_CASE("nn::Module: train() and eval() recurse and Dropout follows the mode") {
  Stacked s;
  for (auto& [n, m] : s->named_modules()) CHECK_MESSAGE(m->is_training(), n);
  s->eval();
  for (auto& [n, m] : s->named_modules()) CHECK_MESSAGE(!m->is_training(), n);
  s->train();
  for (auto& [n, m] : s->named_modules()) CHECK_MESSAGE(m->is_training(), n);
  s->train(false);
  for (auto& [n, m] : s->named_modules()) CHECK_MESSAGE(!m->is_training(), n);

  nn::Sequential model{nn::Linear(8, 8), nn::Dropout(0.5)};
  manual_seed(0);
  Tensor x = rand({16, 8}) + 1.0;
  model->eval();
  Tensor h = (*model)[0]->forward(x);
  CHECK(same_values(model(x), h));  // eval: Dropout is the identity
  CHECK(same_values(model(x), model(x)));
  model->train();
  manual_seed(5);
  Tensor y1 = model(x);
  manual_seed(5);
  Tensor y2 = model(x);
  CHECK(same_values(y1, y2));  // the mask comes from the seeded generator
  auto hv = h.to_vector<float>(), yv = y1.to_vector<float>();
  int zeros_n = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    if (yv[i] == 0) ++zeros_n;
    else CHECK(yv[i] == doctest::Approx(hv[i] * 2.0f).epsilon(1e-6));  // survivors scaled by 1 / (1 - p)
  }
  CHECK(zeros_n > 20);
  CHECK(zeros_n < 108);
  // nn::Dropout alone, and F::dropout's training flag
  nn::Dropout d(0.25);
  d->eval();
  CHECK(d(x).is_same(x));
  CHECK(F::dropout(x, 0.25, false).is_same(x));
  CHECK(same_values(F::dropout(x, 1.0, true), zeros({16, 8})));
}

TEST_CASE("nn::Module: zero_grad sets gradients to none or to zeros with set_to_none = false") {
  manual_seed(1);
  TwoLayer net;
  Tensor x = randn({5, 4});
  net(x).sum().backward();
  for (const Tensor& p : net->parameters()) REQUIRE(p.grad().defined());
  Tensor first = net->fc1->weight.grad().clone();
  net(x).sum().backward();  // gradients accumulate
  CHECK(close(net->fc1->weight.grad(), first * 2.0));
  net->zero_grad();
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.grad().defined());
  net(x).sum().backward();
  CHECK(close(net->fc1->weight.grad(), first));
  net->zero_grad(false);
  for (const Tensor& p : net->parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(same_values(p.grad(), zeros_like(p)));
    CHECK_FALSE(p.grad().requires_grad());
  }
  net(x).sum().backward();
  CHECK(close(net->fc1->weight.grad(), first));
}

TEST_CASE("nn::Module: requires_grad_(false) freezes parameters") {
  manual_seed(2);
  TwoLayer net;
  Tensor x = randn({3, 4}).requires_grad_(true);
  net->requires_grad_(false);
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.requires_grad());
  net(x).sum().backward();
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.grad().defined());
  CHECK(x.grad().defined());  // the input still gets its gradient
  // nothing requires grad: backward is an error, as in PyTorch
  Tensor y = net(x.detach()).sum();
  CHECK_FALSE(y.requires_grad());
  CHECK_THROWS_AS(y.backward(), Error);

  // freeze the first layer only (fine-tuning the head)
  net->requires_grad_(true);
  net->fc1->requires_grad_(false);
  net(x.detach()).sum().backward();
  CHECK_FALSE(net->fc1->weight.grad().defined());
  CHECK_FALSE(net->fc1->bias.grad().defined());
  CHECK(net->fc2->weight.grad().defined());
  CHECK(net->fc2->bias.grad().defined());
}

// ---------------------------------------------------------------------------------------------
// printing

TEST_CASE("nn::Module: repr() is PyTorch's") {
  CHECK(NeuralNetwork()->repr() ==
        "NeuralNetwork(\n"
        "  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
        "  (linear_relu_stack): Sequential(\n"
        "    (0): Linear(in_features=784, out_features=512, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=512, out_features=512, bias=True)\n"
        "    (3): ReLU()\n"
        "    (4): Linear(in_features=512, out_features=10, bias=True)\n"
        "  )\n"
        ")");
  CHECK(nn::GELU()->repr() == "GELU(approximate='none')");
  CHECK(nn::GELU("tanh")->repr() == "GELU(approximate='tanh')");
  CHECK(nn::Dropout()->repr() == "Dropout(p=0.5, inplace=False)");
  CHECK(nn::Dropout(0.25)->repr() == "Dropout(p=0.25, inplace=False)");
  CHECK(nn::Dropout(0.0)->repr() == "Dropout(p=0.0, inplace=False)");
  CHECK(nn::Dropout(1e-5)->repr() == "Dropout(p=1e-05, inplace=False)");
  CHECK(nn::Softmax(1)->repr() == "Softmax(dim=1)");
  CHECK(nn::Softmax(-1)->repr() == "Softmax(dim=-1)");
  CHECK(nn::LogSoftmax(0)->repr() == "LogSoftmax(dim=0)");
  CHECK(nn::ReLU()->repr() == "ReLU()");
  CHECK(nn::Sigmoid()->repr() == "Sigmoid()");
  CHECK(nn::Tanh()->repr() == "Tanh()");
  CHECK(nn::Identity()->repr() == "Identity()");
  CHECK(nn::Linear(3, 2, false)->repr() == "Linear(in_features=3, out_features=2, bias=False)");
  CHECK(nn::Flatten(0, 2)->repr() == "Flatten(start_dim=0, end_dim=2)");
  CHECK(nn::Sequential()->repr() == "Sequential()");
  CHECK(nn::ModuleList()->repr() == "ModuleList()");
  CHECK(nn::ModuleList(nn::Linear(1, 2))->repr() == "ModuleList(\n  (0): Linear(in_features=1, out_features=2, bias=True)\n)");
  CHECK(nn::Sequential{nn::Linear(2, 3), nn::Sequential{nn::ReLU(), nn::Dropout(0.1)}}->repr() ==
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")");
  CHECK(nn::MSELoss().repr() == "MSELoss()");
  CHECK(nn::CrossEntropyLoss().repr() == "CrossEntropyLoss()");
  // a user module: extra_repr goes on its own line above the children
  CHECK(Residual(2, 0.5)->repr() ==
        "Residual(\n"
        "  scale=0.5\n"
        "  (fc1): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (fc2): Linear(in_features=2, out_features=2, bias=True)\n"
        ")");
  struct MultiLineImpl : nn::Module {
    std::string extra_repr() const override { return "a=1\nb=2"; }
  };
  CHECK(MultiLineImpl().repr() == "MultiLine(\n  a=1\n  b=2\n)");
  nn::Module named("Custom");
  CHECK(named.repr() == "Custom()");
}

// ---------------------------------------------------------------------------------------------
// user modules, weight sharing, containers

TEST_CASE("nn::Module: a user-defined module with a custom forward trains like a composition of ops") {
  manual_seed(3);
  Residual block(4, 0.5);
  Tensor x = randn({3, 4}).requires_grad_(true);
  Tensor y = block(x);
  // the same computation written out with the functional ops and copies of the weights
  Tensor w1 = block->fc1->weight.detach().clone().requires_grad_(true), b1 = block->fc1->bias.detach().clone().requires_grad_(true);
  Tensor w2 = block->fc2->weight.detach().clone().requires_grad_(true), b2 = block->fc2->bias.detach().clone().requires_grad_(true);
  Tensor x2 = x.detach().clone().requires_grad_(true);
  Tensor y2 = x2 + F::linear(tanh(F::linear(x2, w1, b1)), w2, b2) * 0.5;
  CHECK(close(y, y2));
  Tensor g = randn({3, 4});
  y.backward(g);
  y2.backward(g);
  CHECK(close(x.grad(), x2.grad()));
  CHECK(close(block->fc1->weight.grad(), w1.grad()));
  CHECK(close(block->fc1->bias.grad(), b1.grad()));
  CHECK(close(block->fc2->weight.grad(), w2.grad()));
  CHECK(close(block->fc2->bias.grad(), b2.grad()));
  CHECK(block->name() == "Residual");

  // a module with a two-argument forward, called through its holder
  struct BilinearishImpl : nn::Module {
    using nn::Module::forward;  // the one-tensor forward stays visible (and throws: not implemented)
    nn::Linear a{3, 2}, b{3, 2};
    BilinearishImpl() {
      register_module("a", a);
      register_module("b", b);
    }
    Tensor forward(const Tensor& u, const Tensor& v) { return a(u) * b(v); }
  };
  struct Bilinearish : nn::ModuleHolder<BilinearishImpl> {
    using nn::ModuleHolder<BilinearishImpl>::ModuleHolder;
  };
  Bilinearish bi;
  Tensor u = randn({4, 3}), v = randn({4, 3});
  CHECK(close(bi(u, v), bi->a(u) * bi->b(v)));
  CHECK_ERROR_HAS(bi->forward(u), "Bilinearish", "not implemented");
}

TEST_CASE("nn::Module: a Linear used several times (DynamicNet) gets the sum of its gradients") {
  manual_seed(4);
  DynamicNet net(5, 6, 2);
  Tensor x = randn({4, 5});
  Tensor g = randn({4, 2});
  for (int repeats : {0, 1, 3}) {
    CAPTURE(repeats);
    net->zero_grad();
    net->repeats = repeats;
    net(x).backward(g);
    // unrolled: an independent copy of the middle layer's weights for each use
    Tensor w = net->middle_linear->weight.detach(), b = net->middle_linear->bias.detach();
    std::vector<Tensor> ws, bs;
    Tensor h = net->input_linear(x).clamp(0.0);
    for (int i = 0; i < repeats; ++i) {
      ws.push_back(w.clone().requires_grad_(true));
      bs.push_back(b.clone().requires_grad_(true));
      h = F::linear(h, ws.back(), bs.back()).clamp(0.0);
    }
    net->output_linear(h).backward(g);
    if (repeats == 0) {
      CHECK_FALSE(net->middle_linear->weight.grad().defined());  // unused: no gradient, as in PyTorch
      continue;
    }
    Tensor sum_w = zeros_like(w), sum_b = zeros_like(b);
    for (int i = 0; i < repeats; ++i) {
      sum_w = sum_w + ws[i].grad();
      sum_b = sum_b + bs[i].grad();
    }
    CHECK(close(net->middle_linear->weight.grad(), sum_w));
    CHECK(close(net->middle_linear->bias.grad(), sum_b));
  }
}

TEST_CASE("nn::ModuleList and nn::Sequential hold and index and run their modules") {
  manual_seed(5);
  struct StackImpl : nn::Module {
    nn::ModuleList layers{nn::Linear(4, 4), nn::Linear(4, 4)};
    StackImpl() {
      register_module("layers", layers);
      layers->push_back(nn::Linear(4, 2));
    }
    Tensor forward(const Tensor& x) override {
      Tensor h = x;
      for (const auto& layer : *layers) h = layer->forward(h);
      return h;
    }
  };
  StackImpl s;
  CHECK(s.layers->size() == 3);
  CHECK(names(s.named_parameters()) == Names{"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                                             "layers.2.weight", "layers.2.bias"});
  Tensor x = randn({3, 4});
  Tensor want = (*s.layers)[2]->forward((*s.layers)[1]->forward((*s.layers)[0]->forward(x)));
  CHECK(same_values(s.forward(x), want));
  CHECK(s.forward(x).size(1) == 2);
  CHECK_ERROR_HAS((*s.layers)[3], "ModuleList", "index 3", "3 modules");
  CHECK_ERROR_HAS(s.layers->forward(x), "ModuleList", "not implemented");
  CHECK(s.layers->repr() ==
        "ModuleList(\n"
        "  (0): Linear(in_features=4, out_features=4, bias=True)\n"
        "  (1): Linear(in_features=4, out_features=4, bias=True)\n"
        "  (2): Linear(in_features=4, out_features=2, bias=True)\n"
        ")");

  nn::Sequential seq;
  CHECK(same_values(seq(x), x));  // empty: the identity
  seq->push_back(nn::Linear(4, 3));
  seq->push_back(nn::ReLU());
  CHECK(seq->size() == 2);
  CHECK(names(seq->named_parameters()) == Names{"0.weight", "0.bias"});
  CHECK(same_values(seq(x), relu((*seq)[0]->forward(x))));
  CHECK_ERROR_HAS((*seq)[2], "Sequential", "index 2");
  // a module added to two containers is shared, like a Python reference
  nn::Linear shared(4, 4);
  nn::Sequential twice{shared, nn::Tanh(), shared};
  CHECK(twice->parameters().size() == 2);
  CHECK(names(twice->state_dict()) == Names{"0.weight", "0.bias", "2.weight", "2.bias"});
}

TEST_CASE("nn::Linear: shapes and no bias and seeded init order") {
  manual_seed(6);
  nn::Linear fc(5, 3);
  CHECK(fc->weight.sizes()[0] == 3);
  CHECK(fc->weight.sizes()[1] == 5);
  CHECK(fc->bias.size(0) == 3);
  double bound = 1 / std::sqrt(5.0);
  for (float v : fc->weight.to_vector<float>()) CHECK(std::abs(v) <= bound);
  for (float v : fc->bias.to_vector<float>()) CHECK(std::abs(v) <= bound);
  CHECK(fc(randn({2, 7, 5})).sizes().size() == 3);
  nn::Linear nb(5, 3, false);
  CHECK_FALSE(nb->bias.defined());
  CHECK(names(nb->named_parameters()) == Names{"weight"});
  // same seed, same weights; the holder's construction draws weight then bias
  manual_seed(6);
  nn::Linear again(5, 3);
  CHECK(same_values(again->weight, fc->weight));
  CHECK(same_values(again->bias, fc->bias));
  CHECK_ERROR_HAS(nn::Linear(-1, 3), "Linear", "-1");
  CHECK_ERROR_HAS(fc(randn({2, 4})), "linear", "[2, 4]", "[3, 5]");
}

// ---------------------------------------------------------------------------------------------
// state dicts

TEST_CASE("nn::Module: load_state_dict copies into the module's own tensors and save/load round-trips") {
  manual_seed(7);
  TwoLayer a;
  manual_seed(8);
  TwoLayer b;
  Tensor b_weight = b->fc1->weight;  // a reference taken before loading
  CHECK_FALSE(same_values(a->fc1->weight, b->fc1->weight));
  auto result = b->load_state_dict(a->state_dict());
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  for (const auto& [n, t] : a->state_dict()) {
    CAPTURE(n);
    bool found = false;
    for (const auto& [m, u] : b->state_dict())
      if (m == n) found = same_values(t, u);
    CHECK(found);
  }
  CHECK(same_values(b_weight, a->fc1->weight));  // loaded in place
  CHECK(b_weight.is_same(b->fc1->weight));
  CHECK(b->fc1->weight.requires_grad());
  CHECK(b->fc1->weight.is_leaf());
  CHECK_FALSE(b->fc1->weight.shares_storage(a->fc1->weight));
  {  // changing a afterwards does not change b
    NoGradGuard g;
    a->fc1->weight.add_(1.0);
  }
  CHECK_FALSE(same_values(b->fc1->weight, a->fc1->weight));

  std::string path = temp_path("round_trip.safetensors");
  a->save(path);
  manual_seed(9);
  TwoLayer c;
  c->load(path);
  for (size_t i = 0; i < a->parameters().size(); ++i) CHECK(same_values(c->parameters()[i], a->parameters()[i]));
  Tensor x = randn({2, 4});
  CHECK(same_values(c(x), a(x)));
  auto file = load_safetensors(path);
  CHECK(file.size() == 4);
  fs::remove(path);

  // strict = false reports what did not match instead of throwing
  NamedTensors partial{{"fc1.weight", a->fc1->weight.detach()}, {"extra", zeros({1})}};
  auto r = c->load_state_dict(partial, false);
  CHECK(r.missing_keys == Names{"fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(r.unexpected_keys == Names{"extra"});
}

TEST_CASE("nn bad input: a mismatched state_dict is refused with every problem listed") {
  manual_seed(10);
  TwoLayer net;
  NamedTensors before = net->state_dict();
  std::vector<Tensor> values_before;
  for (const auto& [_, t] : before) values_before.push_back(t.clone());
  auto unchanged = [&] {
    NamedTensors now = net->state_dict();
    for (size_t i = 0; i < now.size(); ++i)
      if (!same_values(now[i].second, values_before[i])) return false;
    return true;
  };
  NamedTensors good = net->state_dict();
  auto without = [&](const std::string& key) {
    NamedTensors out;
    for (const auto& kv : good)
      if (kv.first != key) out.push_back(kv);
    return out;
  };
  // missing
  CHECK_ERROR_HAS(net->load_state_dict(without("fc2.bias")), "Error(s) in loading state_dict for TwoLayer",
                  "Missing key(s) in state_dict: \"fc2.bias\"");
  // unexpected
  NamedTensors extra = good;
  extra.emplace_back("fc3.weight", zeros({1}));
  CHECK_ERROR_HAS(net->load_state_dict(extra), "Unexpected key(s) in state_dict: \"fc3.weight\"");
  // wrong shape (an error even when not strict, as in PyTorch)
  NamedTensors wrong = without("fc1.weight");
  wrong.emplace_back("fc1.weight", zeros({2, 2}));
  CHECK_ERROR_HAS(net->load_state_dict(wrong), "size mismatch for fc1.weight", "[2, 2]", "[3, 4]");
  CHECK_ERROR_HAS(net->load_state_dict(wrong, false), "size mismatch for fc1.weight");
  // all at once: every problem in one message, and nothing loaded
  NamedTensors bad = without("fc2.bias");
  bad = [&] {
    NamedTensors out;
    for (const auto& kv : bad)
      if (kv.first != "fc1.weight" && kv.first != "fc2.weight") out.push_back(kv);
    return out;
  }();
  bad.emplace_back("fc1.weight", zeros({4, 3}));
  bad.emplace_back("bogus", zeros({1}));
  bad.emplace_back("fc1.bias.extra", zeros({1}));
  CHECK_ERROR_HAS(net->load_state_dict(bad), "Missing key(s) in state_dict: \"fc2.weight\", \"fc2.bias\"",
                  "Unexpected key(s) in state_dict: \"bogus\", \"fc1.bias.extra\"",
                  "size mismatch for fc1.weight: copying a param with shape [4, 3] from checkpoint, the shape in "
                  "current model is [3, 4]");
  CHECK(unchanged());
  // the same through a file and Module::load
  std::string path = temp_path("mismatch.safetensors");
  save_safetensors(path, without("fc1.bias"));
  CHECK_ERROR_HAS(net->load(path), "Missing key(s) in state_dict: \"fc1.bias\"");
  CHECK(unchanged());
  fs::remove(path);
}

TEST_CASE("nn bad input: Module::load of a missing or corrupt safetensors file throws ctorch::Error") {
  manual_seed(11);
  TwoLayer net;
  std::vector<Tensor> before;
  for (const Tensor& p : net->parameters()) before.push_back(p.clone());
  std::string path = temp_path("corrupt.safetensors");
  std::string fc1 = R"({"fc1.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}})";
  struct Corrupt {
    const char* what;
    std::string bytes;
  };
  std::vector<Corrupt> files = {
      {"empty file", ""},
      {"shorter than the length prefix", std::string("\x05\x00\x00", 3)},
      {"header length beyond the file", le64(1000) + "{}"},
      {"header is not JSON", st_file("not json", "")},
      {"header is a JSON array", st_file("[]", "")},
      {"truncated JSON", st_file(fc1.substr(0, 30), std::string(48, '\0'))},
      {"unknown dtype", st_file(R"({"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0'))},
      {"data shorter than the header says", st_file(fc1, std::string(20, '\0'))},
      {"offsets that do not match the shape",
       st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0'))},
      {"negative dimension", st_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0'))},
      {"random bytes", std::string("\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08garbage", 20)},
  };
  for (const Corrupt& c : files) {
    CAPTURE(c.what);
    write_bytes(path, c.bytes);
    std::string msg = error_of([&] { net->load(path); });
    CHECK_MESSAGE(msg.starts_with("safetensors:"), msg);
    CHECK_MESSAGE(contains(msg, path), msg);
  }
  fs::remove(path);
  std::string msg = error_of([&] { net->load(path); });  // missing
  CHECK_MESSAGE(msg.starts_with("safetensors:"), msg);
  CHECK_MESSAGE(contains(msg, path), msg);
  for (size_t i = 0; i < before.size(); ++i) CHECK(same_values(net->parameters()[i], before[i]));
}

// ---------------------------------------------------------------------------------------------
// bad input to the losses

TEST_CASE("nn bad input: losses reject a target of the wrong shape naming the loss and the shapes") {
  Tensor x = randn({3, 4}), p = rand({3, 4});
  Tensor y35 = randn({3, 5});
  CHECK_ERROR_HAS(F::mse_loss(x, y35), "mse_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(F::l1_loss(x, y35), "l1_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(F::huber_loss(x, y35), "huber_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(F::smooth_l1_loss(x, y35), "smooth_l1_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(nn::MSELoss()(x, y35), "mse_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(F::cross_entropy(x, tensor({0, 1})), "cross_entropy", "[3]", "[3, 4]", "[2]");
  CHECK_ERROR_HAS(F::cross_entropy(x, zeros({3, 1}, kInt64)), "cross_entropy", "[3, 1]");
  CHECK_ERROR_HAS(F::cross_entropy(randn({2, 4, 3}), zeros({2, 4}, kInt64)), "cross_entropy", "[2, 3]", "[2, 4, 3]",
                  "[2, 4]");
  CHECK_ERROR_HAS(F::cross_entropy(x, rand({3, 5})), "cross_entropy", "[3, 4]", "[3, 5]");  // probabilities
  CHECK_ERROR_HAS(nn::CrossEntropyLoss()(x, tensor({0, 1})), "cross_entropy", "[3, 4]", "[2]");
  CHECK_ERROR_HAS(F::nll_loss(x, tensor({0, 1})), "nll_loss", "[3, 4]", "[2]");
  CHECK_ERROR_HAS(nn::NLLLoss()(x, zeros({3, 4}, kInt64)), "nll_loss", "[3, 4]");
  CHECK_ERROR_HAS(F::binary_cross_entropy(p, rand({4})), "binary_cross_entropy", "[3, 4]", "[4]");
  CHECK_ERROR_HAS(nn::BCELoss()(p, rand({3, 1})), "binary_cross_entropy", "[3, 4]", "[3, 1]");
  CHECK_ERROR_HAS(F::binary_cross_entropy_with_logits(x, rand({4})), "binary_cross_entropy_with_logits", "[3, 4]",
                  "[4]");
  CHECK_ERROR_HAS(F::hinge_embedding_loss(x, ones({3, 5})), "hinge_embedding_loss", "[3, 4]", "[3, 5]");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, zeros({3, 1}, kInt64)), "multi_margin_loss", "[3, 4]", "[3, 1]");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, zeros({2}, kInt64)), "multi_margin_loss", "[3, 4]", "[2]");
  CHECK_ERROR_HAS(F::multi_margin_loss(randn({2, 3, 4}), zeros({2}, kInt64)), "multi_margin_loss", "[2, 3, 4]");
  // a broadcastable but different target shape is allowed with a warning, like PyTorch
  CHECK(F::mse_loss(randn({4, 1}), randn({4}), "none").sizes().size() == 2);
}

TEST_CASE("nn bad input: losses reject a target of the wrong dtype naming the loss and the dtypes") {
  Tensor x = randn({3, 4}), p = rand({3, 4});
  Tensor ti = zeros({3, 4}, kInt64);
  CHECK_ERROR_HAS(F::mse_loss(x, ti), "mse_loss", "int64");
  CHECK_ERROR_HAS(F::l1_loss(x, ti), "l1_loss", "int64");
  CHECK_ERROR_HAS(F::huber_loss(x, ti), "huber_loss", "int64");
  CHECK_ERROR_HAS(F::smooth_l1_loss(x, ti), "smooth_l1_loss", "int64");
  CHECK_ERROR_HAS(F::cross_entropy(x, tensor({true, false, true})), "cross_entropy", "int64", "bool");
  CHECK_ERROR_HAS(F::cross_entropy(x, zeros({3}, kInt64).to(kFloat32)), "cross_entropy", "[3, 4]", "[3]");
  CHECK_ERROR_HAS(F::cross_entropy(zeros({3, 4}, kInt64), tensor({0, 1, 2})), "cross_entropy", "floating", "int64");
  CHECK_ERROR_HAS(F::nll_loss(x, zeros({3})), "nll_loss", "int64", "float32");
  CHECK_ERROR_HAS(F::binary_cross_entropy(p, ti), "binary_cross_entropy", "float32", "int64");
  CHECK_ERROR_HAS(F::binary_cross_entropy_with_logits(x, ti), "binary_cross_entropy_with_logits", "float32", "int64");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, zeros({3})), "multi_margin_loss", "int64", "float32");
  CHECK_ERROR_HAS(F::multi_margin_loss(zeros({3, 4}, kInt64), zeros({3}, kInt64)), "multi_margin_loss", "floating");
  // hinge_embedding_loss takes integer targets (+1 / -1), as PyTorch does
  CHECK(F::hinge_embedding_loss(x, ones({3, 4}, kInt64)).numel() == 1);
}

TEST_CASE("nn bad input: class indices out of range (negative or >= C)") {
  Tensor x = randn({3, 4});
  CHECK_ERROR_HAS(F::cross_entropy(x, tensor({0, 4, 1})), "cross_entropy", "target 4", "4 classes");
  CHECK_ERROR_HAS(F::cross_entropy(x, tensor({0, -1, 1})), "cross_entropy", "target -1");
  CHECK_ERROR_HAS(F::cross_entropy(randn({2, 4, 3}), tensor({{0, 1, 2}, {3, 9, 0}})), "cross_entropy", "target 9");
  F::CrossEntropyOptions smooth;
  smooth.label_smoothing = 0.1;
  CHECK_ERROR_HAS(F::cross_entropy(x, tensor({7, 0, 1}), smooth), "cross_entropy", "target 7");
  CHECK_ERROR_HAS(F::nll_loss(x, tensor({0, 1, 4})), "nll_loss", "target 4", "4 classes");
  CHECK_ERROR_HAS(F::nll_loss(x, tensor({-2, 1, 0})), "nll_loss", "target -2");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, tensor({0, 1, 4})), "multi_margin_loss", "target 4");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, tensor({0, -1, 3})), "multi_margin_loss", "target -1");
  // a negative target equal to ignore_index is fine
  F::CrossEntropyOptions ignore;
  ignore.ignore_index = -1;
  CHECK(std::isfinite(F::cross_entropy(x, tensor({0, -1, 1}), ignore).item()));
  F::NLLLossOptions nll_ignore;
  nll_ignore.ignore_index = -1;
  CHECK(std::isfinite(F::nll_loss(x, tensor({0, -1, 1}), nll_ignore).item()));
}

TEST_CASE("nn bad input: invalid reduction strings and options") {
  Tensor x = randn({3, 4}), y = randn({3, 4}), p = rand({3, 4}), t = tensor({0, 1, 2});
  for (const std::string r : {"avg", "Mean", "", "elementwise_mean"}) {
    CAPTURE(r);
    std::string bad = r + " is not a valid value for reduction";
    CHECK_ERROR_HAS(F::mse_loss(x, y, r), "mse_loss", bad);
    CHECK_ERROR_HAS(F::l1_loss(x, y, r), "l1_loss", bad);
    CHECK_ERROR_HAS(F::huber_loss(x, y, r), "huber_loss", bad);
    CHECK_ERROR_HAS(F::smooth_l1_loss(x, y, r), "smooth_l1_loss", bad);
    F::CrossEntropyOptions ce;
    ce.reduction = r;
    CHECK_ERROR_HAS(F::cross_entropy(x, t, ce), "cross_entropy", bad);
    CHECK_ERROR_HAS(nn::CrossEntropyLoss(ce)(x, t), "cross_entropy", bad);
    F::NLLLossOptions nll;
    nll.reduction = r;
    CHECK_ERROR_HAS(F::nll_loss(x, t, nll), "nll_loss", bad);
    CHECK_ERROR_HAS(F::binary_cross_entropy(p, p, Tensor(), r), "binary_cross_entropy", bad);
    CHECK_ERROR_HAS(F::binary_cross_entropy_with_logits(x, p, Tensor(), r), "binary_cross_entropy_with_logits", bad);
    CHECK_ERROR_HAS(F::hinge_embedding_loss(x, y, 1.0, r), "hinge_embedding_loss", bad);
    CHECK_ERROR_HAS(F::multi_margin_loss(x, t, 1, 1.0, Tensor(), r), "multi_margin_loss", bad);
    CHECK_ERROR_HAS(nn::MSELoss(r)(x, y), "mse_loss", bad);
  }
  // other options
  F::CrossEntropyOptions o;
  o.weight = ones({5});
  CHECK_ERROR_HAS(F::cross_entropy(x, t, o), "cross_entropy", "all 4 classes", "[5]");
  CHECK_ERROR_HAS(F::cross_entropy(x, p, o), "cross_entropy", "all 4 classes", "[5]");
  F::NLLLossOptions no;
  no.weight = ones({3});
  CHECK_ERROR_HAS(F::nll_loss(x, t, no), "nll_loss", "all 4 classes", "[3]");
  F::CrossEntropyOptions ls;
  ls.label_smoothing = 1.5;
  CHECK_ERROR_HAS(F::cross_entropy(x, t, ls), "label_smoothing", "1.5");
  F::CrossEntropyOptions ig;
  ig.ignore_index = 1;
  CHECK_ERROR_HAS(F::cross_entropy(x, p, ig), "ignore_index is not supported for floating point target");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, t, 3), "multi_margin_loss", "p == 1 and p == 2");
  CHECK_ERROR_HAS(F::multi_margin_loss(x, t, 1, 1.0, ones({3})), "multi_margin_loss", "weight", "[3]");
  CHECK_ERROR_HAS(F::huber_loss(x, y, "mean", 0.0), "huber_loss", "delta");
  CHECK_ERROR_HAS(F::smooth_l1_loss(x, y, "mean", -1.0), "smooth_l1_loss", "beta");
  CHECK_ERROR_HAS(F::binary_cross_entropy(x * 3.0, p), "binary_cross_entropy", "between 0 and 1");
  CHECK_ERROR_HAS(nn::Dropout(1.5), "dropout probability", "1.5");
  CHECK_ERROR_HAS(F::dropout(x, -0.1), "dropout probability");
  CHECK_ERROR_HAS(nn::GELU("fast"), "GELU", "'fast'");
}

TEST_CASE("nn::init: fans and gains and argument errors") {
  auto [in, out] = nn::init::calculate_fan_in_and_fan_out(empty({4, 3, 2, 2}));
  CHECK(in == 12);
  CHECK(out == 16);
  auto [in2, out2] = nn::init::calculate_fan_in_and_fan_out(empty({5, 7}));
  CHECK(in2 == 7);
  CHECK(out2 == 5);
  CHECK(nn::init::calculate_gain("relu") == std::sqrt(2.0));
  CHECK(nn::init::calculate_gain("tanh") == 5.0 / 3);
  CHECK(nn::init::calculate_gain("conv_transpose2d") == 1.0);
  CHECK(nn::init::calculate_gain("leaky_relu") == std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  CHECK_ERROR_HAS(nn::init::calculate_gain("swish"), "swish");
  Tensor v = empty({5});
  CHECK_ERROR_HAS(nn::init::xavier_uniform_(v), "fewer than 2 dimensions");
  CHECK_ERROR_HAS(nn::init::kaiming_normal_(v), "fewer than 2 dimensions");
  Tensor m = empty({3, 4});
  CHECK_ERROR_HAS(nn::init::kaiming_uniform_(m, 0, "fan_avg"), "fan_avg");
  // initialisers work in place, without recording a graph, on parameters that require grad
  nn::Linear fc(4, 3);
  nn::init::ones_(fc->weight);
  CHECK(same_values(fc->weight, ones({3, 4})));
  CHECK(fc->weight.is_leaf());
  CHECK(fc->weight.requires_grad());
  nn::init::zeros_(fc->bias);
  CHECK(same_values(fc->bias, zeros({3})));
  Tensor empty_weight = empty({0, 3});
  CHECK_NOTHROW(nn::init::kaiming_uniform_(empty_weight));  // zero elements: a no-op, as in PyTorch
}
