#!/usr/bin/python3
"""Reference data for tests/test_nn_parity.cpp, from real PyTorch 1.13 (Debian python3-torch).

    /usr/bin/python3 tests/parity/gen_nn_ref.py OUT_DIR
        Writes OUT_DIR/nn_state_net.safetensors (a torch model's state_dict) and then
        OUT_DIR/nn_ref.safetensors (every case below). CTest runs this as the fixture
        `nn_parity_reference`; the C++ test runs it itself when the files are missing.

    /usr/bin/python3 tests/parity/gen_nn_ref.py --check-ctorch-state STATE IO SEED
        Checks a state_dict written by ctorch's Module::save (STATE) for the Net below built after
        manual_seed(SEED) with every parameter p then set to p * 1.5 + 0.25: the keys, shapes, dtypes
        and values must be exactly torch's; loaded into a torch Net (strict), the net must map IO's
        "x" to IO's "y" (ctorch's output, eval mode). Exits non-zero on any difference.

nn_ref.safetensors holds, for every case, tensors named "<case>/<role>":
    in/<name>          an input (float32 or int64); it requires grad iff grad/in/<name> exists
    param/<key>        the module's initial state_dict (ctorch loads it with load_state_dict)
    seed               int64 0-d: torch.manual_seed(seed) was called right before the forward
                       (dropout) or before building the module (init cases)
    out                torch's output
    gout               the upstream gradient passed to backward
    grad/in/<name>     torch's gradient of that input
    grad/param/<key>   torch's gradient of that parameter
    value/<name>       init cases: tensors to be matched bit for bit
and "gain/<nonlinearity>[/<param>]" (float64 0-d) for nn.init.calculate_gain.
Its metadata: torch version, the number of cases and a run id shared with nn_state_net.safetensors,
so the C++ side never mixes files of two runs.

Any failure (no torch, a case that errors, a missing gradient) exits non-zero. The reference file is
removed first and written last (atomically), so a failed run never leaves a stale or partial file.
"""
import math
import os
import sys
import uuid
import warnings
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REF_NAME = "nn_ref.safetensors"
STATE_NAME = "nn_state_net.safetensors"


def fail(msg):
    sys.exit(f"gen_nn_ref.py: {msg}")


def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:  # CI installs python3-torch (scripts/setup.sh --test); no torch is an error
        fail(f"cannot import torch with {sys.executable}: {e}\n"
             "install Debian's python3-torch (scripts/setup.sh --test); the nn parity test needs it")


# Arguments are parsed and the old reference removed before torch is imported: a run that fails
# for any reason must not leave the previous file behind.
if len(sys.argv) == 5 and sys.argv[1] == "--check-ctorch-state":
    MODE = "check"
elif len(sys.argv) == 2 and not sys.argv[1].startswith("-"):
    MODE = "generate"
    OUT_DIR = os.path.abspath(sys.argv[1])
    os.makedirs(OUT_DIR, exist_ok=True)
    for stale in (REF_NAME, STATE_NAME):
        if os.path.exists(os.path.join(OUT_DIR, stale)):
            os.remove(os.path.join(OUT_DIR, stale))
else:
    sys.exit(__doc__)

import_torch()
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors_io  # noqa: E402  (the hand-written reader/writer of the safetensors parity tests)


def st_save(path, tensors, metadata):
    """Writes the dict `tensors` atomically: a temporary file next to `path`, then os.replace."""
    tmp = f"{path}.tmp-{os.getpid()}"
    safetensors_io.write(tmp, list(tensors.items()), metadata)
    os.replace(tmp, path)


def st_load(path):
    tensors, _, _ = safetensors_io.read(path)  # checks the layout rules too
    return tensors

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)


class Net(nn.Module):  # tests/test_nn_parity.cpp has the same class
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(), nn.Dropout(0.2), nn.Linear(16, 4))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


class DynamicNet(nn.Module):  # the tutorial's weight-sharing net, with 3 middle layers
    def __init__(self, d_in, h, d_out):
        super().__init__()
        self.input_linear = nn.Linear(d_in, h)
        self.middle_linear = nn.Linear(h, h)
        self.output_linear = nn.Linear(h, d_out)

    def forward(self, x):
        h = self.input_linear(x).clamp(min=0)
        for _ in range(3):
            h = self.middle_linear(h).clamp(min=0)
        return self.output_linear(h)


