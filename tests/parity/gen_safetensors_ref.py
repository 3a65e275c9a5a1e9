#!/usr/bin/python3
"""Writes safetensors files from real PyTorch for tests/test_safetensors.cpp.

    /usr/bin/python3 tests/parity/gen_safetensors_ref.py OUT_DIR

OUT_DIR/torch_ref.safetensors           tensors of every dtype torch 1.13 has (F16, BF16, I8, U8, I16,
                                         I32 included), written by the hand-made writer in
                                         safetensors_io.py; data in the order of TENSORS below, header
                                         keys sorted, metadata with escapes and non-ASCII text.
OUT_DIR/torch_ref_expected.safetensors  the same tensors converted by torch to the dtype ctorch loads
                                         them as (F16/BF16 -> float32, small integers -> int64).

The C++ test loads both with ctorch::load_safetensors and compares them bit for bit, and also checks
a few values literally. Exits non-zero (loudly) when torch is missing.
"""
import math
import os
import sys

from safetensors_io import torch, write

METADATA = {
    "format": "pt",
    "producer": "gen_safetensors_ref.py",
    "unicode": "na\u00efve \u2603 \U0001F600",
    "escapes": "tab\there \"quoted\" back\\slash\nnewline \u0001",
}


def tensors():
    torch.manual_seed(0)
    nan, inf = math.nan, math.inf
    f16, bf16 = torch.float16, torch.bfloat16
    return [
        ("f32_randn_4d", torch.randn(2, 3, 4, 5)),
        ("f64_rand", torch.rand(3, 4, dtype=torch.float64)),
        ("i64_extremes", torch.tensor([-2**63, 2**63 - 1, 0, -1, 2**53 + 1], dtype=torch.int64)),
        ("bool_mask", torch.rand(4, 4) > 0.5),
        ("f32_scalar", torch.tensor(3.25)),
        ("f32_empty", torch.zeros(0, 3)),
        ("f32_transposed", torch.arange(12.0).reshape(3, 4).t()),  # non-contiguous: written row-major
        ("f32_special", torch.tensor([nan, inf, -inf, -0.0, 1e-45, 3.4e38])),
        ("f16_randn", torch.randn(3, 5).to(f16)),
        ("f16_special", torch.tensor([1.0, -2.5, 65504.0, 2.0**-24, 1023 * 2.0**-24, 2.0**-14, -0.0, inf, -inf, nan],
                                     dtype=f16)),
        ("bf16_randn", torch.randn(4, 3).to(bf16)),
        ("bf16_special", torch.tensor([1.0, -2.5, 2.0**-133, 3.3895313892515355e38, inf, nan], dtype=bf16)),
        ("i32", torch.tensor([-2**31, 2**31 - 1, 0, -7, 123456789], dtype=torch.int32)),
        ("i16", torch.tensor([[-32768, 32767], [0, -1]], dtype=torch.int16)),
        ("i8", torch.tensor([-128, 127, 0, -1], dtype=torch.int8)),
        ("u8", torch.tensor([0, 255, 128, 1], dtype=torch.uint8)),
        ("layer.0.weight", torch.randn(4, 3)),
        ("unicod\u00e9 \u540d\u524d", torch.tensor([1.5, -2.5])),
        ("quote\"back\\slash", torch.tensor([7], dtype=torch.int64)),
    ]


def as_ctorch(t):
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.to(torch.float32)
    if t.dtype in (torch.int8, torch.uint8, torch.int16, torch.int32):
        return t.to(torch.int64)
    return t


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_safetensors_ref.py OUT_DIR")
    out = sys.argv[1]
    ts = tensors()
    write(os.path.join(out, "torch_ref.safetensors"), ts, METADATA)
    write(os.path.join(out, "torch_ref_expected.safetensors"), [(n, as_ctorch(t)) for n, t in ts])
    print("gen_safetensors_ref.py: wrote %d tensors (torch %s) to %s" % (len(ts), torch.__version__, out))


if __name__ == "__main__":
    main()
