#!/usr/bin/python3
"""Reference data for the "transformer parity: ..." cases of tests/test_transformer.cpp, from real
PyTorch 1.13 (Debian python3-torch): LayerNorm / F.layer_norm, Embedding, MultiheadAttention and
TransformerEncoderLayer, forward and backward, and their seeded initialisation.

Usage: /usr/bin/python3 tests/parity/gen_transformer_ref.py OUT_FILE   (a safetensors file)
CTest runs it as the fixture `transformer_parity_reference`; test_transformer.cpp runs it itself when
the file is missing. For every case <c>, tensors named
    <c>/in/<name>          an input (float32, int64 indices or bool masks); a float input requires
                           grad iff <c>/grad/in/<name> exists
    <c>/seed               int64 0-d: torch.manual_seed(seed) right before the module was built; its
    <c>/param/<key>        initial state_dict must come out of ctorch's seeded build bit for bit
    <c>/dropout_seed       int64 0-d (train-mode cases): manual_seed(dropout_seed) right before forward
    <c>/out                the output;  <c>/weights  the attention weights (MultiheadAttention, when returned)
    <c>/gout, <c>/gweights the upstream gradients: the loss is sum(out * gout) + sum(weights * gweights),
                           except for TransformerEncoderLayer cases (tel_*): sum(gout * out ** 2)
    <c>/grad/in/<name>, <c>/grad/param/<key>   torch's gradients
and init-only cases (prefix init_): <c>/seed and <c>/value/<key>, compared bit for bit.
The metadata holds the torch version, the number of cases and "repr/<module>": torch's repr of some
modules, which ctorch's Module::repr must reproduce.
The file is removed first and written last (atomically), so a failed run leaves no stale file.
"""
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if len(sys.argv) != 2:
    sys.exit("usage: gen_transformer_ref.py OUT_FILE")
OUT = os.path.abspath(sys.argv[1])
if os.path.exists(OUT):
    os.remove(OUT)

try:
    import torch
except ImportError as e:  # no torch is an error: parity is never skipped
    sys.exit(f"gen_transformer_ref.py: cannot import torch with {sys.executable}: {e} "
             "(install Debian's python3-torch: scripts/setup.sh --test)")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors_io  # noqa: E402

torch.set_num_threads(1)
REF = {}
CASES = []
META = {}
_gen = torch.Generator()


def fail(msg):
    sys.exit(f"gen_transformer_ref.py: {msg}")


def put(key, t):
    if key in REF:
        fail(f"duplicate key {key}")
    REF[key] = t.detach().clone().contiguous()


def new_case(name):
    if name in CASES or "/" in name:
        fail(f"bad or duplicate case name {name}")
    CASES.append(name)
    _gen.manual_seed(zlib.crc32(name.encode()))  # inputs are drawn from the case's own generator


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=_gen) * scale


def rand(*shape):
    return torch.rand(*shape, generator=_gen)


def case(name, inputs, run, build=None, seed=0, train=False, dropout_seed=None, no_grad=(), exact=False):
    """inputs: dict of tensors; run(module, leaves) -> out or (out, weights).
    exact: torch computes in float64 from the (float32) inputs and the results are stored rounded to
    float32: for inputs where torch's own float32 kernel loses digits that ctorch keeps."""
    new_case(name)
    m = None
    if build is not None:
        put(f"{name}/seed", torch.tensor(seed, dtype=torch.int64))
        torch.manual_seed(seed)
        m = build()
        m.train(train)
        for k, v in m.state_dict().items():
            put(f"{name}/param/{k}", v)
    leaves = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        put(f"{name}/in/{k}", v)
        if exact and v.is_floating_point():
            v = v.double()
        if v.is_floating_point() and k not in no_grad:
            v.requires_grad_(True)
        leaves[k] = v
    if dropout_seed is not None:
        put(f"{name}/dropout_seed", torch.tensor(dropout_seed, dtype=torch.int64))
        torch.manual_seed(dropout_seed)
    res = run(m, leaves)
    out, weights = res if isinstance(res, tuple) else (res, None)
    f32 = (lambda t: t.float()) if exact else (lambda t: t)
    put(f"{name}/out", f32(out))
    gout = randn(*out.shape)
    put(f"{name}/gout", gout)
    if exact:
        gout = gout.double()
    if name.startswith("tel_"):
        # a weighted sum of squares: the plain sum of squares of a LayerNorm's output (weight 1,
        # bias 0) is the constant N * var / (var + eps), so its gradients would be rounding noise
        loss = (out.pow(2) * gout).sum()
    else:
        loss = (out * gout).sum()
        if weights is not None:
            put(f"{name}/weights", weights)
            gw = randn(*weights.shape)
            put(f"{name}/gweights", gw)
            loss = loss + (weights * gw).sum()
    loss.backward()
    for k, v in leaves.items():
        if v.requires_grad:
            if v.grad is None:
                fail(f"{name}: input {k} got no gradient")
            put(f"{name}/grad/in/{k}", f32(v.grad))
    if m is not None:
        for k, p in m.named_parameters():
            if p.grad is None:
                fail(f"{name}: parameter {k} got no gradient")
            put(f"{name}/grad/param/{k}", f32(p.grad))
    for k in [k for k in REF if k.startswith(f"{name}/")]:
        if REF[k].is_floating_point() and not torch.isfinite(REF[k]).all():
            fail(f"{name}: {k} is not finite")


