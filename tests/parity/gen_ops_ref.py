#!/usr/bin/python3
"""Reference data for tests/parity/test_parity_ops.cpp, from real PyTorch 1.13 (Debian python3-torch).

    /usr/bin/python3 tests/parity/gen_ops_ref.py OUTPUT_FILE

CTest runs this as the fixture `parity_reference` before `parity_ops`. For every case below it makes
float32 (and int64 / bool) inputs deterministically, runs the forward in torch, draws a random
upstream gradient for every differentiable output, runs backward, and writes one text file:

    # comment lines
    torch <version>
    case <name> <op,op,...>
    tensor <role> <dtype> <ndim> <dims...> <values...>
    ...
    uncovered <op,op,...>        (only if some function of ops/*.hpp is named by no case)
    end <number of cases>

roles: input:<name> (in the order of the case's arguments), output:<k>, gout:<k> (the upstream
gradient of output k; only differentiable outputs have one), grad:<name> (the gradient of every
input that requires grad: exactly the float inputs not wrapped in const()).
dtypes: f32 (values '%.9g', which round-trips float32 exactly; nan/inf spelled as such), i64, bool (0/1).

Any failure (no torch, a case that errors, a missing gradient) exits non-zero, and the output file is
removed first and only written at the very end, so the C++ test never reads a stale or partial file.
"""
import math
import os
import re
import sys
import zlib

if len(sys.argv) != 2:
    sys.exit("usage: gen_ops_ref.py OUTPUT_FILE")
OUT_PATH = os.path.abspath(sys.argv[1])
if os.path.exists(OUT_PATH):
    os.remove(OUT_PATH)  # before importing torch: a failed run must not leave the last good file behind

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # CI installs python3-torch (scripts/setup.sh --test); no torch is an error
    sys.exit(f"gen_ops_ref.py: cannot import torch with {sys.executable}: {e}\n"
             "install Debian's python3-torch (scripts/setup.sh --test); the parity test needs it")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

CASES = []  # (name, "op,op", forward, {arg name: lambda making the input})


class const:  # a float input that does not require grad (a target, a fixed matrix)
    def __init__(self, t):
        self.t = t


# ---- deterministic inputs: every case draws from its own generator, seeded from its name ----
_gen = torch.Generator()


def seed(name):
    _gen.manual_seed(zlib.crc32(name.encode()))


def R(*s):  # standard normal
    return torch.randn(s, generator=_gen)


def P(*s, lo=0.5, hi=2.0):  # positive, bounded away from 0
    return lo + (hi - lo) * torch.rand(s, generator=_gen)


def A(*s):  # |x| >= 0.25: away from the kinks of abs/relu/clamp and from 0 divisors
    x = torch.randn(s, generator=_gen)
    return torch.where(x >= 0, x + 0.25, x - 0.25)


def D(*s):  # half-integers in [-1, 1]: many exact ties
    return torch.randint(-2, 3, s, generator=_gen).float() / 2


def I(high, *s):  # int64 indices in [0, high)
    return torch.randint(0, high, s, generator=_gen)


def M(*s):  # bool mask
    return torch.rand(s, generator=_gen) < 0.5


# C(name, "op,op", forward, arg=lambda: value, ...): the inputs are built lazily, after seed(name), so
# that each case's values depend only on its name. `ops` names what the case covers (see declared_ops).
def C(name, ops, fn, **inputs):
    CASES.append((name, ops, fn, inputs))