# ------------------------------------------------------------------------------------------------
# --check-ctorch-state

def check_ctorch_state(state_path, io_path, seed):
    problems = []
    try:
        got, io = st_load(state_path), st_load(io_path)
    except Exception as e:  # a malformed file is a failure with a message, not a traceback
        sys.exit(f"gen_nn_ref.py --check-ctorch-state: cannot read ctorch's files: {type(e).__name__}: {e}")
    torch.manual_seed(seed)
    want_model = Net()
    with torch.no_grad():
        for p in want_model.parameters():
            p.mul_(1.5).add_(0.25)
    want = want_model.state_dict()
    missing = sorted(set(want) - set(got))
    unexpected = sorted(set(got) - set(want))
    if missing:
        problems.append(f"missing keys: {missing}")
    if unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    for k in sorted(set(want) & set(got)):
        w, g = want[k], got[k]
        if g.dtype != w.dtype or tuple(g.shape) != tuple(w.shape):
            problems.append(f"{k}: ctorch wrote {g.dtype} {list(g.shape)}, torch has {w.dtype} {list(w.shape)}")
        elif not torch.equal(g, w):
            bad = (g != w).nonzero()[0].tolist()
            problems.append(f"{k}: values differ from torch's seeded init, first at {bad}: "
                            f"ctorch {g[tuple(bad)].item()!r} torch {w[tuple(bad)].item()!r}")
    if not problems:
        model = Net()  # fresh weights (another draw of the generator): load_state_dict must replace them
        try:
            model.load_state_dict(got, strict=True)
        except RuntimeError as e:
            problems.append(f"torch's load_state_dict refused the file: {e}")
        else:
            model.eval()
            with torch.no_grad():
                y = model(io["x"])
            if y.shape != io["y"].shape or not torch.allclose(y, io["y"], rtol=1e-5, atol=1e-6):
                problems.append(f"torch's output with ctorch's state_dict differs from ctorch's:\n{y}\n{io['y']}")
    if problems:
        sys.exit("gen_nn_ref.py --check-ctorch-state: " + state_path + "\n  " + "\n  ".join(problems))
    print(f"gen_nn_ref.py: torch {torch.__version__} loaded ctorch's state_dict {state_path}: "
          f"{len(want)} keys, values and outputs match")


if MODE == "check":
    check_ctorch_state(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    sys.exit(0)

# ------------------------------------------------------------------------------------------------
# generation

REF = {}          # name -> tensor, in insertion order
CASE_NAMES = []
_gen = torch.Generator()


def seed(name):
    _gen.manual_seed(zlib.crc32(name.encode()))


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=_gen) * scale


def rand(*shape, lo=0.0, hi=1.0):
    return torch.rand(*shape, generator=_gen) * (hi - lo) + lo


def randint(lo, hi, *shape):
    return torch.randint(lo, hi, shape, generator=_gen)


def put(key, t):
    if key in REF:
        fail(f"duplicate key {key}")
    REF[key] = t.detach().clone().contiguous()


def new_case(name):
    if name in CASE_NAMES or "/" in name:
        fail(f"bad or duplicate case name {name}")
    CASE_NAMES.append(name)
    seed(name)


