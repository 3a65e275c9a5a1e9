// Bad input throws ctorch::Error, and the message names the op and the offending shapes or values
// (e.g. "add: shapes [2, 3] and [4] are not broadcastable ...") so that the user can find the line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>

using namespace ctorch;

namespace {

// Runs f, expects ctorch::Error, and checks that the message contains every fragment
// (typically the op's name and the shapes or values at fault).
template <class F> void check_error(F&& f, std::initializer_list<std::string> fragments) {
  std::string msg;
  try {
    f();
  } catch (const Error& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected ctorch::Error, got another exception: " << e.what());
    return;
  }
  if (msg.empty()) {
    FAIL_CHECK("expected ctorch::Error containing \"" << *fragments.begin() << "\", nothing was thrown");
    return;
  }
  for (const std::string& frag : fragments)
    CHECK_MESSAGE(msg.find(frag) != std::string::npos, "missing \"" << frag << "\" in: " << msg);
}

Tensor m23() { return zeros({2, 3}); }

}  // namespace

TEST_CASE("elementwise shape mismatch names the op and both shapes") {
  CHECK_THROWS_WITH_AS(m23() + zeros({4}), doctest::Contains("add: shapes [2, 3] and [4] are not broadcastable"),
                       Error);
  check_error([] { m23() - zeros({3, 2}); }, {"sub", "[2, 3]", "[3, 2]"});
  check_error([] { m23() * zeros({2, 2}); }, {"mul", "[2, 3]", "[2, 2]"});
  check_error([] { m23() / zeros({5, 1, 2}); }, {"div", "[2, 3]", "[5, 1, 2]"});
  check_error([] { maximum(m23(), zeros({2})); }, {"maximum", "[2, 3]", "[2]"});
  check_error([] { m23() < zeros({4}); }, {"lt", "[2, 3]", "[4]"});
  check_error([] { where(zeros({2}, kBool), m23(), m23()); }, {"where", "[2]", "[2, 3]"});
  check_error([] { m23().masked_fill(zeros({4, 2, 3}, kBool), 1); }, {"masked_fill", "[4, 2, 3]", "[2, 3]"});
  Tensor t = m23();
  check_error([&] { t.add_(zeros({4, 2, 3})); }, {"add_", "[2, 3]"});
  check_error([&] { t.copy_(zeros({4})); }, {"copy_", "[2, 3]", "[4]"});
}

TEST_CASE("matmul, mm and dot shape errors name the op and both shapes") {
  CHECK_THROWS_WITH_AS(matmul(m23(), zeros({4, 5})),
                       doctest::Contains("matmul: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5"), Error);
  check_error([] { matmul(m23(), zeros({4, 5})); }, {"[2, 3]", "[4, 5]"});
  check_error([] { matmul(zeros({3}), zeros({4})); }, {"matmul", "3", "4"});
  check_error([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 4})); }, {"matmul", "[2]", "[3]"});
  check_error([] { matmul(zeros({}), zeros({3})); }, {"matmul", "[]", "[3]"});
  check_error([] { matmul(zeros({2, 2}), zeros({2, 2}, kFloat64)); }, {"matmul", "torch.float32", "torch.float64"});
  check_error([] { mm(zeros({3}), m23()); }, {"mm", "[3]", "[2, 3]"});
  check_error([] { dot(m23(), zeros({3})); }, {"dot", "[2, 3]", "[3]"});
}

TEST_CASE("a dim out of range names the op, the dim and the valid range") {
  CHECK_THROWS_WITH_AS(m23().sum(2), doctest::Contains("sum: dim 2 is out of range"), Error);
  check_error([] { m23().sum(-3); }, {"sum", "dim -3", "[-2, 1]"});
  check_error([] { m23().mean(Shape{0, 5}); }, {"mean", "dim 5"});
  check_error([] { m23().softmax(2); }, {"softmax", "dim 2"});
  check_error([] { m23().log_softmax(-3); }, {"log_softmax", "dim -3"});
  check_error([] { m23().max(3); }, {"max", "dim 3"});
  check_error([] { m23().transpose(0, 2); }, {"transpose", "dim 2"});
  check_error([] { m23().unsqueeze(4); }, {"unsqueeze", "dim 4"});
  check_error([] { m23().select(2, 0); }, {"select", "dim 2"});
  check_error([] { m23().size(2); }, {"size", "dim 2"});
  check_error([] { cat({m23(), m23()}, 2); }, {"cat", "dim 2"});
  check_error([] { m23().permute({0, 0}); }, {"permute", "repeated dim 0"});
  check_error([] { m23().permute({0}); }, {"permute", "[2, 3]"});
  check_error([] { m23().sum(Shape{1, 1}); }, {"sum", "dim 1 appears multiple times"});
  check_error([] { m23().sum(Shape{0, 0}); }, {"sum", "dim 0 appears multiple times"});
  check_error([] { m23().flatten(1, 0); }, {"flatten", "start_dim (1)", "end_dim (0)"});
}