def init_case(name, seed, build):
    new_case(name)
    put(f"{name}/seed", torch.tensor(seed, dtype=torch.int64))
    torch.manual_seed(seed)
    m = build()
    for k, v in m.state_dict().items():
        put(f"{name}/value/{k}", v)
    put(f"{name}/value/after", torch.rand(3))  # the generator is where torch's is after the build


# ---- layer_norm ----
def ln(shape, eps=1e-5):
    def run(_, a):
        return F.layer_norm(a["x"], shape, a.get("w"), a.get("b"), eps)
    return run


case("ln_basic", {"x": randn(4, 6), "w": 1 + 0.3 * randn(6), "b": randn(6)}, ln((6,)))
case("ln_2d_shape_eps", {"x": randn(2, 3, 4, 5), "w": 1 + 0.3 * randn(4, 5), "b": randn(4, 5)}, ln((4, 5), 1e-3))
case("ln_noaffine", {"x": randn(3, 7, scale=3.0)}, ln((7,)))
case("ln_weight_only", {"x": randn(5, 4), "w": randn(4)}, ln((4,)))
# mean 1000, std 0.01: torch's float32 kernel is off by ~1e-2 here, ctorch (double sums) is not
case("ln_offset", {"x": 1000 + randn(6, 16, scale=0.01), "w": 1 + 0.3 * randn(16), "b": randn(16)}, ln((16,)),
     exact=True)
case("ln_constant_row", {"x": torch.full((2, 8), 3.0), "w": randn(8), "b": randn(8)}, ln((8,)))
case("ln_module", {"x": randn(2, 5, 32)}, lambda m, a: m(a["x"]), build=lambda: nn.LayerNorm(32), seed=3)
case("ln_wide_rows", {"x": randn(64, 256)}, lambda m, a: m(a["x"]), build=lambda: nn.LayerNorm(256, eps=1e-6), seed=4)

# ---- Embedding ----
init_case("init_embedding_10_3", 0, lambda: nn.Embedding(10, 3))          # 30 values: torch's vector normal path
init_case("init_embedding_5_2", 1, lambda: nn.Embedding(5, 2))            # 10 values: the scalar path
init_case("init_embedding_pad", 2, lambda: nn.Embedding(20, 8, padding_idx=2))
init_case("init_embedding_negpad", 3, lambda: nn.Embedding(7, 4, padding_idx=-1))
case("emb_padding", {"idx": torch.tensor([[1, 2, 2, 5], [0, 9, 2, 1]])}, lambda m, a: m(a["idx"]),
     build=lambda: nn.Embedding(10, 6, padding_idx=2), seed=5)
case("emb_repeat", {"idx": torch.tensor([3, 3, 0, 3, 7])}, lambda m, a: m(a["idx"]),
     build=lambda: nn.Embedding(8, 20), seed=6)


# ---- MultiheadAttention ----
def mha(E, H, **kw):
    return lambda: nn.MultiheadAttention(E, H, **kw)


def self_attn(**kw):
    def run(m, a):
        x = a["x"]
        return m(x, x, x, key_padding_mask=a.get("kpm"), attn_mask=a.get("mask"), **kw)
    return run


def cross_attn(shared_kv, **kw):
    def run(m, a):
        k = a["k"]
        v = k if shared_kv else a["v"]
        return m(a["q"], k, v, key_padding_mask=a.get("kpm"), attn_mask=a.get("mask"), **kw)
    return run