# ============================ elementwise ============================
C("add_same", "add", lambda a, b: a + b, a=lambda: R(3, 4), b=lambda: R(3, 4))
C("add_broadcast", "add", lambda a, b: a + b, a=lambda: R(2, 3, 4), b=lambda: R(3, 1))
C("add_broadcast_both", "add", lambda a, b: torch.add(a, b), a=lambda: R(4, 1), b=lambda: R(1, 5))
C("add_alpha", "add", lambda a, b: torch.add(a, b, alpha=2.5), a=lambda: R(3, 4), b=lambda: R(4))
C("add_0d", "add", lambda a, b: a + b, a=lambda: R(3, 4), b=lambda: R())
C("add_scalar", "add,operator+", lambda a: a + 1.5, a=lambda: R(2, 3))
C("add_int_tensor", "add", lambda a, i: a + i, a=lambda: R(2, 3), i=lambda: I(5, 2, 3))
C("sub_broadcast", "sub", lambda a, b: a - b, a=lambda: R(4, 1), b=lambda: R(1, 5))
C("sub_alpha", "sub", lambda a, b: torch.sub(a, b, alpha=-0.75), a=lambda: R(2, 3), b=lambda: R(2, 3))
C("rsub_scalar", "sub,operator-", lambda a: 2.0 - a, a=lambda: R(5))
C("mul_same", "mul", lambda a, b: a * b, a=lambda: R(3, 4), b=lambda: R(3, 4))
C("mul_broadcast", "mul", lambda a, b: a * b, a=lambda: R(2, 1, 4), b=lambda: R(3, 1))
C("mul_scalar", "mul,operator*", lambda a: a * -3.0, a=lambda: R(2, 3))
C("mul_self", "mul", lambda a: a * a, a=lambda: R(6))
C("div_same", "div", lambda a, b: a / b, a=lambda: R(3, 4), b=lambda: A(3, 4))
C("div_broadcast", "div", lambda a, b: a / b, a=lambda: R(2, 3, 4), b=lambda: A(4))
C("div_scalar", "div,operator/", lambda a: a / 4.0, a=lambda: R(2, 3))
C("rdiv_scalar", "div,operator/", lambda b: 2.0 / b, b=lambda: A(2, 3))
C("neg", "neg,operator-", lambda a: -a, a=lambda: R(3, 4))
C("pow_scalar_2", "pow", lambda a: torch.pow(a, 2), a=lambda: R(3, 4))
C("pow_scalar_3", "pow", lambda a: a ** 3, a=lambda: R(3, 4))
C("pow_scalar_half", "pow", lambda a: a ** 0.5, a=lambda: P(3, 4))
C("pow_scalar_neg", "pow", lambda a: a ** -1.5, a=lambda: P(3, 4))
C("pow_scalar_0", "pow", lambda a: a ** 0, a=lambda: R(3, 4))
C("pow_tensor", "pow", lambda a, b: a ** b, a=lambda: P(3, 4), b=lambda: R(3, 4))
C("pow_tensor_broadcast", "pow", lambda a, b: torch.pow(a, b), a=lambda: P(2, 3), b=lambda: R(3))
C("pow_tensor_zero_base", "pow", lambda a, b: a ** b,
  a=lambda: torch.tensor([0.0, 0.0, 1.5, 0.5]), b=lambda: torch.tensor([2.0, 0.0, -1.0, 3.0]))
C("pow_scalar_base", "pow", lambda b: 2.5 ** b, b=lambda: R(3, 4))
C("exp", "exp", lambda a: torch.exp(a), a=lambda: R(3, 4))
C("log", "log", lambda a: torch.log(a), a=lambda: P(3, 4, lo=0.05, hi=5.0))
C("sqrt", "sqrt", lambda a: torch.sqrt(a), a=lambda: P(3, 4, lo=0.05, hi=5.0))
C("abs", "abs", lambda a: torch.abs(a), a=lambda: A(3, 4))
C("sin", "sin", lambda a: torch.sin(a), a=lambda: 3 * R(3, 4))
C("cos", "cos", lambda a: torch.cos(a), a=lambda: 3 * R(3, 4))
C("square", "square", lambda a: torch.square(a), a=lambda: R(3, 4))
C("relu", "relu", lambda a: torch.relu(a), a=lambda: A(3, 4))
C("sigmoid", "sigmoid", lambda a: torch.sigmoid(a), a=lambda: 3 * R(3, 4))
C("sigmoid_saturated", "sigmoid", lambda a: torch.sigmoid(a),
  a=lambda: torch.tensor([-30.0, -15.0, -5.0, 0.0, 5.0, 15.0, 30.0]))