def add(name, make_inputs, fn, module=None, no_grad=(), dropout_seed=None):
    """make_inputs() -> dict of tensors (drawn from the case's generator); fn(module, inputs) -> output.
    Float inputs require grad unless listed in no_grad. module: a callable building the module
    (called under torch.manual_seed(crc32(name)), so weights are deterministic)."""
    new_case(name)
    inputs = make_inputs()
    m = None
    if module is not None:
        torch.manual_seed(zlib.crc32(name.encode()))
        m = module()
        for k, v in m.state_dict().items():
            put(f"{name}/param/{k}", v)
    leaves = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        if v.is_floating_point() and k not in no_grad:
            v.requires_grad_(True)
        leaves[k] = v
        put(f"{name}/in/{k}", v)
    if dropout_seed is not None:
        put(f"{name}/seed", torch.tensor(dropout_seed, dtype=torch.int64))
        torch.manual_seed(dropout_seed)
    out = fn(m, leaves)
    put(f"{name}/out", out)
    if not out.requires_grad:
        fail(f"{name}: the output does not require grad")
    gout = randn(*out.shape) if out.dim() > 0 else rand(1, lo=0.5, hi=1.5).reshape(())
    put(f"{name}/gout", gout)
    out.backward(gout)
    for k, v in leaves.items():
        if v.requires_grad:
            if v.grad is None:
                fail(f"{name}: input {k} requires grad but got none")
            put(f"{name}/grad/in/{k}", v.grad)
    if m is not None:
        for k, p in m.named_parameters():
            if p.grad is None:
                fail(f"{name}: parameter {k} got no gradient")
            put(f"{name}/grad/param/{k}", p.grad)
    if "large" in name:  # huge logits must give finite losses and gradients (else both sides could be inf)
        for k in [k for k in REF if k.startswith(f"{name}/") and "/in/" not in k]:
            if not torch.isfinite(REF[k]).all():
                fail(f"{name}: {k} is not finite")


def x_(*shape, scale=1.0):
    return lambda: {"x": randn(*shape, scale=scale)}


def apply(m, a):
    return m(a["x"])


# ---- layers ----
add("linear_2d", x_(4, 5), apply, lambda: nn.Linear(5, 3))
add("linear_3d", x_(2, 4, 5), apply, lambda: nn.Linear(5, 3))
add("linear_nobias", x_(4, 5), apply, lambda: nn.Linear(5, 3, bias=False))
add("linear_1d", x_(5), apply, lambda: nn.Linear(5, 3))
add("identity", x_(3, 4), apply, lambda: nn.Identity())
add("relu", x_(3, 4), apply, lambda: nn.ReLU())


def with_extremes(shape, scale, hi):
    def make():
        x = randn(*shape, scale=scale)
        x.view(-1)[0], x.view(-1)[1] = hi, -hi
        return {"x": x}
    return make


add("sigmoid", with_extremes((3, 4), 4.0, 30.0), apply, lambda: nn.Sigmoid())
add("tanh", with_extremes((3, 4), 2.0, 20.0), apply, lambda: nn.Tanh())
add("gelu_none", x_(3, 4, scale=3.0), apply, lambda: nn.GELU())
add("gelu_tanh", x_(3, 4, scale=3.0), apply, lambda: nn.GELU(approximate="tanh"))
add("softmax_dim1", x_(3, 5), apply, lambda: nn.Softmax(dim=1))
add("softmax_dim0", x_(3, 5), apply, lambda: nn.Softmax(dim=0))
add("softmax_3d_neg1", x_(2, 3, 4), apply, lambda: nn.Softmax(dim=-1))
add("softmax_large", x_(3, 5, scale=1e4), apply, lambda: nn.Softmax(dim=1))
add("logsoftmax_dim1", x_(3, 5), apply, lambda: nn.LogSoftmax(dim=1))
add("logsoftmax_dim0", x_(3, 5), apply, lambda: nn.LogSoftmax(dim=0))
add("logsoftmax_3d_neg1", x_(2, 3, 4), apply, lambda: nn.LogSoftmax(dim=-1))
add("logsoftmax_large", x_(3, 5, scale=1e4), apply, lambda: nn.LogSoftmax(dim=1))
add("flatten", x_(2, 3, 4), apply, lambda: nn.Flatten())
add("flatten_0_1", x_(2, 3, 4), apply, lambda: nn.Flatten(0, 1))
add("flatten_1_2", x_(2, 3, 4, 2), apply, lambda: nn.Flatten(1, 2))
add("dropout_eval", x_(4, 5), apply, lambda: nn.Dropout(0.3).eval())
# train-mode dropout draws its mask from the global generator: same seed, same mask
add("dropout_train_p03", lambda: {"x": rand(6, 7, lo=0.5, hi=2.0)}, apply, lambda: nn.Dropout(0.3),
    dropout_seed=1234)
