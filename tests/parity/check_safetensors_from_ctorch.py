#!/usr/bin/python3
"""Reads a file written by ctorch::save_safetensors and checks it against PyTorch.

    /usr/bin/python3 tests/parity/check_safetensors_from_ctorch.py FILE

FILE is written by the test "safetensors: a file written by ctorch reads back in PyTorch" in
tests/test_safetensors.cpp; EXPECTED below rebuilds the same tensors with torch (keep the two in
sync). Checks the values bit for bit, the metadata, and the layout the reference implementation
produces: compact JSON, "__metadata__" first, tensors by decreasing dtype alignment then name, data
in that order, header padded with spaces to a multiple of 8. Prints OK and exits 0, or prints every
mismatch and exits 1.
"""
import json
import math
import sys

from safetensors_io import RANK, NAMES, bits, read, torch

EXPECTED_METADATA = {
    "format": "pt",
    "note": "quote \" backslash \\ newline \n tab \t ctrl \u0001 del \u007f",
    "unicode": "na\u00efve \u2603 \U0001F600",
    "": "empty key",
}


def expected():
    f32, f64, i64 = torch.float32, torch.float64, torch.int64
    return {
        "weight": (torch.arange(120, dtype=f32) * 0.25 - 7).reshape(2, 3, 4, 5),
        "weight_t": torch.arange(12, dtype=f32).reshape(3, 4).t(),
        "stepped": torch.arange(20, dtype=i64)[1::3],
        "scalar": torch.tensor(1.0 / 3.0, dtype=f64),
        "empty": torch.zeros(0, 3, dtype=f32),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        "big_ints": torch.tensor([-2**63, 2**63 - 1, 0, -1, 2**53 + 1], dtype=i64),
        "grad_param": torch.tensor([0.5, -1.5, 2.25], dtype=f32),
        "f64_special": torch.tensor([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308], dtype=f64),
        "expanded": torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(3, 4),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_safetensors_from_ctorch.py FILE")
    errors = []
    tensors, metadata, raw = read(sys.argv[1])
    want = expected()

    if metadata != EXPECTED_METADATA:
        errors.append("metadata %r != %r" % (metadata, EXPECTED_METADATA))
    if set(tensors) != set(want):
        errors.append("names %r != %r" % (sorted(tensors), sorted(want)))
    for name, w in want.items():
        t = tensors.get(name)
        if t is None:
            continue
        if t.dtype != w.dtype or t.shape != w.shape:
            errors.append("%s: %s %s, expected %s %s" % (name, t.dtype, list(t.shape), w.dtype, list(w.shape)))
        elif not torch.equal(bits(t), bits(w)):
            errors.append("%s: values differ:\n  got      %s\n  expected %s" % (name, t, w))

    # The reference layout, byte for byte.
    order = sorted(want, key=lambda n: (-RANK[NAMES[want[n].dtype]], n.encode("utf-8")))
    if raw["keys"] != ["__metadata__"] + order:
        errors.append("header key order %r, expected %r" % (raw["keys"], ["__metadata__"] + order))
    if raw["n"] % 8 != 0:
        errors.append("header length %d is not a multiple of 8" % raw["n"])
    # ctorch writes the metadata sorted by key (a std::map); the reference leaves its order unspecified.
    sorted_metadata = dict(sorted(EXPECTED_METADATA.items(), key=lambda kv: kv[0].encode("utf-8")))
    header, offset = {"__metadata__": sorted_metadata}, 0
    for name in order:
        w = want[name]
        size = w.numel() * w.element_size()
        header[name] = {"dtype": NAMES[w.dtype], "shape": list(w.shape), "data_offsets": [offset, offset + size]}
        offset += size
    compact = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
    padded = compact + " " * (-len(compact.encode("utf-8")) % 8)
    if raw["text"] != padded:
        errors.append("header text differs from the reference layout:\n  got      %r\n  expected %r"
                      % (raw["text"], padded))

    if errors:
        print("check_safetensors_from_ctorch.py: %d mismatch(es) in %s" % (len(errors), sys.argv[1]))
        for e in errors:
            print("  - " + e)
        sys.exit(1)
    print("check_safetensors_from_ctorch.py: OK (%d tensors, torch %s)" % (len(tensors), torch.__version__))


if __name__ == "__main__":
    main()