C("tanh", "tanh", lambda a: torch.tanh(a), a=lambda: 2 * R(3, 4))
C("gelu", "gelu", lambda a: F.gelu(a), a=lambda: 2 * R(3, 4))
C("gelu_tanh", "gelu", lambda a: F.gelu(a, approximate="tanh"), a=lambda: 2 * R(3, 4))
C("clamp_both", "clamp", lambda a: torch.clamp(a, min=-0.5, max=0.5), a=lambda: A(3, 4))
C("clamp_min", "clamp", lambda a: torch.clamp(a, min=-0.3), a=lambda: A(3, 4))
C("clamp_max", "clamp", lambda a: a.clamp(max=0.4), a=lambda: A(3, 4))
C("maximum", "maximum", lambda a, b: torch.maximum(a, b), a=lambda: R(3, 4), b=lambda: R(3, 4))
C("maximum_broadcast", "maximum", lambda a, b: torch.maximum(a, b), a=lambda: R(2, 3, 4), b=lambda: R(4))
C("maximum_ties", "maximum", lambda a, b: torch.maximum(a, b), a=lambda: D(4, 5), b=lambda: D(4, 5))
C("minimum", "minimum", lambda a, b: torch.minimum(a, b), a=lambda: R(3, 4), b=lambda: R(3, 1))
C("minimum_ties", "minimum", lambda a, b: torch.minimum(a, b), a=lambda: D(4, 5), b=lambda: D(4, 5))
C("where", "where", lambda c, a, b: torch.where(c, a, b), c=lambda: M(3, 4), a=lambda: R(3, 4), b=lambda: R(3, 4))
C("where_broadcast", "where", lambda c, a, b: torch.where(c, a, b), c=lambda: M(3, 1), a=lambda: R(3, 4),
  b=lambda: R(4))
C("masked_fill", "masked_fill", lambda a, m: a.masked_fill(m, -1.5), a=lambda: R(3, 4), m=lambda: M(3, 4))
C("masked_fill_broadcast", "masked_fill", lambda a, m: torch.masked_fill(a, m, 2.0), a=lambda: R(2, 3, 4),
  m=lambda: M(4))
# forward only: no gradient flows through these
C("sign", "sign", lambda a: torch.sign(a), a=lambda: const(D(3, 4)))
C("compare", "eq,ne,lt,le,gt,ge", lambda a, b: (a == b, a != b, a < b, a <= b, a > b, a >= b),
  a=lambda: const(D(3, 4)), b=lambda: const(D(4)))
C("logical", "operator&,operator|,operator!", lambda m, n: (m & n, m | n, ~m), m=lambda: M(3, 4), n=lambda: M(4))

# ============================ reductions ============================
C("sum_all", "sum", lambda a: a.sum(), a=lambda: R(3, 4, 5))
C("sum_dim", "sum", lambda a: a.sum(1), a=lambda: R(3, 4, 5))
C("sum_neg_dim", "sum", lambda a: a.sum(-1), a=lambda: R(3, 4, 5))
C("sum_dims_keepdim", "sum", lambda a: a.sum((0, 2), keepdim=True), a=lambda: R(3, 4, 5))
C("sum_dims", "sum", lambda a: torch.sum(a, (2, 0)), a=lambda: R(3, 4, 5))
C("mean_all", "mean", lambda a: a.mean(), a=lambda: R(3, 4, 5))
C("mean_dim_keepdim", "mean", lambda a: a.mean(1, keepdim=True), a=lambda: R(3, 4, 5))
C("mean_dims", "mean", lambda a: torch.mean(a, (0, -1)), a=lambda: R(3, 4, 5))
C("var_all", "var", lambda a: a.var(), a=lambda: R(4, 5))
C("var_dim", "var", lambda a: a.var(1), a=lambda: R(4, 5))
C("var_dim_keepdim_biased", "var", lambda a: torch.var(a, 0, unbiased=False, keepdim=True), a=lambda: R(4, 5))
C("var_dims", "var", lambda a: a.var((0, 2)), a=lambda: R(3, 4, 5))
C("std_all", "std", lambda a: a.std(), a=lambda: R(4, 5))
C("std_dim_keepdim", "std", lambda a: a.std(-1, keepdim=True), a=lambda: R(4, 5))
C("std_dim_biased", "std", lambda a: torch.std(a, 1, unbiased=False), a=lambda: R(4, 5))
C("max_all", "max", lambda a: a.max(), a=lambda: R(3, 4))
C("max_all_ties", "max", lambda a: a.max(), a=lambda: D(4, 5))
C("min_all", "min", lambda a: torch.min(a), a=lambda: R(3, 4))
C("min_all_ties", "min", lambda a: a.min(), a=lambda: D(4, 5))
C("max_dim", "max", lambda a: a.max(1), a=lambda: R(3, 4, 5))
C("max_dim_keepdim", "max", lambda a: torch.max(a, 0, keepdim=True), a=lambda: R(3, 4))
C("min_dim", "min", lambda a: a.min(-1), a=lambda: R(3, 4, 5))
C("min_dim_keepdim", "min", lambda a: torch.min(a, 1, keepdim=True), a=lambda: R(3, 4))
C("argmax_argmin", "argmax,argmin",
  lambda a: (a.argmax(), a.argmin(), a.argmax(1), a.argmin(0, keepdim=True)), a=lambda: const(R(3, 4)))