add("dropout_train_p05", lambda: {"x": rand(100, lo=0.5, hi=2.0)}, apply, lambda: nn.Dropout(0.5), dropout_seed=7)
add("dropout_train_p0", x_(3, 4), apply, lambda: nn.Dropout(0.0), dropout_seed=8)
add("f_dropout_p02", lambda: {"x": rand(5, 9, lo=0.5, hi=2.0)}, lambda m, a: F.dropout(a["x"], 0.2, training=True),
    dropout_seed=99)
add("mlp", x_(4, 6), apply,
    lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)))
add("mlp_ce", lambda: {"x": randn(4, 6), "t": randint(0, 3, 4)}, lambda m, a: F.cross_entropy(m(a["x"]), a["t"]),
    lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)))
add("dynamic_net", x_(4, 5), apply, lambda: DynamicNet(5, 6, 2))

# ---- the torch-written state_dict: nn_state_net.safetensors, loaded by ctorch's Module::load ----
RUN_ID = uuid.uuid4().hex
torch.manual_seed(2718)
NET = Net()
NET_STATE = {k: v.detach().clone() for k, v in NET.state_dict().items()}


def net_case(name, train, dropout_seed=None):
    def fn(_, a):
        NET.load_state_dict(NET_STATE)
        NET.zero_grad(set_to_none=True)
        NET.train(train)
        return NET(a["x"])
    new_case(name)
    x = randn(3, 3, 4).requires_grad_(True)
    put(f"{name}/in/x", x)
    if dropout_seed is not None:
        put(f"{name}/seed", torch.tensor(dropout_seed, dtype=torch.int64))
        torch.manual_seed(dropout_seed)
    out = fn(None, {"x": x})
    put(f"{name}/out", out)
    gout = randn(*out.shape)
    put(f"{name}/gout", gout)
    out.backward(gout)
    put(f"{name}/grad/in/x", x.grad)
    for k, p in NET.named_parameters():
        put(f"{name}/grad/param/{k}", p.grad)


net_case("net_eval", train=False)
net_case("net_train", train=True, dropout_seed=4321)

# ---- losses, each with reduction none / mean / sum ----
R = ("none", "mean", "sum")


def loss_cases(prefix, make, fn, no_grad=(), reductions=R):
    for r in reductions:
        add(f"{prefix}_{r}", make, lambda m, a, r=r: fn(a, r), no_grad=no_grad)


def regression():
    return {"x": randn(4, 3, scale=2.0), "y": randn(4, 3, scale=2.0)}


loss_cases("mse", regression, lambda a, r: F.mse_loss(a["x"], a["y"], reduction=r))
loss_cases("l1", regression, lambda a, r: F.l1_loss(a["x"], a["y"], reduction=r))
loss_cases("huber", regression, lambda a, r: F.huber_loss(a["x"], a["y"], reduction=r))
loss_cases("huber_d05", regression, lambda a, r: F.huber_loss(a["x"], a["y"], reduction=r, delta=0.5))
loss_cases("smooth_l1_b05", regression, lambda a, r: F.smooth_l1_loss(a["x"], a["y"], reduction=r, beta=0.5))
loss_cases("smooth_l1_b1", regression, lambda a, r: F.smooth_l1_loss(a["x"], a["y"], reduction=r), reductions=("mean",))
loss_cases("smooth_l1_b0", regression, lambda a, r: F.smooth_l1_loss(a["x"], a["y"], reduction=r, beta=0.0),
           reductions=("mean",))
warnings.filterwarnings("ignore", message="Using a target size")  # broadcasting [4, 1] against [4], on purpose
loss_cases("mse_bcast", lambda: {"x": randn(4, 1), "y": randn(4)}, lambda a, r: F.mse_loss(a["x"], a["y"], reduction=r),
           reductions=("none", "mean"))

C = 5


def ce_inputs(n=6, c=C, scale=1.0, t_values=None):
    def make():
        d = {"x": randn(n, c, scale=scale)}
        t = randint(0, c, n)
        if t_values:
            for i, v in t_values.items():
                t[i] = v
        d["t"] = t
        return d
    return make


# Weights are stored as inputs that do not require grad ("w", "pw"), so ctorch uses the very same values.
W = torch.tensor([0.5, 1.0, 2.0, 0.25, 1.5])
BW = torch.tensor([0.5, 2.0, 1.25])
PW = torch.tensor([3.0, 0.5, 1.0])
MW = torch.tensor([0.5, 2.0, 1.0, 1.5])
NG = ("w", "pw")