TEST_CASE("an index out of range names the op, the index and the size") {
  CHECK_THROWS_WITH_AS(m23().select(1, 3), doctest::Contains("select: index 3 out of range for tensor of size [2, 3]"),
                       Error);
  check_error([] { m23().select(0, -3); }, {"select", "index -3", "[2, 3]"});
  check_error([] { m23()[2]; }, {"select", "index 2", "[2, 3]"});
  check_error([] { m23().index_select(1, tensor({0, 5})); }, {"index_select", "index 5", "size 3"});
  check_error([] { m23().index_select(0, tensor({0.f})); }, {"index_select", "int64", "torch.float32"});
  check_error([] { m23().index_select(0, zeros({1, 1}, kInt64)); }, {"index_select", "[1, 1]"});
  check_error([] { m23().gather(1, tensor({{0}, {4}})); }, {"gather", "index 4", "size 3"});
  check_error([] { m23().gather(1, tensor({0, 1})); }, {"gather", "[2, 3]", "[2]"});
  check_error([] { index_add(m23(), 0, tensor({2}), zeros({1, 3})); }, {"index_add", "index 2", "size 2"});
  check_error([] { index_add(m23(), 0, tensor({0}), zeros({2, 3})); }, {"index_add", "[2, 3]"});
  check_error([] { scatter_add(m23(), 1, tensor({{3}}), zeros({1, 1})); }, {"scatter_add", "index 3", "size 3"});
  check_error([] { m23().narrow(1, 2, 2); }, {"narrow", "start (2)", "length (2)", "size (3)"});
  check_error([] { m23().slice(0, 0, 1, 0); }, {"slice", "step", "0"});
}

TEST_CASE("view and reshape of an incompatible shape name the shapes and sizes") {
  CHECK_THROWS_WITH_AS(m23().view({4, 2}), doctest::Contains("view: shape '[4, 2]' is invalid for input of size 6"),
                       Error);
  check_error([] { m23().reshape({5, -1}); }, {"reshape", "[5, -1]", "6"});
  check_error([] { m23().view({-1, -1}); }, {"view", "only one dimension can be inferred"});
  check_error([] { m23().t().view({6}); }, {"view", "[6]", "[3, 2]", "stride [1, 3]", ".reshape"});
  check_error([] { m23().expand({4, 3}); }, {"expand", "[4, 3]", "[2, 3]"});
  check_error([] { m23().expand({3}); }, {"expand", "number of sizes provided (1)"});
  check_error([] { cat({m23(), zeros({2, 2})}, 0); }, {"cat", "[2, 3]", "[2, 2]"});
  check_error([] { cat({m23(), zeros({3})}); }, {"cat", "number of dimensions"});
  check_error([] { stack({m23(), zeros({3, 2})}); }, {"stack", "[2, 3]", "[3, 2]"});
  check_error([] { zeros({1, 2, 3}).t(); }, {"t", "[1, 2, 3]"});
  check_error([] { zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}); }, {"at most 8 dimensions"});
  check_error([] { zeros({2, -1}); }, {"empty", "negative dimension -1", "[2, -1]"});
}

TEST_CASE("item() on more than one element names the count and the shape") {
  CHECK_THROWS_WITH_AS(m23().item(),
                       doctest::Contains("item: a Tensor with 6 elements cannot be converted to a scalar "
                                         "(shape [2, 3])"),
                       Error);
  check_error([] { zeros({0}).item(); }, {"item", "0 elements", "[0]"});
  check_error([] { zeros({2}).data_ptr<double>(); }, {"data_ptr", "torch.float32", "torch.float64"});
  check_error([] { Tensor().dim(); }, {"undefined"});
}