C("softmax_last", "softmax", lambda a: torch.softmax(a, -1), a=lambda: R(3, 5))
C("softmax_dim0", "softmax", lambda a: a.softmax(0), a=lambda: R(3, 4, 5))
C("softmax_middle", "softmax", lambda a: torch.softmax(a, 1), a=lambda: 3 * R(2, 4, 3))
C("softmax_large", "softmax", lambda a: torch.softmax(a, 1), a=lambda: 1e4 + 5 * R(3, 6))
C("log_softmax_last", "log_softmax", lambda a: torch.log_softmax(a, -1), a=lambda: R(3, 5))
C("log_softmax_dim0", "log_softmax", lambda a: a.log_softmax(0), a=lambda: R(4, 3, 2))
C("log_softmax_large", "log_softmax", lambda a: torch.log_softmax(a, 1), a=lambda: 1e4 + 5 * R(3, 6))
C("log_softmax_large_neg", "log_softmax", lambda a: torch.log_softmax(a, 0), a=lambda: -1e4 + R(6, 2))

# ============================ matmul ============================
C("matmul_dot", "matmul", lambda a, b: a @ b, a=lambda: R(5), b=lambda: R(5))
C("matmul_mv", "matmul", lambda a, b: a @ b, a=lambda: R(3, 5), b=lambda: R(5))
C("matmul_vm", "matmul", lambda a, b: torch.matmul(a, b), a=lambda: R(5), b=lambda: R(5, 4))
C("matmul_mm", "matmul", lambda a, b: a @ b, a=lambda: R(3, 5), b=lambda: R(5, 4))
C("matmul_mm_blas", "matmul", lambda a, b: a @ b, a=lambda: R(20, 30), b=lambda: R(30, 25))
C("matmul_mm_ta", "matmul", lambda a, b: a.t() @ b, a=lambda: R(5, 3), b=lambda: R(5, 4))
C("matmul_mm_tb", "matmul", lambda a, b: a @ b.t(), a=lambda: R(3, 5), b=lambda: R(4, 5))
C("matmul_mm_tab_blas", "matmul", lambda a, b: a.t() @ b.t(), a=lambda: R(30, 20), b=lambda: R(25, 30))
C("matmul_bmm", "matmul", lambda a, b: a @ b, a=lambda: R(2, 3, 5), b=lambda: R(2, 5, 4))
C("matmul_batch_broadcast", "matmul", lambda a, b: a @ b, a=lambda: R(2, 1, 3, 5), b=lambda: R(4, 5, 6))
C("matmul_batch_2d", "matmul", lambda a, b: a @ b, a=lambda: R(3, 4, 5), b=lambda: R(5, 2))
C("matmul_2d_batch", "matmul", lambda a, b: a @ b, a=lambda: R(3, 5), b=lambda: R(2, 5, 4))
C("matmul_1d_batch", "matmul", lambda a, b: a @ b, a=lambda: R(5), b=lambda: R(2, 5, 4))
C("matmul_batch_1d", "matmul", lambda a, b: a @ b, a=lambda: R(2, 3, 5), b=lambda: R(5))
C("matmul_batch_transposed", "matmul", lambda a, b: a.mT @ b.transpose(-1, -2), a=lambda: R(2, 5, 3),
  b=lambda: R(2, 4, 5))