def plus(make, **consts):
    """make() plus constant tensors (or callables drawing them from the case's generator)."""
    def made():
        d = make()
        for k, v in consts.items():
            d[k] = v() if callable(v) else v.clone()
        return d
    return made


def ce(a, r, **kw):
    if "w" in a:
        kw["weight"] = a["w"]
    return F.cross_entropy(a["x"], a["t"] if "t" in a else a["p"], reduction=r, **kw)


loss_cases("ce", ce_inputs(), ce)
loss_cases("ce_weight", plus(ce_inputs(), w=W), ce, no_grad=NG)
loss_cases("ce_ignore", ce_inputs(t_values={0: 2, 3: 2}), lambda a, r: ce(a, r, ignore_index=2))
loss_cases("ce_ignore_default", ce_inputs(t_values={1: -100, 4: -100}), ce)
loss_cases("ce_smooth", ce_inputs(), lambda a, r: ce(a, r, label_smoothing=0.1))
loss_cases("ce_wsi", plus(ce_inputs(t_values={2: 1, 5: 1}), w=W),
           lambda a, r: ce(a, r, ignore_index=1, label_smoothing=0.1), no_grad=NG)


def ce_3d():
    return {"x": randn(2, 4, 3), "t": torch.tensor([[0, 3, 1], [2, 2, 0]])}


loss_cases("ce_3d", ce_3d, ce)
loss_cases("ce_3d_wsi", plus(ce_3d, w=W[:4]), lambda a, r: ce(a, r, ignore_index=2, label_smoothing=0.1), no_grad=NG)
loss_cases("ce_4d", lambda: {"x": randn(2, 3, 2, 2), "t": randint(0, 3, 2, 2, 2)}, ce, reductions=("none", "mean"))
loss_cases("ce_1d", lambda: {"x": randn(C), "t": torch.tensor(3)}, ce)


def ce_probs(shape=(6, C), dim=1):
    return lambda: {"x": randn(*shape), "p": torch.softmax(randn(*shape, scale=2.0), dim)}


loss_cases("ce_probs", ce_probs(), ce)
loss_cases("ce_probs_ws", plus(ce_probs(), w=W), lambda a, r: ce(a, r, label_smoothing=0.2), no_grad=NG)
loss_cases("ce_probs_3d", ce_probs((2, 4, 3)), ce, reductions=("none", "mean"))
loss_cases("ce_large", ce_inputs(scale=1e4), ce)
loss_cases("ce_large_ws", plus(ce_inputs(scale=1e4), w=W), lambda a, r: ce(a, r, label_smoothing=0.1), no_grad=NG,
           reductions=("mean",))


def nll_inputs(t_values=None):
    def make():
        d = ce_inputs(t_values=t_values)()
        d["x"] = torch.log_softmax(d["x"], 1)
        return d
    return make


def nll(a, r, **kw):
    if "w" in a:
        kw["weight"] = a["w"]
    return F.nll_loss(a["x"], a["t"], reduction=r, **kw)


loss_cases("nll", nll_inputs(), nll)
loss_cases("nll_weight", plus(nll_inputs(), w=W), nll, no_grad=NG)
loss_cases("nll_ignore", nll_inputs(t_values={1: 0, 2: 0}), lambda a, r: nll(a, r, ignore_index=0))
loss_cases("nll_wi", plus(nll_inputs(t_values={1: 4}), w=W), lambda a, r: nll(a, r, ignore_index=4), no_grad=NG)
loss_cases("nll_3d", lambda: {"x": torch.log_softmax(randn(2, 4, 3), 1), "t": torch.tensor([[0, 3, 1], [2, 2, 0]])}, nll)


def bce_01():
    # exact 0 and 1 probabilities: torch clamps each log at -100 (and divides the gradient by
    # max(x (1 - x), 1e-12)); the target's gradient -logit(x) is then infinite
    x = rand(4, 3, lo=0.05, hi=0.95)
    y = (rand(4, 3) > 0.5).float()
    x[0, 0], y[0, 0] = 0.0, 1.0
    x[0, 1], y[0, 1] = 1.0, 0.0
    x[0, 2], y[0, 2] = 0.0, 0.0
    x[1, 0], y[1, 0] = 1.0, 1.0
    x[1, 1], y[1, 1] = 0.0, 0.5
    return {"x": x, "y": y}


