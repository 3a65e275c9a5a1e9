#!/usr/bin/python3
"""Reference strings for tests/test_format.cpp, from real PyTorch 1.13 (Debian python3-torch).

Run with /usr/bin/python3 (the interpreter that has torch). Prints doctest TEST_CASE blocks;
their output is pasted verbatim at the end of tests/test_format.cpp. Each CHECK rebuilds the
tensor from its storage (dtype, sizes, strides, storage offset, elements) and compares
ctorch::format_tensor with torch's repr.
"""
import math

import torch

nan, inf = float("nan"), float("inf")
f64, i64 = torch.float64, torch.int64


def x2(t):  # a non-leaf tensor with grad_fn=<MulBackward0>
    return t.requires_grad_() * 2


GROUPS = [
    ("float int mode", [
        "torch.tensor([1., 2., 3.])",
        "torch.tensor([[1., 2.], [3., 4.]])",
        "torch.tensor([0., 0.])",
        "torch.tensor([-1., 10., 100.])",
        "torch.tensor([100000000.])",
        "torch.tensor([1., 1001.])",
        "torch.tensor([1e9, 3.])",
    ]),
    ("fixed mode", [
        "torch.tensor([1.5, 2.25, 3.14159265])",
        "torch.tensor([0.1, 0.2, 0.3])",
        "torch.tensor([0.00015, 0.1])",
        "torch.tensor([1.00005, 2.00015, 0.12345, 0.99995])",
        "torch.tensor([0.123456, 12.5, -999.5])",
        "torch.tensor([0.123456, 12.5, -99.5])",
        "torch.tensor([0.125, 0.375, 2.5, 0.625], dtype=f64)",  # exact halves, see precision 2 below
    ]),
    ("sci mode", [
        "torch.tensor([1e-5, 1.0])",
        "torch.tensor([1.5e9, 2.5])",
        "torch.tensor([0.1, 200.5])",
        "torch.tensor([1e-20, 1e20, -3.5e-7])",
        "torch.tensor([1e-100, 1e200, 0.5], dtype=f64)",
        "torch.tensor([[1e-5, 2.], [0., -3.]])",
    ]),
    ("negative numbers", [
        "torch.tensor([-1.5, 2.0, -300.25])",
        "torch.tensor([[-1, 2], [3, -40]])",
        "torch.tensor([-0., 1.])",
        "torch.tensor([-0., 1.5])",
        "torch.tensor(-0.)",
        "torch.tensor([-1e-5, 1.])",
    ]),
    ("nan and inf", [
        "torch.tensor([nan, inf, -inf, 1.5])",
        "torch.tensor([nan, 1., 2.])",
        "torch.tensor([nan, inf])",
        "torch.tensor([inf, 1e-5, -2.])",
        "torch.tensor([1., nan]).neg()",  # -nan still prints as nan
        "torch.tensor([nan, 100., -inf], dtype=f64)",
    ]),
    ("float64", [
        "torch.tensor([1., 2.], dtype=f64)",
        "torch.tensor([0.1, 0.2], dtype=f64)",
        "torch.arange(8, dtype=f64).reshape(2, 2, 2) / 3",
    ]),
    ("int64", [
        "torch.tensor([1, -20, 300])",
        "torch.arange(6).reshape(2, 3)",
        "torch.tensor([0])",
        "torch.tensor([123456789012, -5])",
    ]),
    ("bool", [
        "torch.tensor([True, False, True])",
        "torch.tensor([[True], [False]])",
    ]),
    ("0-d", [
        "torch.tensor(3.)",
        "torch.tensor(3.5)",
        "torch.tensor(-7)",
        "torch.tensor(True)",
        "torch.tensor(1e-6)",
        "torch.tensor(2.5, dtype=f64)",
        "torch.tensor(nan)",
        "torch.tensor(-inf)",
        "torch.tensor(123456789.)",
    ]),
    ("empty", [
        "torch.tensor([])",
        "torch.zeros(0, 3)",
        "torch.zeros(0, dtype=i64)",
        "torch.zeros(2, 0, dtype=f64)",
        "torch.zeros(0, dtype=torch.bool)",
        "torch.zeros(3, 0, 2)",
    ]),
    ("nesting", [
        "torch.arange(24.).reshape(2, 3, 4)",
        "torch.arange(8).reshape(2, 2, 2)",
        "torch.arange(16.).reshape(2, 2, 2, 2) / 4",
        "torch.tensor([[[1.5]]])",
    ]),
    ("non-contiguous views", [
        "torch.arange(6.).reshape(3, 2).t()",
        "torch.arange(12.).reshape(3, 4)[1:, 1:3]",
        "torch.arange(12).reshape(3, 4)[:, ::2]",
        "torch.tensor([1., 2.5]).expand(3, 2)",
    ]),
    ("summarization", [
        "torch.arange(2000.)",
        "torch.arange(10000.).reshape(100, 100)",
        "torch.arange(2000)",
        "torch.arange(2000.).reshape(10, 10, 20)",
        "torch.arange(1200.).reshape(2, 600)",
        "torch.arange(1001.) * 0.25 - 100",
        "torch.arange(2000.) * 1024",
        "torch.ones(1001).index_fill_(0, torch.tensor([500]), 1e10)",  # hidden value: no sci mode
        "torch.ones(1001, dtype=torch.bool).index_fill_(0, torch.tensor([1, 999]), False)",
    ]),
    ("line wrapping", [
        "torch.arange(30.) * 1.5",
        "torch.arange(40)",
        "torch.arange(60.).reshape(2, 30) / 7",
        "torch.linspace(-1, 1, 25)",
        "torch.arange(40.).reshape(2, 1, 20) / 3",
        "torch.logspace(-5, 5, 20)",
        "torch.tensor([True, False] * 20)",
    ]),
    ("autograd suffixes", [
        "torch.tensor([1., 2.], requires_grad=True)",
        "x2(torch.tensor([1., 2.]))",
        "torch.tensor(3., requires_grad=True)",
        "torch.zeros(0, 3, requires_grad=True)",
        "torch.tensor([1., 2.], dtype=f64, requires_grad=True)",
        "torch.tensor([1., 2.], dtype=f64, requires_grad=True) + 1",
        "torch.arange(9., requires_grad=True) / 3",
        "torch.arange(20., requires_grad=True) / 3",
        "torch.arange(9., dtype=f64, requires_grad=True) / 3",
        "torch.tensor([1., 2.], requires_grad=True).sum()",
        "x2(torch.arange(2000.))",
    ]),
]

