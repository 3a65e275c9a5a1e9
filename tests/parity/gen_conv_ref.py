#!/usr/bin/python3
"""Reference data for the "conv parity: ..." cases of tests/test_conv.cpp, from real PyTorch 1.13.

Usage: /usr/bin/python3 tests/parity/gen_conv_ref.py OUT_FILE   (a safetensors file)
CTest runs it as the fixture `conv_parity_reference`; test_conv.cpp runs it itself when the file is
missing. Tensors, for every case <c> (its kind is the name's prefix: conv_, maxpool_, avgpool_, adaptive_):
    <c>/x, <c>/w, <c>/b      float32 inputs (w, b only for conv; b absent for bias=False)
    <c>/params               int64: conv [sh, sw, ph, pw, dh, dw]; maxpool/avgpool [kh, kw, sh, sw, ph, pw,
                             count_include_pad]; adaptive [oh, ow]
    <c>/out, <c>/gout        torch's output and the upstream gradient given to backward
    <c>/gx, <c>/gw, <c>/gb   torch's gradients
and init/<i>/{weight,bias,args} for nn.Conv2d built right after torch.manual_seed(seed):
    args = int64 [seed, in, out, kh, kw, bias]; weight/bias must match bit for bit.
The file is removed first and written last, so a failed run leaves no stale file.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if len(sys.argv) != 2:
    sys.exit("usage: gen_conv_ref.py OUT_FILE")
OUT = sys.argv[1]
if os.path.exists(OUT):
    os.remove(OUT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors_io  # noqa: E402

torch.manual_seed(1234)
tensors = []


def add(name, t):
    tensors.append((name, t.detach().contiguous()))


def run(case, inputs, fn, params):
    """inputs: list of (name, tensor or None); fn(*tensors) -> output."""
    ts = []
    for name, t in inputs:
        if t is None:
            ts.append(None)
            continue
        t = t.clone().requires_grad_(True)
        add(f"{case}/{name}", t)
        ts.append(t)
    out = fn(*ts)
    gout = torch.randn_like(out)
    out.backward(gout)
    add(f"{case}/params", torch.tensor(params, dtype=torch.int64))
    add(f"{case}/out", out)
    add(f"{case}/gout", gout)
    for (name, _), t in zip(inputs, ts):
        if t is not None:
            add(f"{case}/g{name}", t.grad)


def conv(case, x, w, b, stride, padding, dilation=(1, 1)):
    run(case, [("x", x), ("w", w), ("b", b)],
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation),
        [stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]])


r = torch.randn
conv("conv_basic", r(2, 3, 7, 6), r(4, 3, 3, 2), r(4), (1, 1), (0, 0))
conv("conv_stride_pad", r(2, 3, 7, 6), r(4, 3, 3, 2), r(4), (2, 1), (1, 0))
conv("conv_mnist_layer", r(3, 1, 28, 28), r(16, 1, 3, 3), r(16), (2, 2), (1, 1))
conv("conv_nobias", r(2, 16, 14, 14), r(10, 16, 3, 3), None, (2, 2), (1, 1))
conv("conv_dilation", r(1, 2, 9, 8), r(3, 2, 3, 2), r(3), (1, 2), (2, 1), (2, 3))
conv("conv_1x1", r(2, 5, 4, 4), r(6, 5, 1, 1), r(6), (1, 1), (0, 0))


def pool(case, x, k, s, p, cip, maxpool):
    if maxpool:
        fn = lambda x: F.max_pool2d(x, k, s, p)  # noqa: E731
    else:
        fn = lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=cip)  # noqa: E731
    run(case, [("x", x)], fn, [k[0], k[1], s[0], s[1], p[0], p[1], int(cip)])


pool("maxpool_2", r(2, 3, 8, 8), (2, 2), (2, 2), (0, 0), True, True)
pool("maxpool_3s2p1", r(2, 3, 9, 7), (3, 3), (2, 2), (1, 1), True, True)
pool("maxpool_rect", r(1, 2, 7, 9), (2, 3), (1, 2), (1, 1), True, True)
pool("avgpool_2", r(2, 3, 8, 8), (2, 2), (2, 2), (0, 0), True, False)
pool("avgpool_3s2p1", r(2, 3, 9, 7), (3, 3), (2, 2), (1, 1), True, False)
pool("avgpool_3s2p1_nopad", r(2, 3, 9, 7), (3, 3), (2, 2), (1, 1), False, False)
pool("avgpool_rect", r(1, 2, 7, 9), (2, 3), (1, 2), (1, 1), True, False)

for case, x, o in [("adaptive_3x4", r(2, 3, 7, 9), (3, 4)), ("adaptive_1", r(2, 10, 4, 4), (1, 1)),
                   ("adaptive_up", r(1, 2, 3, 5), (5, 7)), ("adaptive_mnist", r(4, 10, 4, 4), (1, 1))]:
    run(case, [("x", x)], lambda x: F.adaptive_avg_pool2d(x, o), list(o))

for i, (seed, cin, cout, kh, kw, bias) in enumerate([(0, 1, 16, 3, 3, 1), (42, 16, 10, 3, 3, 1), (7, 3, 8, 3, 5, 0),
                                                     (123, 4, 2, 1, 1, 1)]):
    torch.manual_seed(seed)
    m = torch.nn.Conv2d(cin, cout, (kh, kw), bias=bool(bias))
    add(f"init/{i}/args", torch.tensor([seed, cin, cout, kh, kw, bias], dtype=torch.int64))
    add(f"init/{i}/weight", m.weight)
    if bias:
        add(f"init/{i}/bias", m.bias)

tmp = OUT + ".tmp"
safetensors_io.write(tmp, tensors, {"torch": torch.__version__})
os.replace(tmp, OUT)
