// What a transformer block needs: layer_norm and nn::LayerNorm, embedding and nn::Embedding,
// scaled dot-product attention, nn::MultiheadAttention and nn::TransformerEncoderLayer.
// Hand-checked values, gradcheck in float64, module structure, error messages, and
// ("transformer parity: ...") parity with real PyTorch 1.13 from tests/parity/gen_transformer_ref.py
// (CTest fixture transformer_parity_reference; run by hand, the test writes the file itself when it
// is missing). Parity tolerance, as the other parity tests: ctorch's c matches torch's r when
// |c - r| <= 1e-5 |r| + 1e-6 max(1, max |r| of that tensor); seeded initial weights bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

#include "helpers.hpp"

#include "parity_reference.hpp"

#ifndef CTORCH_TRANSFORMER_REF
#define CTORCH_TRANSFORMER_REF "transformer_ref.safetensors"
#endif
#ifndef CTORCH_SOURCE_DIR
#define CTORCH_SOURCE_DIR "."
#endif

using namespace ctorch;
namespace F = ctorch::nn::functional;

namespace {

using test::values;
using test::check_values_abs;
std::string shape_of(const Tensor& t) { return shape_str(t.sizes()); }

bool all_close(const Tensor& a, const Tensor& b, double tol = 1e-6) {
  if (!same_shape(a.sizes(), b.sizes())) return false;
  std::vector<double> x = values(a), y = values(b);
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= tol * (1 + std::abs(y[i])))) return false;
  return true;
}


Tensor rnd(std::initializer_list<int64_t> shape, double scale = 1.0) {
  return (randn(IntArrayRef(shape.begin(), shape.size()), kFloat64) * scale).requires_grad_();
}

std::vector<std::string> keys(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [k, _] : named) out.push_back(k);
  return out;
}

}  // namespace

// ---- layer_norm ----

TEST_CASE("layer_norm: hand-checked values, biased variance, eps inside the square root") {
  Tensor x = tensor({{1.f, 2.f, 3.f, 4.f}, {2.f, 2.f, 2.f, 2.f}});
  // row 0: mean 2.5, biased variance 1.25; row 1: constant, so (x - mean) = 0 whatever eps
  double r = 1 / std::sqrt(1.25 + 1e-5);
  check_values_abs(layer_norm(x, {4}), {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r, 0, 0, 0, 0}, 1e-6);
  Tensor w = tensor({1.f, 2.f, 3.f, 4.f}), b = tensor({0.f, 1.f, 0.f, -1.f});
  check_values_abs(layer_norm(x, {4}, w, b, 0.0).select(0, 0),
               {-1.5 / std::sqrt(1.25), 1 - 1.0 / std::sqrt(1.25), 1.5 / std::sqrt(1.25), -1 + 6 / std::sqrt(1.25)}, 1e-5);
  // a constant row with eps = 0 is 0 / 0 = NaN, as in torch
  CHECK(std::isnan(values(layer_norm(x, {4}, w, b, 0.0))[4]));
  // eps matters: variance 1.25 + eps 1
  check_values_abs(layer_norm(x, {4}, {}, {}, 1.0).select(0, 0), {-1.5 / 1.5, -0.5 / 1.5, 0.5 / 1.5, 1.5 / 1.5}, 1e-6);
  // a normalized_shape of two dims normalizes over both
  Tensor y = layer_norm(arange(0, 12, 1, TensorOptions(kFloat64)).view({2, 2, 3}), {2, 3});
  CHECK(shape_of(y) == "[2, 2, 3]");
  check_values_abs(y.select(0, 0), values(y.select(0, 1)), 1e-12);
  // float64 and F:: spelling, non-contiguous input
  Tensor xt = randn({5, 3}, kFloat64).t();
  CHECK(all_close(F::layer_norm(xt, {5}), layer_norm(xt.contiguous(), {5}), 1e-12));
}

TEST_CASE("layer_norm: gradcheck of input, weight and bias (float64)") {
  manual_seed(11);
  for (auto shape : {std::vector<int64_t>{4, 6}, std::vector<int64_t>{2, 3, 5}}) {
    Tensor x = randn(shape, kFloat64).requires_grad_();
    Tensor w = (1 + 0.3 * randn({shape.back()}, kFloat64)).requires_grad_();
    Tensor b = randn({shape.back()}, kFloat64).requires_grad_();
    int64_t n = shape.back();
    CHECK(autograd::gradcheck([n](const TensorList& in) { return layer_norm(in[0], {n}, in[1], in[2]); }, {x, w, b}));
    CHECK(autograd::gradcheck([n](const TensorList& in) { return layer_norm(in[0], {n}); }, {x}));
    CHECK(autograd::gradcheck([n](const TensorList& in) { return layer_norm(in[0], {n}, in[1], {}, 1e-3); }, {x, w}));
    CHECK(autograd::gradcheck([n](const TensorList& in) { return layer_norm(in[0], {n}, {}, in[1]); }, {x, b}));
  }
  // over two trailing dims, the weight alone, and a non-contiguous input
  Tensor x = rnd({3, 2, 4}), w = rnd({2, 4}), b = rnd({2, 4});
  CHECK(autograd::gradcheck([](const TensorList& in) { return layer_norm(in[0], {2, 4}, in[1], in[2]); }, {x, w, b}));
  CHECK(autograd::gradcheck([&](const TensorList& in) { return layer_norm(x.detach(), {2, 4}, in[0], in[1]); }, {w, b}));
  Tensor xs = rnd({6, 3});
  CHECK(autograd::gradcheck([](const TensorList& in) { return layer_norm(in[0].t(), {6}); }, {xs}));
}