E, H, L, S, N = 8, 2, 5, 6, 3
causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
kpm = torch.tensor([[False] * 6, [False, False, False, False, True, True], [True, False, False, False, False, False]])
kpm_self = kpm[:, :L]
kpm_late = torch.tensor([[False] * 5, [False, False, False, True, True], [False, False, True, False, False]])  # key 0 kept

case("mha_self", {"x": randn(L, N, E)}, self_attn(), build=mha(E, H), seed=10)
case("mha_self_batch_first", {"x": randn(N, L, E)}, self_attn(), build=mha(E, H, batch_first=True), seed=11)
case("mha_kv_shared", {"q": randn(4, N, E), "k": randn(S, N, E)}, cross_attn(True), build=mha(E, H), seed=12)
case("mha_separate_masks_bf", {"q": randn(N, 4, E), "k": randn(N, S, E), "v": randn(N, S, E),
                               "kpm": kpm, "mask": rand(4, S) > 0.7},
     cross_attn(False), build=mha(E, H, batch_first=True), seed=13)
case("mha_float_mask", {"x": randn(L, N, E), "mask": randn(N * H, L, L), "kpm": kpm_self}, self_attn(),
     build=mha(E, H), seed=14, no_grad=("mask",))
case("mha_causal_bf", {"x": randn(N, L, E), "mask": causal}, self_attn(), build=mha(E, H, batch_first=True), seed=15)
case("mha_float_kpm", {"x": randn(L, N, E), "kpm": torch.where(kpm_self, -1e9, 0.0) + 0.1 * randn(N, L)},
     self_attn(), build=mha(E, H), seed=16, no_grad=("kpm",))
case("mha_per_head", {"x": randn(N, L, E), "kpm": kpm_self}, self_attn(average_attn_weights=False),
     build=mha(E, 4, batch_first=True), seed=17)
case("mha_no_weights", {"x": randn(L, N, E)}, self_attn(need_weights=False), build=mha(E, H), seed=18)
case("mha_nobias", {"x": randn(L, N, E), "mask": causal}, self_attn(), build=mha(E, H, bias=False), seed=19)
case("mha_unbatched", {"q": randn(4, E), "k": randn(S, E), "v": randn(S, E), "kpm": kpm[1]}, cross_attn(False),
     build=mha(E, H), seed=20)
case("mha_one_head_wide", {"x": randn(N, 7, 12)}, self_attn(), build=mha(12, 1, batch_first=True), seed=21)
init_case("init_mha_16_4", 42, mha(16, 4))
init_case("init_mha_nobias", 43, mha(16, 2, bias=False))


# ---- TransformerEncoderLayer (loss: sum of squares of the output) ----
def tel(d, h, ff, **kw):
    return lambda: nn.TransformerEncoderLayer(d, h, dim_feedforward=ff, **kw)


def run_tel(m, a):
    return m(a["x"], src_mask=a.get("mask"), src_key_padding_mask=a.get("kpm"))


case("tel_eval", {"x": randn(L, N, 16)}, run_tel, build=tel(16, 4, 32), seed=0)
case("tel_eval_bf_gelu_norm_first_masks", {"x": randn(N, L, 16), "mask": causal, "kpm": kpm_late}, run_tel,
     build=tel(16, 4, 24, activation="gelu", batch_first=True, norm_first=True, layer_norm_eps=1e-6), seed=1)
case("tel_eval_bench_like", {"x": randn(2, 9, 32)}, run_tel, build=tel(32, 4, 64, dropout=0.0, batch_first=True),
     seed=2)
case("tel_train_dropout", {"x": randn(L, N, 16)}, run_tel, build=tel(16, 2, 32, dropout=0.2), seed=7, train=True,
     dropout_seed=99)
init_case("init_tel_default", 123, tel(32, 4, 2048))

# ---- reprs ----
META["repr/tel"] = repr(nn.TransformerEncoderLayer(16, 4, dim_feedforward=32))
META["repr/mha_nobias"] = repr(nn.MultiheadAttention(8, 2, bias=False))
META["repr/layernorm_2d"] = repr(nn.LayerNorm([4, 5], eps=1e-3, elementwise_affine=False))
META["repr/embedding_pad"] = repr(nn.Embedding(10, 3, padding_idx=0))

META.update({"torch": torch.__version__, "cases": str(len(CASES))})
tmp = f"{OUT}.tmp-{os.getpid()}"
safetensors_io.write(tmp, list(REF.items()), META)
os.replace(tmp, OUT)
print(f"gen_transformer_ref.py: torch {torch.__version__}: wrote {len(CASES)} cases ({len(REF)} tensors) to {OUT}")
