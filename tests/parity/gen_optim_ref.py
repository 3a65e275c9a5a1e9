#!/usr/bin/python3
"""Reference numbers for tests/test_optim.cpp, from real PyTorch 1.13 (Debian python3-torch).

Usage: /usr/bin/python3 tests/parity/gen_optim_ref.py OUT_FILE
CTest runs it as the fixture `optim_reference` (tests/CMakeLists.txt); test_optim.cpp also runs it
itself when the file is missing. One record per line: a key, a tab, space-separated tokens
(numbers in Python's repr, which reads back to the same double).

  data/{X,Y,W,b,U}                 the tiny linear model: loss = ((X @ W.T + b - Y) ** 2).mean();
                                   U is a parameter that never gets a gradient
  opt/CFG/DTYPE/STEP/{W,b,U}       parameters after STEP (1, 2, 5, 10) optimizer steps
  state/CFG/DTYPE/INDEX/NAME       optimizer.state_dict()['state'][INDEX][NAME] after 10 steps
  statekeys/CFG/DTYPE/INDEX        the tensor-valued names in that state (None entries left out)
  groups/CFG/DTYPE/G               param group G of state_dict(): 'params' and every numeric,
                                   bool or tuple option, as name:value tokens
  sched/NAME                       get_last_lr() of two param groups (lr 0.1 and 0.05) after the
                                   scheduler's construction and after each of 30 steps
  plateau/metrics                  the metric sequence fed to ReduceLROnPlateau
  clip/NAME/{total,g0,g1,g2}       clip_grad_norm_ / clip_grad_value_ results
"""
import math
import sys

import torch
from torch import optim
from torch.optim import lr_scheduler

X = [[0.5, -1.2, 0.3, 2.0], [1.5, 0.7, -0.4, -1.1], [-0.3, 0.9, 1.8, 0.2],
     [2.2, -0.5, -1.3, 0.6], [0.1, 1.4, -0.8, -0.9], [-1.7, -0.2, 0.5, 1.3]]
Y = [[1.0, -0.5, 0.2], [0.3, 0.8, -1.1], [-0.6, 1.2, 0.4],
     [1.5, -0.9, 0.7], [-0.2, 0.1, 1.3], [0.9, -1.4, -0.3]]
W0 = [[0.2, -0.3, 0.1, 0.4], [-0.5, 0.25, 0.35, -0.15], [0.05, 0.45, -0.2, 0.3]]
B0 = [0.1, -0.2, 0.05]
U0 = [1.0, -2.0]

STEPS = [1, 2, 5, 10]


def plain(W, b, U):
    return [W, b, U]