TEST_CASE("backward errors: nothing requires grad, implicit grad on non-scalar, mismatched gradient") {
  CHECK_THROWS_WITH_AS(tensor({1, 2}).sum().backward(), doctest::Contains("does not require grad"), Error);
  check_error([] { tensor({1.f}).backward(); }, {"element 0 of tensors does not require grad"});
  check_error([] { (tensor({1.f}) * 2).backward(); }, {"does not require grad and does not have a grad_fn"});
  Tensor x = ones({2, 3}, requires_grad());
  check_error([&] { (x * 2).backward(); }, {"grad can be implicitly created only for scalar outputs", "[2, 3]"});
  CHECK_THROWS_WITH_AS((x * 2).backward(ones({3})),
                       doctest::Contains("Mismatch in shape: grad_output[0] has a shape of [3] and output[0] has a "
                                         "shape of [2, 3]"),
                       Error);
  check_error([&] { autograd::backward({x.sum(), x.sum()}, {ones({})}); }, {"backward", "2 tensors", "1 gradients"});
  check_error([&] { autograd::grad({x.sum()}, {ones({2})}); }, {"grad", "input 0 does not require grad"});
  check_error([&] { x.set_grad(ones({3})); }, {"set_grad", "[3]", "[2, 3]"});
  check_error([&] { x.set_grad(ones({2, 3}, kFloat64)); }, {"set_grad", "torch.float64", "torch.float32"});
  check_error([&] { (x * 2).requires_grad_(false); }, {"requires_grad_", "leaf variables"});
}

TEST_CASE("requires_grad on an integer or bool tensor names the dtype") {
  CHECK_THROWS_WITH_AS(tensor({1, 2}).requires_grad_(),
                       doctest::Contains("only Tensors of floating point dtype can require gradients, got torch.int64"),
                       Error);
  check_error([] { zeros({2}, dtype(kInt64).requires_grad()); }, {"requires_grad", "torch.int64"});
  check_error([] { tensor({true}).requires_grad_(); }, {"requires_grad", "torch.bool"});
  check_error([] { arange(3, dtype(kInt64).requires_grad()); }, {"requires_grad", "torch.int64"});
}

TEST_CASE("dtype errors name the op and the dtype") {
  check_error([] { tensor({1, 2}).softmax(0); }, {"softmax", "torch.int64"});
  check_error([] { tensor({1, 2}).mean(); }, {"mean", "torch.int64"});
  check_error([] { tensor({1, 2}).var(); }, {"var", "torch.int64"});
  check_error([] { tensor({1, 2}).log_softmax(0); }, {"log_softmax", "torch.int64"});
  check_error([] { tensor({1, 2}).div_(2.0); }, {"div_", "torch.int64"});
  check_error([] { where(tensor({1, 0}), m23(), m23()); }, {"where", "condition", "torch.int64"});
  check_error([] { m23().masked_fill(tensor({1, 0, 1}), 0); }, {"masked_fill", "mask", "torch.int64"});
  check_error([] { tensor({true}) - tensor({true}); }, {"sub", "bool"});
  check_error([] { -tensor({true}); }, {"neg", "bool"});
  check_error([] { tensor({1.f}) & tensor({true}); }, {"logical_and", "torch.float32"});
  check_error([] { rand({2}, kInt64); }, {"rand", "torch.int64"});
  check_error([] { tensor({2, 3}).pow(-1); }, {"pow", "negative integer powers", "torch.int64", "-1"});
}

TEST_CASE("factory and misc argument errors name the function and the values") {
  check_error([] { tensor({{1, 2}, {3}}); }, {"tensor", "ragged"});
  check_error([] { tensor(std::vector<float>{1, 2, 3}, {2, 2}); }, {"tensor", "3 values", "[2, 2]"});
  check_error([] { arange(0, 5, -1); }, {"arange", "start=0", "end=5", "step=-1"});
  check_error([] { arange(0, 5, 0); }, {"arange", "step must be nonzero"});
  check_error([] { linspace(0, 1, -2); }, {"linspace", "-2"});
  check_error([] { randperm(-1); }, {"randperm", "-1"});
  check_error([] { m23().clamp(std::nullopt, std::nullopt); }, {"clamp", "min", "max"});
  check_error([] { cat({}); }, {"cat", "non-empty"});
  check_error([] { zeros({0}).max(); }, {"max", "[0]"});
  check_error([] { zeros({2, 0}).min(1); }, {"min", "[2, 0]"});
}

TEST_CASE("autograd misuse: in-place on views in a graph, saved tensors changed, second backward") {
  Tensor x = ones({2, 3}, requires_grad());
  Tensor y = x * 2;
  check_error([&] { y.select(0, 0).add_(1.0); }, {"add_", "views", "[3]"});
  Tensor z = y * y;
  { NoGradGuard g; y.add_(1.0); }
  check_error([&] { z.sum().backward(); },
              {"modified by an inplace operation", "[torch.float32 [2, 3]]", "version 1", "expected version 0",
               "MulBackward0"});
  Tensor w = (x * x).sum();
  w.backward();
  check_error([&] { w.backward(); }, {"Trying to backward through the graph a second time", "retain_graph=true"});
  check_error([&] { x.add_(1.0); }, {"add_", "leaf Variable that requires grad"});
}