def bce_soft():
    return {"x": rand(4, 3, lo=0.05, hi=0.95), "y": rand(4, 3)}


def bce(a, r):
    return F.binary_cross_entropy(a["x"], a["y"], weight=a.get("w"), reduction=r)


loss_cases("bce", bce_01, bce)
loss_cases("bce_soft", bce_soft, bce)
loss_cases("bce_weight", plus(bce_soft, w=BW), bce, no_grad=NG)


def bcel_inputs():
    return {"x": randn(4, 3, scale=3.0), "y": rand(4, 3)}


def bcel(a, r):
    return F.binary_cross_entropy_with_logits(a["x"], a["y"], weight=a.get("w"), pos_weight=a.get("pw"), reduction=r)


loss_cases("bcel", bcel_inputs, bcel)
loss_cases("bcel_weight", plus(bcel_inputs, w=lambda: rand(4, 3, lo=0.5, hi=2.0)), bcel, no_grad=NG)
loss_cases("bcel_posw", plus(bcel_inputs, pw=PW), bcel, no_grad=NG)
loss_cases("bcel_both", plus(bcel_inputs, w=BW, pw=PW), bcel, no_grad=NG)
loss_cases("bcel_large", lambda: {"x": torch.tensor([[100.0, -100.0, 40.0], [-40.0, 0.0, 90.0]]),
                                  "y": torch.tensor([[0.0, 1.0, 0.25], [1.0, 0.5, 1.0]]), "pw": PW.clone()},
           bcel, no_grad=NG, reductions=("none", "mean"))


def hinge():
    return {"x": randn(4, 3, scale=1.5), "y": (rand(4, 3) > 0.5).float() * 2 - 1}


loss_cases("hinge", hinge, lambda a, r: F.hinge_embedding_loss(a["x"], a["y"], reduction=r), no_grad=("y",))
loss_cases("hinge_m2", hinge, lambda a, r: F.hinge_embedding_loss(a["x"], a["y"], margin=2.0, reduction=r),
           no_grad=("y",))


def mm_inputs():
    return {"x": randn(5, 4), "t": randint(0, 4, 5)}


def mm(a, r, **kw):
    return F.multi_margin_loss(a["x"], a["t"], weight=a.get("w"), reduction=r, **kw)


loss_cases("mm_p1", mm_inputs, mm)
loss_cases("mm_p2", mm_inputs, lambda a, r: mm(a, r, p=2))
loss_cases("mm_weight", plus(mm_inputs, w=MW), mm, no_grad=NG)
loss_cases("mm_p2_wm", plus(mm_inputs, w=MW), lambda a, r: mm(a, r, p=2, margin=0.7), no_grad=NG)
loss_cases("mm_1d", lambda: {"x": randn(4), "t": torch.tensor(2)}, mm)
loss_cases("mm_1d_t1", lambda: {"x": randn(4), "t": torch.tensor([1])}, mm, reductions=("none",))

# ---- seeded initialisation: bit for bit ----


def init_case(name, seed_value, fn):
    """fn() -> dict of tensors, run right after torch.manual_seed(seed_value)."""
    new_case(name)
    put(f"{name}/seed", torch.tensor(seed_value, dtype=torch.int64))
    torch.manual_seed(seed_value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op"
        values = fn()
    for k, v in values.items():
        put(f"{name}/value/{k}", v)


def linear_values(lin, prefix=""):
    d = {prefix + "weight": lin.weight}
    if lin.bias is not None:
        d[prefix + "bias"] = lin.bias
    return d


init_case("init_linear_5_3", 0, lambda: linear_values(nn.Linear(5, 3)))
init_case("init_linear_1_1", 42, lambda: linear_values(nn.Linear(1, 1)))
init_case("init_linear_784_10", 7, lambda: linear_values(nn.Linear(784, 10)))
init_case("init_linear_16_33_nobias", 123, lambda: linear_values(nn.Linear(16, 33, bias=False)))
init_case("init_linear_0_3_then_rand", 5, lambda: {**linear_values(nn.Linear(0, 3)), "rand": torch.rand(4)})
init_case("init_two_linears", 11, lambda: {**linear_values(nn.Linear(3, 4), "a."), **linear_values(nn.Linear(4, 2), "b.")})
init_case("init_sequential", 3, lambda: dict(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).state_dict()))
init_case("init_net", 2718, lambda: dict(Net().state_dict()))