TEST_CASE("layer_norm: rows shared between threads give the same values and gradients as one thread") {
  manual_seed(12);
  Tensor x = randn({512, 256}).requires_grad_(), w = randn({256}).requires_grad_(), b = randn({256}).requires_grad_();
  Tensor g = randn({512, 256});
  auto run = [&](int threads) {
    set_num_threads(threads);
    x.set_grad({}), w.set_grad({}), b.set_grad({});
    Tensor y = layer_norm(x, {256}, w, b);
    y.backward(g);
    return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
  };
  int before = get_num_threads();
  auto one = run(1), two = run(2);
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) CHECK(all_close(one[i], two[i], 1e-5));
}

TEST_CASE("nn::LayerNorm: parameters, init, repr, elementwise_affine=false") {
  nn::LayerNorm ln(8);
  CHECK(keys(ln->named_parameters()) == std::vector<std::string>{"weight", "bias"});
  check_values_abs(ln->weight, std::vector<double>(8, 1.0), 0);
  check_values_abs(ln->bias, std::vector<double>(8, 0.0), 0);
  CHECK(ln->repr() == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)");
  nn::LayerNorm ln2(std::vector<int64_t>{4, 5}, 1e-3, false);
  CHECK(ln2->parameters().empty());
  CHECK(ln2->repr() == "LayerNorm((4, 5), eps=0.001, elementwise_affine=False)");
  Tensor x = randn({3, 4, 5});
  CHECK(all_close(ln2(x), layer_norm(x, {4, 5}, {}, {}, 1e-3), 0));
  Tensor y = ln(randn({2, 3, 8}));
  y.sum().backward();
  CHECK(ln->weight.grad().defined());
  CHECK(ln->bias.grad().defined());
}

// ---- embedding ----

TEST_CASE("embedding: rows by index, gradient summed per row, padding row gets none") {
  Tensor w = arange(0, 12, 1, TensorOptions(kFloat32)).view({4, 3}).clone().requires_grad_();
  Tensor idx = tensor({{1, 3}, {1, 0}});
  Tensor y = F::embedding(idx, w, 1);
  CHECK(shape_of(y) == "[2, 2, 3]");
  check_values_abs(y, {3, 4, 5, 9, 10, 11, 3, 4, 5, 0, 1, 2}, 0);
  y.backward(ones({2, 2, 3}));
  check_values_abs(w.grad(), {1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1}, 0);  // row 1 is padding
  w.set_grad({});
  embedding(idx, w).sum().backward();
  check_values_abs(w.grad(), {1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1}, 0);
  // a 0-d index gives one row; padding_idx -1 is the last row
  CHECK(shape_of(embedding(tensor(2), w)) == "[3]");
  w.set_grad({});
  embedding(tensor({3, 2}), w, -1).sum().backward();
  check_values_abs(w.grad(), {0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0}, 0);
  // gradcheck on the weight (float64); padding_idx 3 is never read, so it changes nothing
  Tensor wd = rnd({5, 3});
  Tensor id = tensor({{0, 4, 4}, {2, 0, 1}});
  CHECK(autograd::gradcheck([&](const TensorList& in) { return embedding(id, in[0]); }, {wd}));
  CHECK(autograd::gradcheck([&](const TensorList& in) { return embedding(id, in[0], 3); }, {wd}));
}

TEST_CASE("nn::Embedding: N(0, 1) init, padding row zero and gradient-free, repr") {
  manual_seed(0);
  nn::Embedding e(10, 4, 2);
  CHECK(keys(e->named_parameters()) == std::vector<std::string>{"weight"});
  CHECK(shape_of(e->weight) == "[10, 4]");
  check_values_abs(e->weight.select(0, 2), {0, 0, 0, 0}, 0);
  CHECK(e->repr() == "Embedding(10, 4, padding_idx=2)");
  CHECK(nn::Embedding(7, 4, -1)->padding_idx == 6);
  CHECK(nn::Embedding(3, 5)->repr() == "Embedding(3, 5)");
  Tensor y = e(tensor({2, 3, 2}));
  y.pow(2.0).sum().backward();
  check_values_abs(e->weight.grad().select(0, 2), {0, 0, 0, 0}, 0);
  CHECK(values(e->weight.grad().select(0, 3)) != std::vector<double>(4, 0.0));
}