C("matmul_batch_blas", "matmul", lambda a, b: a @ b, a=lambda: R(3, 16, 20), b=lambda: R(20, 24))
C("matmul_batch_broadcast_blas_t", "matmul", lambda a, b: a @ b.mT, a=lambda: R(2, 1, 12, 20),
  b=lambda: R(3, 16, 20))
C("linear", "linear", lambda x, w, b: F.linear(x, w, b), x=lambda: R(4, 5), w=lambda: R(3, 5), b=lambda: R(3))
C("linear_no_bias_3d", "linear", lambda x, w: F.linear(x, w), x=lambda: R(2, 4, 5), w=lambda: R(3, 5))
C("linear_blas", "linear", lambda x, w, b: F.linear(x, w, b), x=lambda: R(16, 20), w=lambda: R(24, 20),
  b=lambda: R(24))
C("mm", "mm", lambda a, b: torch.mm(a, b), a=lambda: R(4, 6), b=lambda: R(6, 3))
C("dot", "dot", lambda a, b: torch.dot(a, b), a=lambda: R(7), b=lambda: R(7))
C("lstsq", "lstsq", lambda a, b: torch.linalg.lstsq(a, b).solution,
  a=lambda: const(torch.eye(6, 3) * 3 + 0.3 * R(6, 3)), b=lambda: const(R(6, 2)))
C("lstsq_vector", "lstsq", lambda a, b: torch.linalg.lstsq(a, b.unsqueeze(1)).solution.squeeze(1),
  a=lambda: const(torch.eye(5, 4) * 2 + 0.3 * R(5, 4)), b=lambda: const(R(5)))

# ============================ shapes and views ============================
C("view", "view", lambda a: a.view(6, 4), a=lambda: R(2, 3, 4))
C("view_infer", "view", lambda a: a.view(-1, 3), a=lambda: R(2, 3, 4))
C("reshape_noncontiguous", "reshape,t", lambda a: a.t().reshape(-1), a=lambda: R(3, 4))
C("reshape_0d", "reshape", lambda a: a.reshape(()), a=lambda: R(1, 1))
C("transpose", "transpose", lambda a: a.transpose(0, 2), a=lambda: R(2, 3, 4))
C("permute", "permute", lambda a: a.permute(2, 0, 1), a=lambda: R(2, 3, 4))
C("unsqueeze", "unsqueeze", lambda a: a.unsqueeze(1), a=lambda: R(3, 4))
C("unsqueeze_neg", "unsqueeze", lambda a: a.unsqueeze(-1), a=lambda: R(3, 4))
C("squeeze_all", "squeeze", lambda a: a.squeeze(), a=lambda: R(3, 1, 4, 1))
C("squeeze_dim", "squeeze", lambda a: a.squeeze(1), a=lambda: R(3, 1, 4))
C("squeeze_dim_noop", "squeeze", lambda a: a.squeeze(0), a=lambda: R(3, 1, 4))
C("flatten", "flatten", lambda a: a.flatten(), a=lambda: R(2, 3, 4))
C("flatten_range", "flatten", lambda a: a.flatten(1, 2), a=lambda: R(2, 3, 4, 2))
C("narrow", "narrow", lambda a: a.narrow(1, 1, 2), a=lambda: R(3, 4))
C("narrow_neg_start", "narrow", lambda a: a.narrow(0, -2, 2), a=lambda: R(5, 2))
C("select", "select", lambda a: a.select(0, 1), a=lambda: R(3, 4))
C("select_neg", "select", lambda a: a.select(-1, -2), a=lambda: R(2, 3, 4))
C("expand", "expand", lambda a: a.expand(2, 3, 4), a=lambda: R(3, 1))
C("expand_infer", "expand", lambda a: a.expand(-1, 5), a=lambda: R(3, 1))
C("view_chain", "transpose,narrow,unsqueeze,mul",
  lambda a, b: a.transpose(0, 1).narrow(0, 1, 2).unsqueeze(0) * b, a=lambda: R(3, 4), b=lambda: R(2, 2, 3))
C("select_twice", "select,add", lambda a: a.select(0, 0) + 2 * a.select(0, 2), a=lambda: R(3, 4))
C("cat_dim0", "cat", lambda a, b: torch.cat([a, b], 0), a=lambda: R(2, 3), b=lambda: R(4, 3))
C("cat_dim1_three", "cat", lambda a, b, c: torch.cat([a, b, c], 1), a=lambda: R(2, 1), b=lambda: R(2, 3),
  c=lambda: R(2, 2))