def init_fn(name, seed_value, shape, fn, dtype=torch.float32):
    def make():
        t = torch.empty(*shape, dtype=dtype)
        fn(t)
        return {"t": t}
    init_case(name, seed_value, make)


I = nn.init
init_fn("init_uniform", 1, (3, 5), lambda t: I.uniform_(t, -2.0, 3.0))
init_fn("init_uniform_default", 1, (20,), lambda t: I.uniform_(t))
init_fn("init_normal", 2, (4, 5), lambda t: I.normal_(t, 1.0, 0.5))
init_fn("init_normal_small", 2, (3, 4), lambda t: I.normal_(t, -1.0, 2.0))
init_fn("init_normal_default", 2, (7, 3), lambda t: I.normal_(t))
init_fn("init_xavier_uniform", 3, (6, 4), lambda t: I.xavier_uniform_(t))
init_fn("init_xavier_uniform_relu", 3, (5, 7), lambda t: I.xavier_uniform_(t, gain=I.calculate_gain("relu")))
init_fn("init_xavier_normal", 4, (6, 4), lambda t: I.xavier_normal_(t))
init_fn("init_xavier_normal_conv_gain2", 4, (8, 3, 3, 3), lambda t: I.xavier_normal_(t, gain=2.0))
init_fn("init_kaiming_uniform", 5, (6, 4), lambda t: I.kaiming_uniform_(t))
init_fn("init_kaiming_uniform_fan_out_relu", 5, (6, 4), lambda t: I.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"))
init_fn("init_kaiming_uniform_a_sqrt5", 5, (10, 3), lambda t: I.kaiming_uniform_(t, a=math.sqrt(5)))
init_fn("init_kaiming_uniform_conv", 6, (4, 3, 2, 2), lambda t: I.kaiming_uniform_(t))
init_fn("init_kaiming_normal", 7, (6, 4), lambda t: I.kaiming_normal_(t))
init_fn("init_kaiming_normal_fan_out_relu", 7, (8, 5), lambda t: I.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"))
init_fn("init_kaiming_normal_tanh", 7, (3, 3), lambda t: I.kaiming_normal_(t, nonlinearity="tanh"))
init_fn("init_kaiming_normal_leaky02_fan_out", 7, (5, 4, 3),
        lambda t: I.kaiming_normal_(t, a=0.2, mode="fan_out", nonlinearity="leaky_relu"))
init_fn("init_kaiming_uniform_f64", 8, (5, 4), lambda t: I.kaiming_uniform_(t), dtype=torch.float64)
init_fn("init_normal_f64", 9, (4, 5), lambda t: I.normal_(t, 0.5, 3.0), dtype=torch.float64)
init_fn("init_constant", 0, (2, 3), lambda t: I.constant_(t, 0.25))
init_fn("init_zeros", 0, (2, 3), lambda t: I.zeros_(t))
init_fn("init_ones", 0, (2, 3), lambda t: I.ones_(t))

for nl, param in [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
                  ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
                  ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0.0), ("selu", None)]:
    key = f"gain/{nl}" if param is None else f"gain/{nl}/{param!r}"
    put(key, torch.tensor(I.calculate_gain(nl, param), dtype=torch.float64))

# ---- write: the state file first, the reference (which names the run) last ----
meta = {"torch": torch.__version__, "run": RUN_ID, "cases": str(len(CASE_NAMES))}
st_save(os.path.join(OUT_DIR, STATE_NAME), NET_STATE, metadata={"run": RUN_ID})
st_save(os.path.join(OUT_DIR, REF_NAME), REF, metadata=meta)
print(f"gen_nn_ref.py: torch {torch.__version__}: wrote {len(CASE_NAMES)} cases ({len(REF)} tensors) to {OUT_DIR}")