// ---- attention ----

TEST_CASE("scaled_dot_product_attention: hand-checked, masks of both kinds, causal") {
  // one query, two keys: scores q.k / sqrt(2) = [0, 1] -> softmax -> weights of v's rows
  Tensor q = tensor({{{0.f, std::sqrt(2.f)}}}), k = tensor({{{1.f, 0.f}, {0.f, 1.f}}});
  Tensor v = tensor({{{10.f, 0.f}, {0.f, 10.f}}});
  double p1 = 1 / (1 + std::exp(-1.0));
  check_values_abs(attention_weights(q, k), {1 - p1, p1}, 1e-6);
  check_values_abs(F::scaled_dot_product_attention(q, k, v), {10 * (1 - p1), 10 * p1}, 1e-5);
  // a bool mask (true = masked) and the float mask with -inf where it is true give the same result
  Tensor m = tensor({{{false, true}}});
  check_values_abs(F::scaled_dot_product_attention(q, k, v, m), {10, 0}, 1e-6);
  Tensor mf = tensor({{{0.f, -std::numeric_limits<float>::infinity()}}});
  check_values_abs(F::scaled_dot_product_attention(q, k, v, mf), {10, 0}, 1e-6);
  // a float mask adds: +1 to key 0 makes both scores 1
  check_values_abs(attention_weights(q, k, tensor({1.f, 0.f})), {0.5, 0.5}, 1e-6);
  // causal: row i sees keys 0..i only
  manual_seed(1);
  Tensor qq = randn({2, 3, 4, 5}), kk = randn({2, 3, 4, 5}), vv = randn({2, 3, 4, 6});
  Tensor tri = tensor({{false, true, true, true}, {false, false, true, true}, {false, false, false, true},
                       {false, false, false, false}});
  Tensor causal = F::scaled_dot_product_attention(qq, kk, vv, {}, true);
  CHECK(shape_of(causal) == "[2, 3, 4, 6]");
  CHECK(all_close(causal, F::scaled_dot_product_attention(qq, kk, vv, tri), 1e-6));
  Tensor pw = attention_weights(qq, kk, {}, true);
  check_values_abs(pw.select(0, 1).select(0, 2).select(0, 0), {1, 0, 0, 0}, 0);
  // composed reference: softmax(q k^T / sqrt(E)) v
  Tensor ref = matmul(softmax(matmul(qq, kk.mT()) / std::sqrt(5.0), -1), vv);
  CHECK(all_close(F::scaled_dot_product_attention(qq, kk, vv), ref, 1e-5));
  // a fully masked row is NaN, as in torch
  Tensor all_masked = attention_weights(q, k, tensor({true, true}));
  CHECK(std::isnan(values(all_masked)[0]));
}

TEST_CASE("attention: gradcheck of q, k, v and of a float mask (float64)") {
  manual_seed(21);
  Tensor q = rnd({2, 3, 4}), k = rnd({2, 5, 4}), v = rnd({2, 5, 3}), m = rnd({3, 5});
  CHECK(autograd::gradcheck([](const TensorList& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
                            {q, k, v}));
  CHECK(autograd::gradcheck(
      [](const TensorList& in) { return scaled_dot_product_attention(in[0], in[1], in[2], in[3]); }, {q, k, v, m}));
  Tensor bm = tensor({{false, true, false, false, true}, {false, false, false, true, true}, {true, false, false, false, false}});
  CHECK(autograd::gradcheck(
      [&](const TensorList& in) { return scaled_dot_product_attention(in[0], in[1], in[2], bm); }, {q, k, v}));
  Tensor qs = rnd({2, 2, 4, 3}), ks = rnd({2, 2, 4, 3});
  CHECK(autograd::gradcheck([](const TensorList& in) { return attention_weights(in[0], in[1], {}, true, 0.7); }, {qs, ks}));
  // a non-contiguous query (transposed view) and a mask broadcast over the batch
  Tensor qt = rnd({2, 4, 3});
  Tensor mb = rnd({1, 5});
  CHECK(autograd::gradcheck(
      [&](const TensorList& in) { return attention_weights(in[0].transpose(1, 2), in[1], in[2]); }, {qt, k, mb}));
}

TEST_CASE("attention: batches shared between threads give the same values and gradients as one thread") {
  manual_seed(22);
  Tensor q = randn({8, 16, 64, 32}).requires_grad_(), k = randn({8, 16, 64, 32}).requires_grad_();
  Tensor v = randn({8, 16, 64, 32}).requires_grad_();
  Tensor g = randn({8, 16, 64, 32});
  auto run = [&](int threads) {
    set_num_threads(threads);
    q.set_grad({}), k.set_grad({}), v.set_grad({});
    Tensor y = scaled_dot_product_attention(q, k, v, {}, true);
    y.backward(g);
    return std::vector<Tensor>{y.detach(), q.grad(), k.grad(), v.grad()};
  };
  int before = get_num_threads();
  auto one = run(1), two = run(2);
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) CHECK(all_close(one[i], two[i], 1e-5));
}