C("cat_neg_dim_reuse", "cat", lambda a, b: torch.cat([a, b, a], -1), a=lambda: R(2, 3, 2), b=lambda: R(2, 3, 1))
C("stack_dim0", "stack", lambda a, b: torch.stack([a, b]), a=lambda: R(2, 3), b=lambda: R(2, 3))
C("stack_dim1", "stack", lambda a, b, c: torch.stack([a, b, c], 1), a=lambda: R(2, 3), b=lambda: R(2, 3),
  c=lambda: R(2, 3))
C("stack_last", "stack", lambda a, b: torch.stack([a, b], -1), a=lambda: R(4), b=lambda: R(4))

# ============================ indexing ============================
C("index_select_dim0", "index_select", lambda a, i: torch.index_select(a, 0, i), a=lambda: R(4, 3),
  i=lambda: torch.tensor([3, 0, 3, 1, 3]))
C("index_select_dim1", "index_select", lambda a, i: a.index_select(1, i), a=lambda: R(2, 5, 3), i=lambda: I(5, 4))
C("gather_dim1", "gather", lambda a, i: torch.gather(a, 1, i), a=lambda: R(3, 4), i=lambda: I(4, 3, 6))
C("gather_dim0", "gather", lambda a, i: a.gather(0, i), a=lambda: R(4, 3), i=lambda: I(4, 2, 3))
C("gather_3d", "gather", lambda a, i: torch.gather(a, -1, i), a=lambda: R(2, 3, 4), i=lambda: I(4, 2, 2, 3))
C("scatter_add_dim0", "scatter_add", lambda a, i, s: torch.scatter_add(a, 0, i, s), a=lambda: R(3, 4),
  i=lambda: I(3, 5, 4), s=lambda: R(5, 4))
C("scatter_add_dim1", "scatter_add", lambda a, i, s: a.scatter_add(1, i, s), a=lambda: R(2, 5), i=lambda: I(5, 2, 3),
  s=lambda: R(2, 3))
C("index_add_dim0", "index_add", lambda a, i, s: torch.index_add(a, 0, i, s), a=lambda: R(4, 3),
  i=lambda: torch.tensor([2, 0, 2]), s=lambda: R(3, 3))
C("index_add_dim1", "index_add", lambda a, i, s: a.index_add(1, i, s), a=lambda: R(2, 4, 3), i=lambda: I(4, 5),
  s=lambda: R(2, 5, 3))

# ============================ composites ============================
C("mlp_cross_entropy", "matmul,add,relu,log_softmax,gather,mean",
  lambda x, w1, b1, w2, b2, t: F.cross_entropy(torch.relu(x @ w1 + b1) @ w2 + b2, t),
  x=lambda: const(R(8, 5)), w1=lambda: 0.5 * R(5, 16), b1=lambda: 0.1 * R(16), w2=lambda: 0.3 * R(16, 3),
  b2=lambda: 0.1 * R(3), t=lambda: I(3, 8))
C("mlp_tanh_mse", "matmul,tanh,sub,pow,mean",
  lambda x, w1, b1, w2, y: ((torch.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean(),
  x=lambda: R(6, 4), w1=lambda: 0.5 * R(4, 8), b1=lambda: 0.1 * R(8), w2=lambda: 0.3 * R(8, 2),
  y=lambda: const(R(6, 2)))
C("bce_with_logits", "sigmoid,log,mul,sub,mean",
  lambda z, y: -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z))).mean(),
  z=lambda: 2 * R(10), y=lambda: const((torch.rand(10, generator=_gen) < 0.5).float()))
C("layer_norm", "mean,var,sub,div,sqrt,mul,add",
  lambda x, w, b: F.layer_norm(x, (6,), w, b, eps=1e-5), x=lambda: R(4, 6), w=lambda: 1 + 0.1 * R(6),
  b=lambda: 0.1 * R(6))
C("attention", "matmul,transpose,div,softmax",
  lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1) @ v, q=lambda: R(2, 4, 8),
  k=lambda: R(2, 5, 8), v=lambda: R(2, 5, 3))