# (name, optimizer class, params builder, keyword arguments): mirrored one to one in test_optim.cpp
CONFIGS = [
    ("sgd_plain", optim.SGD, plain, dict(lr=0.1)),
    ("sgd_momentum", optim.SGD, plain, dict(lr=0.1, momentum=0.9)),
    ("sgd_dampening", optim.SGD, plain, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("sgd_nesterov", optim.SGD, plain, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", optim.SGD, plain, dict(lr=0.1, weight_decay=0.05)),
    ("sgd_momentum_wd", optim.SGD, plain, dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.01)),
    ("sgd_maximize", optim.SGD, plain, dict(lr=0.05, momentum=0.5, maximize=True)),
    ("sgd_nesterov_wd_max", optim.SGD, plain, dict(lr=0.02, momentum=0.7, weight_decay=0.1, nesterov=True,
                                                   maximize=True)),
    ("sgd_groups", optim.SGD, lambda W, b, U: [{'params': [W, U]}, {'params': [b], 'lr': 0.01, 'momentum': 0.5}],
     dict(lr=0.1, momentum=0.9)),
    ("adam_default", optim.Adam, plain, dict()),
    ("adam_plain", optim.Adam, plain, dict(lr=0.01)),
    ("adam_weight_decay", optim.Adam, plain, dict(lr=0.01, weight_decay=0.1)),
    ("adam_amsgrad", optim.Adam, plain, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    ("adam_maximize", optim.Adam, plain, dict(lr=0.01, maximize=True)),
    ("adam_all", optim.Adam, plain, dict(lr=0.02, betas=(0.85, 0.95), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    ("adam_groups", optim.Adam,
     lambda W, b, U: [{'params': [W], 'weight_decay': 0.1}, {'params': [b, U], 'betas': (0.5, 0.9)}],
     dict(lr=0.01)),
    ("adamw_default", optim.AdamW, plain, dict()),
    ("adamw_plain", optim.AdamW, plain, dict(lr=0.01, weight_decay=0.1)),
    ("adamw_amsgrad", optim.AdamW, plain, dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("adamw_maximize", optim.AdamW, plain, dict(lr=0.01, maximize=True)),
    ("rmsprop_plain", optim.RMSprop, plain, dict()),
    ("rmsprop_centered", optim.RMSprop, plain, dict(centered=True)),
    ("rmsprop_momentum", optim.RMSprop, plain, dict(momentum=0.9)),
    ("rmsprop_weight_decay", optim.RMSprop, plain, dict(weight_decay=0.1)),
    ("rmsprop_all", optim.RMSprop, plain, dict(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.5,
                                               centered=True, maximize=True)),
    ("adagrad_plain", optim.Adagrad, plain, dict(lr=0.1)),
    ("adagrad_lr_decay", optim.Adagrad, plain, dict(lr=0.1, lr_decay=0.05)),
    ("adagrad_weight_decay", optim.Adagrad, plain, dict(lr=0.1, weight_decay=0.1)),
    ("adagrad_initial_accumulator", optim.Adagrad, plain, dict(lr=0.1, initial_accumulator_value=0.5)),
    ("adagrad_all", optim.Adagrad, plain, dict(lr=0.05, lr_decay=0.01, weight_decay=0.02,
                                               initial_accumulator_value=0.1, eps=1e-8, maximize=True)),
]

DTYPES = [("f32", torch.float32), ("f64", torch.float64)]


def num(v):
    return repr(float(v))


def tokens(t):
    return [num(v) for v in t.detach().reshape(-1).tolist()]


def option_token(k, v):
    if isinstance(v, bool):
        return f"{k}:{v}"
    if isinstance(v, (int, float)):
        return f"{k}:{num(v)}"
    if isinstance(v, tuple):
        return f"{k}:" + ",".join(num(x) for x in v)
    return None  # None (foreach) and the like


def main(out_path):
    torch.set_num_threads(1)
    lines = []

    def emit(key, toks):
        lines.append(key + "\t" + " ".join(toks))

    emit("data/X", [num(v) for row in X for v in row])
    emit("data/Y", [num(v) for row in Y for v in row])
    emit("data/W", [num(v) for row in W0 for v in row])
    emit("data/b", [num(v) for v in B0])
    emit("data/U", [num(v) for v in U0])

    # ---- optimizers ----
    for name, cls, build, kwargs in CONFIGS:
        for dname, dtype in DTYPES:
            x, y = torch.tensor(X, dtype=dtype), torch.tensor(Y, dtype=dtype)
            W = torch.tensor(W0, dtype=dtype, requires_grad=True)
            b = torch.tensor(B0, dtype=dtype, requires_grad=True)
            U = torch.tensor(U0, dtype=dtype, requires_grad=True)
            opt = cls(build(W, b, U), **kwargs)
            for step in range(1, max(STEPS) + 1):
                opt.zero_grad()
                loss = ((x @ W.t() + b - y) ** 2).mean()
                loss.backward()
                opt.step()
                if step in STEPS:
                    for pname, p in (("W", W), ("b", b), ("U", U)):
                        emit(f"opt/{name}/{dname}/{step}/{pname}", tokens(p))
            sd = opt.state_dict()
            for index, st in sorted(sd["state"].items()):
                names = sorted(k for k, v in st.items() if v is not None)
                emit(f"statekeys/{name}/{dname}/{index}", names)
                for k in names:
                    v = st[k]
                    emit(f"state/{name}/{dname}/{index}/{k}", tokens(v) if torch.is_tensor(v) else [num(v)])
            for gi, g in enumerate(sd["param_groups"]):
                toks = ["params:" + ",".join(str(i) for i in g["params"])]
                for k in sorted(g):
                    if k == "params":
                        continue
                    t = option_token(k, g[k])
                    if t is not None:
                        toks.append(t)
                emit(f"groups/{name}/{dname}/{gi}", toks)

    # ---- learning-rate schedulers ----
    def sgd_two_groups():
        p1, p2 = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
        return optim.SGD([{'params': [p1]}, {'params': [p2], 'lr': 0.05}], lr=0.1)

    schedulers = [
        ("step", lambda o: [lr_scheduler.StepLR(o, step_size=7, gamma=0.5)]),
        ("step_default", lambda o: [lr_scheduler.StepLR(o, 4)]),
        ("multistep", lambda o: [lr_scheduler.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3)]),
        ("exponential", lambda o: [lr_scheduler.ExponentialLR(o, gamma=0.9)]),
        ("cosine", lambda o: [lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)]),
        ("cosine_default", lambda o: [lr_scheduler.CosineAnnealingLR(o, T_max=7)]),
        ("lambda", lambda o: [lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e)]),
        ("lambda_list", lambda o: [lr_scheduler.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e])]),
        ("linear_default", lambda o: [lr_scheduler.LinearLR(o)]),
        ("linear_custom", lambda o: [lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=12)]),
        ("linear_decay", lambda o: [lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20)]),
        ("chained", lambda o: [lr_scheduler.ExponentialLR(o, gamma=0.95), lr_scheduler.StepLR(o, 5, 0.5)]),
    ]
    for name, make in schedulers:
        opt = sgd_two_groups()
        scheds = make(opt)
        seq = [g["lr"] for g in opt.param_groups]
        for _ in range(30):
            opt.step()
            for s in scheds:
                s.step()
            seq += [g["lr"] for g in opt.param_groups]
        assert seq[-2:] == scheds[-1].get_last_lr()
        emit(f"sched/{name}", [num(v) for v in seq])

    metrics = [1.0, 0.9, 0.85, 0.86, 0.84, 0.8499, 0.85, 0.83, 0.83, 0.84, 0.9, 0.8, 0.8, 0.8, 0.79,
               0.795, 0.7, 0.71, 0.72, 0.73, 0.74, 0.69, 0.7, 0.7, 0.7, 0.7, 0.6, 0.65, 0.66, 0.67]
    emit("plateau/metrics", [num(v) for v in metrics])
    plateaus = [
        ("plateau_default", dict()),
        ("plateau_min", dict(patience=2)),
        ("plateau_max_abs", dict(mode="max", threshold_mode="abs", threshold=0.01, factor=0.5, patience=1,
                                 cooldown=2)),
        ("plateau_min_lrs", dict(factor=0.2, patience=0, min_lr=[0.001, 0.0005])),
        ("plateau_cooldown", dict(patience=1, cooldown=3, threshold=0.05, min_lr=0.002)),
        ("plateau_eps", dict(factor=0.5, patience=0, eps=0.02)),
    ]
    for name, kwargs in plateaus:
        opt = sgd_two_groups()
        s = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        seq = [g["lr"] for g in opt.param_groups]
        for m in metrics:
            opt.step()
            s.step(m)
            seq += [g["lr"] for g in opt.param_groups]
        emit(f"sched/{name}", [num(v) for v in seq])

    # ---- gradient clipping ----
    G = [[[0.3, -1.2, 0.5, 2.1], [-0.7, 0.05, 1.6, -0.4], [0.9, -2.2, 0.15, 0.6]],
         [1.1, -0.3, 0.8, -1.9, 0.2],
         [[-0.45, 1.3], [0.7, -0.05]]]
    emit("clip/grads/g0", [num(v) for row in G[0] for v in row])
    emit("clip/grads/g1", [num(v) for v in G[1]])
    emit("clip/grads/g2", [num(v) for row in G[2] for v in row])
    clip_cases = [
        ("l2", 1.0, 2.0, torch.float32),
        ("l2_noclip", 100.0, 2.0, torch.float32),
        ("inf", 0.5, math.inf, torch.float32),
        ("l1", 2.0, 1.0, torch.float32),
        ("p3_5", 1.5, 3.5, torch.float32),
        ("l2_f64", 1.0, 2.0, torch.float64),
        ("value", 0.5, None, torch.float32),
    ]
    for name, max_norm, norm_type, dtype in clip_cases:
        ps = [torch.zeros(torch.tensor(g).shape, dtype=dtype, requires_grad=True) for g in G]
        for p, g in zip(ps, G):
            p.grad = torch.tensor(g, dtype=dtype)
        no_grad = torch.zeros(3, dtype=dtype, requires_grad=True)  # skipped: no grad
        if norm_type is None:
            torch.nn.utils.clip_grad_value_(ps + [no_grad], max_norm)
        else:
            total = torch.nn.utils.clip_grad_norm_(ps + [no_grad], max_norm, norm_type)
            emit(f"clip/{name}/total", [num(total)])
        for i, p in enumerate(ps):
            emit(f"clip/{name}/g{i}", tokens(p.grad))

    with open(out_path, "w") as f:
        f.write(f"# generated by tests/parity/gen_optim_ref.py with torch {torch.__version__}\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen_optim_ref.py OUT_FILE")
    main(sys.argv[1])