// ---- modules ----

TEST_CASE("nn::MultiheadAttention: parameter names and order as torch's state_dict, repr, shapes") {
  nn::MultiheadAttention mha(8, 2);
  CHECK(keys(mha->state_dict()) ==
        std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
  CHECK(shape_of(mha->in_proj_weight) == "[24, 8]");
  check_values_abs(mha->in_proj_bias, std::vector<double>(24, 0.0), 0);
  check_values_abs(mha->out_proj->bias, std::vector<double>(8, 0.0), 0);
  nn::MultiheadAttention nb(8, 2, 0.0, false);
  CHECK(keys(nb->state_dict()) == std::vector<std::string>{"in_proj_weight", "out_proj.weight"});
  Tensor x = randn({5, 3, 8});
  auto [out, w] = mha(x, x, x);
  CHECK(shape_of(out) == "[5, 3, 8]");
  CHECK(shape_of(w) == "[3, 5, 5]");
  auto [out2, w2] = mha(x, x, x, Tensor(), false);
  CHECK(!w2.defined());
  CHECK(all_close(out, out2, 1e-6));
  nn::MultiheadAttention bf(8, 4, 0.0, true, true);
  auto [o3, w3] = bf(randn({3, 5, 8}), randn({3, 7, 8}), randn({3, 7, 8}), Tensor(), true, Tensor(), false);
  CHECK(shape_of(o3) == "[3, 5, 8]");
  CHECK(shape_of(w3) == "[3, 4, 5, 7]");
  // the weights of each query sum to one
  check_values_abs(w3.sum(-1), std::vector<double>(60, 1.0), 1e-5);
}

TEST_CASE("nn::MultiheadAttention: gradcheck through the module in float64, with masks") {
  manual_seed(31);
  nn::MultiheadAttention mha(6, 2, 0.0, true, true, kFloat64);
  {
    NoGradGuard g;  // non-zero biases, so that their gradients are checked too
    mha->in_proj_bias.copy_(randn({18}, kFloat64) * 0.5);
    mha->out_proj->bias.copy_(randn({6}, kFloat64) * 0.5);
  }
  Tensor x = rnd({2, 4, 6}), kv = rnd({2, 3, 6});
  Tensor kpm = tensor({{false, false, true}, {false, false, false}});
  Tensor am = tensor({{false, true, false}, {false, false, false}, {true, false, false}, {false, false, false}});
  CHECK(autograd::gradcheck([&](const TensorList& in) { return std::get<0>(mha(in[0], in[0], in[0])); }, {x}));
  CHECK(autograd::gradcheck([&](const TensorList& in) { return std::get<0>(mha(in[0], in[1], in[1], kpm, true, am)); },
                            {x, kv}));
  CHECK(autograd::gradcheck([&](const TensorList& in) { return std::get<1>(mha(in[0], in[1], in[1], kpm)); }, {x, kv}));
  // the parameters
  TensorList params = mha->parameters();
  CHECK(autograd::gradcheck(
      [&](const TensorList&) { return std::get<0>(mha(x.detach(), kv.detach(), kv.detach(), kpm)); }, params));
}

TEST_CASE("nn::TransformerEncoderLayer: submodules in torch's order, state_dict keys, forward in both layouts") {
  nn::TransformerEncoderLayer layer(16, 4, 32);
  std::vector<std::string> children;
  for (const auto& [n, _] : layer->named_children()) children.push_back(n);
  CHECK(children == std::vector<std::string>{"self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1",
                                             "dropout2"});
  CHECK(keys(layer->state_dict()) ==
        std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                                 "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                                 "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"});
  layer->eval();
  Tensor x = randn({5, 3, 16});
  Tensor y = layer(x);
  CHECK(shape_of(y) == "[5, 3, 16]");
  // the same weights with batch_first give the transposed result
  nn::TransformerEncoderLayer bf(16, 4, 32, 0.1, "relu", 1e-5, true);
  bf->load_state_dict(layer->state_dict());
  bf->eval();
  CHECK(all_close(bf(x.transpose(0, 1)), y.transpose(0, 1), 1e-5));
  // unbatched input
  CHECK(all_close(layer(x.select(1, 0)), y.select(1, 0), 1e-5));
  // in a Sequential (forward(const Tensor&))
  nn::Sequential seq{layer, nn::Linear(16, 2)};
  CHECK(shape_of(seq(x)) == "[5, 3, 2]");
}

// ---- errors ----

TEST_CASE("transformer ops and modules: bad inputs throw errors naming the op and the shapes") {
  Tensor x = randn({4, 6});
  CHECK_ERROR(layer_norm(x, {5}), "layer_norm", "[4, 6]", "[5]");
  CHECK_ERROR(layer_norm(x, {4, 6, 1}), "layer_norm", "[4, 6]", "[4, 6, 1]");
  CHECK_ERROR(layer_norm(x, {6}, ones({5})), "layer_norm", "weight", "[5]", "[6]");
  CHECK_ERROR(layer_norm(x, {6}, {}, ones({2, 3})), "layer_norm", "bias", "[2, 3]", "[6]");
  CHECK_ERROR(layer_norm(x, {6}, ones({6}, kFloat64)), "layer_norm", "float64");
  CHECK_ERROR(layer_norm(x.to(kInt64), {6}), "layer_norm", "int64");
  CHECK_ERROR(layer_norm(x, IntArrayRef{}), "layer_norm", "at least one");
  nn::LayerNorm ln(5);
  CHECK_ERROR(ln(x), "layer_norm", "[4, 6]", "[5]");

  Tensor w = randn({10, 3});
  CHECK_ERROR(embedding(tensor({1, 10}), w), "embedding", "index 10", "[10, 3]");
  CHECK_ERROR(embedding(tensor({-1}), w), "embedding", "index -1");
  CHECK_ERROR(embedding(tensor({1.f}), w), "embedding", "int64", "float32");
  CHECK_ERROR(embedding(tensor({1}), randn({10})), "embedding", "[10]");
  CHECK_ERROR(embedding(tensor({1}), w, 10), "embedding", "padding_idx 10");
  CHECK_ERROR(nn::Embedding(5, 2, 5), "Embedding", "padding_idx 5");
  nn::Embedding emb(4, 2);
  CHECK_ERROR(emb(tensor({{0, 7}})), "embedding", "index 7", "[4, 2]", "[1, 2]");

  Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 6});
  CHECK_ERROR(scaled_dot_product_attention(q, randn({2, 5, 3}), v), "scaled_dot_product_attention", "[2, 3, 4]", "[2, 5, 3]");
  CHECK_ERROR(scaled_dot_product_attention(q, randn({3, 5, 4}), randn({3, 5, 6})), "scaled_dot_product_attention",
              "[2, 3, 4]", "[3, 5, 4]");
  CHECK_ERROR(scaled_dot_product_attention(q, k, randn({2, 4, 6})), "scaled_dot_product_attention", "[2, 5, 4]",
              "[2, 4, 6]");
  CHECK_ERROR(scaled_dot_product_attention(q, k, v, ones({3, 4}, kBool)), "scaled_dot_product_attention", "attn_mask",
              "[3, 4]", "[2, 3, 5]");
  CHECK_ERROR(scaled_dot_product_attention(q, k, v, ones({3, 5}, kInt64)), "scaled_dot_product_attention", "attn_mask",
              "int64");
  CHECK_ERROR(attention_weights(randn({4}), k), "attention_weights", "[4]");
  CHECK_ERROR(scaled_dot_product_attention(q, k, v.to(kFloat64)), "scaled_dot_product_attention", "float64");

  CHECK_ERROR(nn::MultiheadAttention(10, 3), "MultiheadAttention", "embed_dim 10", "num_heads 3");
  CHECK_ERROR(nn::MultiheadAttention(8, 0), "MultiheadAttention", "positive");
  nn::MultiheadAttention mha(8, 2);
  Tensor s = randn({5, 3, 8});
  CHECK_ERROR(mha(randn({5, 3, 6}), randn({5, 3, 6}), randn({5, 3, 6})), "MultiheadAttention", "[5, 3, 6]", "embed_dim=8");
  CHECK_ERROR(mha(s, randn({4, 3, 8}), randn({6, 3, 8})), "MultiheadAttention", "[4, 3, 8]", "[6, 3, 8]");
  CHECK_ERROR(mha(s, randn({4, 2, 8}), randn({4, 2, 8})), "MultiheadAttention", "[4, 2, 8]", "[5, 3, 8]");
  CHECK_ERROR(mha(s, s, s, ones({3, 4}, kBool)), "MultiheadAttention", "key_padding_mask", "[3, 5]", "[3, 4]");
  CHECK_ERROR(mha(s, s, s, Tensor(), true, ones({5, 4}, kBool)), "MultiheadAttention", "attn_mask", "[5, 4]", "[5, 5]");
  CHECK_ERROR(mha(s, s, s, Tensor(), true, ones({2, 5, 5}, kBool)), "MultiheadAttention", "attn_mask", "[2, 5, 5]",
              "[6, 5, 5]");
  CHECK_ERROR(mha(s, s, s, Tensor(), true, ones({1, 1, 5, 5}, kBool)), "MultiheadAttention", "attn_mask", "[1, 1, 5, 5]");
  CHECK_ERROR(mha(s, s, s, Tensor(), true, ones({5, 5}, kInt64)), "MultiheadAttention", "attn_mask", "int64");
  CHECK_ERROR(mha(randn({2, 5, 3, 8}), s, s), "MultiheadAttention", "[2, 5, 3, 8]");
  CHECK_ERROR(mha(s, randn({5, 8}), s), "MultiheadAttention", "[5, 8]");
  CHECK_ERROR(mha(s.to(kFloat64), s.to(kFloat64), s.to(kFloat64)), "MultiheadAttention", "float64");

  CHECK_ERROR(nn::TransformerEncoderLayer(8, 3), "MultiheadAttention", "embed_dim 8", "num_heads 3");
  CHECK_ERROR(nn::TransformerEncoderLayer(8, 2, 16, 0.1, "tanh"), "TransformerEncoderLayer", "relu/gelu", "tanh");
  nn::TransformerEncoderLayer layer(8, 2, 16);
  CHECK_ERROR(layer(randn({5, 3, 7})), "MultiheadAttention", "[5, 3, 7]");
  CHECK_ERROR(layer(randn({8})), "TransformerEncoderLayer", "[8]");
  CHECK_ERROR(layer(s, ones({4, 4}, kBool)), "MultiheadAttention", "attn_mask", "[4, 4]", "[5, 5]");
}

