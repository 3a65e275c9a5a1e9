"""A hand-written safetensors reader and writer for the parity tests of nn/safetensors.cpp.

The `safetensors` Python package is not packaged for Debian 12, so the format is spelled out here
with struct + json: 8-byte little-endian header length N, N bytes of JSON header
{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}
padded with spaces to a multiple of 8, then the byte buffer (offsets relative to its start).

Imported by gen_safetensors_ref.py and check_safetensors_from_ctorch.py; run with /usr/bin/python3
(the interpreter that has torch).
"""
import json
import struct
import sys

try:
    import torch
except ImportError:  # fail loudly: the C++ test turns a non-zero exit into a failure
    sys.stderr.write("safetensors parity: PyTorch is not importable from %s; run with /usr/bin/python3\n"
                     % sys.executable)
    sys.exit(3)

if sys.byteorder != "little":
    sys.exit("safetensors parity: these scripts assume a little-endian host")

MAX_HEADER = 100_000_000

DTYPES = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "F16": torch.float16,
    "BF16": torch.bfloat16, "I32": torch.int32, "F32": torch.float32, "F64": torch.float64, "I64": torch.int64,
}
NAMES = {v: k for k, v in DTYPES.items()}
# Position in the reference implementation's Dtype enum (increasing alignment).
RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "U16": 6, "F16": 7, "BF16": 8, "I32": 9, "U32": 10,
        "F32": 11, "F64": 12, "I64": 13, "U64": 14}
# A same-size integer dtype that numpy understands, to get at the raw bytes of any dtype.
_BYTES_VIEW = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.bool: torch.uint8}


def tensor_bytes(t):
    """The row-major little-endian bytes of t."""
    t = t.detach().contiguous()
    if t.dtype in _BYTES_VIEW:
        t = t.view(_BYTES_VIEW[t.dtype])
    return t.numpy().tobytes()


def bits(t):
    """t reinterpreted as same-size integers: compares floats bit for bit (NaN payloads, -0.0)."""
    t = t.detach().contiguous()
    view = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
            torch.float64: torch.int64}.get(t.dtype)
    return t.view(view) if view is not None else t


def write(path, tensors, metadata=None):
    """tensors: list of (name, tensor). The data is laid out in list order while the header keys are
    sorted (json.dumps(sort_keys=True), default separators with spaces, non-ASCII as \\u escapes), so the
    header order differs from the data order: a reader must go by the offsets."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        b = tensor_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


class FormatError(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise FormatError("duplicate key %r" % k)
        seen[k] = v
    return seen


def read(path):
    """Returns (tensors: dict name -> torch tensor, metadata or None, raw info) after checking the
    layout rules. raw info: header length, header text, key order of the header."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError("file shorter than 8 bytes")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > MAX_HEADER or 8 + n > len(data):
        raise FormatError("bad header length %d" % n)
    text = data[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise FormatError("header does not start with '{'")
    order = []

    def hook(pairs):
        order.append([k for k, _ in pairs])
        return _no_duplicates(pairs)

    header = json.loads(text, object_pairs_hook=hook)
    top_keys = order[-1]
    metadata = header.pop("__metadata__", None)
    buf = data[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    cursor = 0
    tensors = {}
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != cursor or end < begin:
            raise FormatError("tensor %r: offsets %r do not follow %d" % (name, info["data_offsets"], cursor))
        dt = DTYPES[info["dtype"]]
        shape = info["shape"]
        numel = 1
        for d in shape:
            numel *= d
        if (end - begin) != numel * torch.empty((), dtype=dt).element_size():
            raise FormatError("tensor %r: size mismatch" % name)
        raw = buf[begin:end]
        if numel == 0:
            t = torch.empty(shape, dtype=dt)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=dt).reshape(shape).clone()
        tensors[name] = t
        cursor = end
    if cursor != len(buf):
        raise FormatError("tensors cover %d of %d buffer bytes" % (cursor, len(buf)))
    return tensors, metadata, {"n": n, "text": text, "keys": top_keys}