C("reuse_accumulate", "mul,exp,add,sin",
  lambda x: x * x + torch.exp(x) * torch.sin(x) + x, x=lambda: R(3, 3))
C("normalize_rows", "abs,sum,div,clamp", lambda x: x / x.abs().sum(1, keepdim=True).clamp(min=1e-3),
  x=lambda: R(4, 5))
C("logsumexp_manual", "max,exp,sum,log,sub,add",
  lambda x: (x - x.max(1, keepdim=True)[0]).exp().sum(1).log() + x.max(1)[0], x=lambda: 3 * R(4, 6))
C("inplace_on_nonleaf", "mul,inplace_update", lambda a, b: (a * 2).add_(b).mul_(b), a=lambda: R(3, 4),
  b=lambda: R(4))


# ---- coverage: every function declared in ops/*.hpp should be named by some case ----
def declared_ops():
    ops_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ops")
    names = set()
    for fn in sorted(os.listdir(ops_dir)):
        if fn.endswith(".hpp"):
            with open(os.path.join(ops_dir, fn)) as f:
                for m in re.finditer(r"^(?:Tensor|TensorList|std::vector<Tensor>|std::tuple<[\w, ]+>)&? (\w+)\(",
                                     f.read(), re.M):
                    names.add(m.group(1))
    return names - {"wrap_scalar", "result_type"}  # helpers, not ops


# ---- running the cases ----
def fmt(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.float32:
        return "f32", ["%.9g" % v for v in t.tolist()]
    if t.dtype == torch.int64:
        return "i64", ["%d" % v for v in t.tolist()]
    if t.dtype == torch.bool:
        return "bool", ["1" if v else "0" for v in t.tolist()]
    raise TypeError(f"unsupported dtype {t.dtype}")


def line(role, t):
    dt, vals = fmt(t)
    return " ".join(["tensor", role, dt, str(t.dim())] + [str(s) for s in t.shape] + vals)


def run_case(name, ops, fn, specs):
    seed(name)
    inputs = []  # (name, tensor, requires_grad)
    for arg, make in specs.items():
        v = make()
        rg = not isinstance(v, const) and v.is_floating_point()
        t = (v.t if isinstance(v, const) else v).detach().clone()
        inputs.append((arg, t.requires_grad_(rg), rg))
    outs = fn(**{n: t for n, t, _ in inputs})
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    lines = [f"case {name} {ops}"]
    lines += [line(f"input:{n}", t) for n, t, _ in inputs]
    lines += [line(f"output:{k}", o) for k, o in enumerate(outs)]
    roots, gouts = [], []
    for k, o in enumerate(outs):
        if o.requires_grad:
            g = torch.randn(o.shape, generator=_gen)
            roots.append(o)
            gouts.append(g)
            lines.append(line(f"gout:{k}", g))
    if roots:
        torch.autograd.backward(roots, gouts)
    for n, t, rg in inputs:
        if rg:
            if t.grad is None:
                raise RuntimeError(f"case {name}: input {n} requires grad but got no gradient")
            lines.append(line(f"grad:{n}", t.grad))
    return lines


def main():
    names = [c[0] for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit(f"gen_ops_ref.py: duplicate case names {sorted(dup)}")
    out = [f"# made by tests/parity/gen_ops_ref.py; read by tests/parity/test_parity_ops.cpp",
           f"torch {torch.__version__}"]
    for name, ops, fn, specs in CASES:
        out += run_case(name, ops, fn, specs)
    covered = {op for _, ops, _, _ in CASES for op in ops.split(",")}
    missing = sorted(declared_ops() - covered)
    if missing:  # a warning (here and in the C++ test's output), not an error: a new op should get a
        # case here, but adding an op must not break the build of whoever adds it
        print(f"gen_ops_ref.py: WARNING: no parity case names these ops of ops/*.hpp: {', '.join(missing)}",
              file=sys.stderr)
        out.append(f"uncovered {','.join(missing)}")
    out.append(f"end {len(CASES)}")

    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    tmp = OUT_PATH + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, OUT_PATH)
    print(f"gen_ops_ref.py: torch {torch.__version__}: {len(CASES)} cases -> {OUT_PATH}")


if __name__ == "__main__":
    main()