// ---- parity with real PyTorch ----

namespace {

using test::compare;
using test::Match;
using test::Reference;

const Reference& reference() {
  static const Reference ref = [] {
    std::string path = test::env_or("CTORCH_TRANSFORMER_REF", CTORCH_TRANSFORMER_REF);
    std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    test::make_reference("transformer parity", {path}, std::string(CTORCH_SOURCE_DIR) + "/tests/parity/gen_transformer_ref.py",
                         {path});
    return Reference::load("transformer parity", path);
  }();
  return ref;
}

class Case {
 public:
  Case(const Reference& ref, std::string name) : ref_(ref), name_(std::move(name)) {}
  // The input k: one leaf per name (so passing in("x") three times is self-attention), requiring
  // grad when torch computed a gradient for it; undefined when the case has no such input.
  Tensor in(const std::string& k) {
    if (auto it = inputs_.find(k); it != inputs_.end()) return it->second;
    if (!ref_.has(name_ + "/in/" + k)) return Tensor();
    Tensor v = ref_.at(name_ + "/in/" + k).clone();
    if (ref_.has(name_ + "/grad/in/" + k)) v.requires_grad_(true);
    return inputs_[k] = v;
  }
  // manual_seed(dropout_seed) right before the forward of a train-mode case
  void seed_dropout() const { manual_seed(static_cast<uint64_t>(ref_.at(name_ + "/dropout_seed").item<int64_t>())); }
  const std::map<std::string, Tensor>& inputs() const { return inputs_; }