# (options, expressions): non-default print options.
OPTION_CASES = [
    (dict(precision=2), ["torch.tensor([0.125, 0.375, 2.5, 0.625], dtype=f64)",
                         "torch.tensor([1e-5, 1.0])"]),
    (dict(linewidth=40), ["torch.arange(20.) / 3", "torch.arange(12.).reshape(2, 6) * 1000.5"]),
    (dict(threshold=5), ["torch.arange(10)"]),
    (dict(threshold=5, edgeitems=2), ["torch.arange(36.).reshape(6, 6)"]),
]

CPP_DTYPE = {torch.float32: "kFloat32", torch.float64: "kFloat64", torch.int64: "kInt64",
             torch.bool: "kBool"}
DEFAULT_OPTS = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80)


def cpp_num(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "-NAN" if math.copysign(1, v) < 0 else "NAN"
    if math.isinf(v):
        return "-INFINITY" if v < 0 else "INFINITY"
    return repr(v)


def cpp_storage(vals):
    """A braced list, or iota(n, start, step, {patches}) for long near-arithmetic sequences."""
    if len(vals) <= 100:
        return "{" + ", ".join(cpp_num(v) for v in vals) + "}"
    if isinstance(vals[0], bool):
        vals = [int(v) for v in vals]
    n = len(vals)
    candidates = [(vals[-1] - (n - 1) * (vals[-1] - vals[-2]), vals[-1] - vals[-2]),
                  (vals[0], vals[1] - vals[0]), (vals[n // 2], 0 * vals[0])]
    start, step, patches = min(
        ((a, d, [(i, v) for i, v in enumerate(vals) if v != a + i * d]) for a, d in candidates),
        key=lambda c: len(c[2]))
    assert len(patches) <= 10, "storage is not an arithmetic sequence"
    p = ", ".join("{%d, %s}" % (i, cpp_num(v)) for i, v in patches)
    return "iota(%d, %s, %s, {%s})" % (n, cpp_num(start), cpp_num(step), p)


def cpp_check(expr, opts):
    t = eval(expr)
    text = repr(t)
    assert text == str(t)
    grad_fn = '"%s"' % type(t.grad_fn).__name__ if t.grad_fn is not None else "nullptr"
    d = t.detach()
    args = [CPP_DTYPE[t.dtype],
            "{" + ", ".join(map(str, d.shape)) + "}",
            "{" + ", ".join(map(str, d.stride())) + "}",
            str(d.storage_offset()),
            cpp_storage(d.storage().tolist()),
            "true" if t.requires_grad else "false",
            grad_fn]
    if opts != DEFAULT_OPTS:
        args.append("PrintOptions{%(precision)d, %(threshold)d, %(edgeitems)d, %(linewidth)d}"
                    % opts)
    return "  // %s\n  CHECK(repr(%s) ==\n        R\"py(%s)py\");\n" % (expr, ", ".join(args), text)


def main():
    torch.set_printoptions(profile="default")
    for name, exprs in GROUPS:
        print('TEST_CASE("format_tensor: %s") {' % name)
        print("".join(cpp_check(e, DEFAULT_OPTS) for e in exprs) + "}\n")
    print('TEST_CASE("format_tensor: print options") {')
    for kw, exprs in OPTION_CASES:
        torch.set_printoptions(**kw)
        opts = dict(DEFAULT_OPTS, **kw)
        print("".join(cpp_check(e, opts) for e in exprs), end="")
        torch.set_printoptions(profile="default")
    print("}")


if __name__ == "__main__":
    main()