 private:
  const Reference& ref_;
  std::string name_;
  std::map<std::string, Tensor> inputs_;
};

struct Result {
  std::shared_ptr<nn::Module> module;
  Tensor out, weights;
};

struct CaseDef {
  std::string name, group;
  std::function<Result(Case&)> run;                  // forward cases
  std::function<std::shared_ptr<nn::Module>()> build;  // init-only cases
};

template <class Holder>
Result with(const Holder& m, Tensor out, Tensor weights = {}) {
  return {m.ptr(), std::move(out), std::move(weights)};
}
Result from(const std::shared_ptr<nn::Module>& m, std::tuple<Tensor, Tensor> r) {
  return {m, std::get<0>(r), std::get<1>(r)};
}

std::vector<CaseDef> make_cases() {
  std::vector<CaseDef> v;
  auto fwd = [&](const std::string& g, const std::string& n, std::function<Result(Case&)> f) { v.push_back({n, g, f, {}}); };
  auto init = [&](const std::string& n, std::function<std::shared_ptr<nn::Module>()> b) { v.push_back({n, "init", {}, b}); };

  const std::string LN = "layer_norm";
  auto fln = [](std::vector<int64_t> shape, double eps = 1e-5) {
    return [shape, eps](Case& c) { return Result{nullptr, F::layer_norm(c.in("x"), shape, c.in("w"), c.in("b"), eps), Tensor()}; };
  };
  fwd(LN, "ln_basic", fln({6}));
  fwd(LN, "ln_2d_shape_eps", fln({4, 5}, 1e-3));
  fwd(LN, "ln_noaffine", fln({7}));
  fwd(LN, "ln_weight_only", fln({4}));
  fwd(LN, "ln_offset", fln({16}));
  fwd(LN, "ln_constant_row", fln({8}));
  fwd(LN, "ln_module", [](Case& c) { nn::LayerNorm m(32); return with(m, m(c.in("x"))); });
  fwd(LN, "ln_wide_rows", [](Case& c) { nn::LayerNorm m(256, 1e-6); return with(m, m(c.in("x"))); });

  const std::string EM = "Embedding";
  init("init_embedding_10_3", [] { return nn::Embedding(10, 3).ptr(); });
  init("init_embedding_5_2", [] { return nn::Embedding(5, 2).ptr(); });
  init("init_embedding_pad", [] { return nn::Embedding(20, 8, 2).ptr(); });
  init("init_embedding_negpad", [] { return nn::Embedding(7, 4, -1).ptr(); });
  fwd(EM, "emb_padding", [](Case& c) { nn::Embedding m(10, 6, 2); return with(m, m(c.in("idx"))); });
  fwd(EM, "emb_repeat", [](Case& c) { nn::Embedding m(8, 20); return with(m, m(c.in("idx"))); });

  const std::string MH = "MultiheadAttention";
  // self-attention: the same tensor as query, key and value
  auto self = [](nn::MultiheadAttention m, Case& c, bool need = true, bool average = true) {
    Tensor x = c.in("x");
    return from(m.ptr(), m(x, x, x, c.in("kpm"), need, c.in("mask"), average));
  };
  auto cross = [](nn::MultiheadAttention m, Case& c, bool shared_kv) {
    Tensor k = c.in("k");
    return from(m.ptr(), m(c.in("q"), k, shared_kv ? k : c.in("v"), c.in("kpm"), true, c.in("mask")));
  };
  fwd(MH, "mha_self", [=](Case& c) { return self(nn::MultiheadAttention(8, 2), c); });
  fwd(MH, "mha_self_batch_first", [=](Case& c) { return self(nn::MultiheadAttention(8, 2, 0.0, true, true), c); });
  fwd(MH, "mha_kv_shared", [=](Case& c) { return cross(nn::MultiheadAttention(8, 2), c, true); });
  fwd(MH, "mha_separate_masks_bf", [=](Case& c) { return cross(nn::MultiheadAttention(8, 2, 0.0, true, true), c, false); });
  fwd(MH, "mha_float_mask", [=](Case& c) { return self(nn::MultiheadAttention(8, 2), c); });
  fwd(MH, "mha_causal_bf", [=](Case& c) { return self(nn::MultiheadAttention(8, 2, 0.0, true, true), c); });
  fwd(MH, "mha_float_kpm", [=](Case& c) { return self(nn::MultiheadAttention(8, 2), c); });
  fwd(MH, "mha_per_head", [=](Case& c) { return self(nn::MultiheadAttention(8, 4, 0.0, true, true), c, true, false); });
  fwd(MH, "mha_no_weights", [=](Case& c) { return self(nn::MultiheadAttention(8, 2), c, false); });
  fwd(MH, "mha_nobias", [=](Case& c) { return self(nn::MultiheadAttention(8, 2, 0.0, false), c); });
  fwd(MH, "mha_unbatched", [=](Case& c) { return cross(nn::MultiheadAttention(8, 2), c, false); });
  fwd(MH, "mha_one_head_wide", [=](Case& c) { return self(nn::MultiheadAttention(12, 1, 0.0, true, true), c); });
  init("init_mha_16_4", [] { return nn::MultiheadAttention(16, 4).ptr(); });
  init("init_mha_nobias", [] { return nn::MultiheadAttention(16, 2, 0.0, false).ptr(); });

  const std::string TE = "TransformerEncoderLayer";
  auto tel = [](nn::TransformerEncoderLayer m, Case& c, bool train = false) {
    m->train(train);
    Tensor x = c.in("x");
    if (train) c.seed_dropout();
    return with(m, m(x, c.in("mask"), c.in("kpm")));
  };
  fwd(TE, "tel_eval", [=](Case& c) { return tel(nn::TransformerEncoderLayer(16, 4, 32), c); });
  fwd(TE, "tel_eval_bf_gelu_norm_first_masks", [=](Case& c) {
    return tel(nn::TransformerEncoderLayer(16, 4, 24, 0.1, "gelu", 1e-6, true, true), c);
  });
  fwd(TE, "tel_eval_bench_like", [=](Case& c) { return tel(nn::TransformerEncoderLayer(32, 4, 64, 0.0, "relu", 1e-5, true), c); });
  fwd(TE, "tel_train_dropout", [=](Case& c) { return tel(nn::TransformerEncoderLayer(16, 2, 32, 0.2), c, true); });
  init("init_tel_default", [] { return nn::TransformerEncoderLayer(32, 4).ptr(); });
  return v;
}

const std::vector<CaseDef>& cases() {
  static const std::vector<CaseDef> v = make_cases();
  return v;
}

uint64_t seed_of(const Reference& ref, const std::string& name) {
  return static_cast<uint64_t>(ref.at(name + "/seed").item<int64_t>());
}

std::vector<std::string> run_forward(const Reference& ref, const CaseDef& def) {
  std::vector<std::string> problems;
  const std::string& n = def.name;
  Case c(ref, n);
  Result r;
  try {
    if (ref.has(n + "/seed")) manual_seed(seed_of(ref, n));  // the module is built right after, as in torch
    r = def.run(c);
  } catch (const std::exception& e) {
    return {std::string("forward threw: ") + e.what()};
  }
  if (r.module) {  // the seeded build must give torch's initial weights (compared after the forward: no in-place change)
    NamedTensors want = ref.with_prefix(n + "/param/");
    NamedTensors got = r.module->state_dict();  // registration order; `want` is sorted by name
    std::map<std::string, Tensor> g(got.begin(), got.end());
    if (g.size() != want.size()) problems.push_back(fmt::format("ctorch's state_dict has {} entries, torch's {}", g.size(), want.size()));
    for (const auto& [k, w] : want) {
      if (!g.count(k)) problems.push_back("torch's parameter " + k + " is missing in ctorch's state_dict");
      else compare("initial " + k, g[k].detach(), w, Match::kBitwise, problems);
    }
  }
  compare("output", r.out, ref.at(n + "/out"), Match::kClose, problems);
  if (ref.has(n + "/weights")) compare("attention weights", r.weights, ref.at(n + "/weights"), Match::kClose, problems);
  else if (r.weights.defined()) problems.push_back("ctorch returned attention weights, torch none");
  if (!problems.empty()) return problems;
  try {
    Tensor loss;
    if (n.starts_with("tel_")) {  // a weighted sum of squares (see gen_transformer_ref.py)
      loss = (r.out.pow(2.0) * ref.at(n + "/gout")).sum();
    } else {
      loss = (r.out * ref.at(n + "/gout")).sum();
      if (r.weights.defined()) loss = loss + (r.weights * ref.at(n + "/gweights")).sum();
    }
    loss.backward();
  } catch (const std::exception& e) {
    return {std::string("backward threw: ") + e.what()};
  }
  for (const auto& [k, g] : ref.with_prefix(n + "/grad/in/")) {
    auto it = c.inputs().find(k);
    if (it == c.inputs().end()) problems.push_back("input " + k + " (torch has its gradient) was never used");
    else compare("grad of input " + k, it->second.grad(), g, Match::kClose, problems);
  }
  if (r.module) {
    auto params = r.module->named_parameters();
    if (params.size() != ref.with_prefix(n + "/grad/param/").size())
      problems.push_back("ctorch's module and torch's have different numbers of parameters");
    for (const auto& [k, p] : params) {
      std::string key = n + "/grad/param/" + k;
      if (!ref.has(key)) problems.push_back("parameter " + k + " has no torch gradient");
      else compare("grad of parameter " + k, p.grad(), ref.at(key), Match::kClose, problems);
    }
  }
  return problems;
}

std::vector<std::string> run_init(const Reference& ref, const CaseDef& def) {
  std::vector<std::string> problems;
  manual_seed(seed_of(ref, def.name));
  NamedTensors got = def.build()->state_dict();
  got.emplace_back("after", rand({3}));  // the generator is where torch's is
  test::compare_named(got, ref.with_prefix(def.name + "/value/"), Match::kBitwise, problems);
  return problems;
}

void run_group(const std::string& group) {
  const Reference& ref = reference();
  test::run_group(cases(), group, [&](const CaseDef& def) { return def.run ? run_forward(ref, def) : run_init(ref, def); });
}

}  // namespace

TEST_CASE("transformer parity: the reference file and the C++ cases cover each other") {
  std::vector<std::string> names;
  for (const CaseDef& def : cases()) names.push_back(def.name);
  reference().check_covers(names);
}

TEST_CASE("transformer parity: F::layer_norm and nn::LayerNorm forward and gradients") { run_group("layer_norm"); }
TEST_CASE("transformer parity: nn::Embedding forward and gradients, padding_idx") { run_group("Embedding"); }
TEST_CASE("transformer parity: nn::MultiheadAttention (masks, batch_first, cross-attention, weights)") {
  run_group("MultiheadAttention");
}
TEST_CASE("transformer parity: nn::TransformerEncoderLayer eval and train mode, seeded weights, gradients") {
  run_group("TransformerEncoderLayer");
}
TEST_CASE("transformer parity: seeded Embedding, MultiheadAttention, TransformerEncoderLayer init bit for bit") {
  run_group("init");
}

TEST_CASE("transformer parity: module reprs are torch's") {
  const Reference& ref = reference();
  CHECK(nn::TransformerEncoderLayer(16, 4, 32)->repr() == ref.meta.at("repr/tel"));
  CHECK(nn::MultiheadAttention(8, 2, 0.0, false)->repr() == ref.meta.at("repr/mha_nobias"));
  CHECK(nn::LayerNorm(std::vector<int64_t>{4, 5}, 1e-3, false)->repr() == ref.meta.at("repr/layernorm_2d"));
  CHECK(nn::Embedding(10, 3, 0)->repr() == ref.meta.at("repr/embedding_pad"));
}
