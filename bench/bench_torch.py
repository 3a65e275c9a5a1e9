#!/usr/bin/env python3
"""PyTorch's side of the benchmark suite: the cases of bench_ctorch.cpp and bench_libtorch.cpp,
same shapes, same recipes, same seeds, same command line and JSON lines (see bench/harness.hpp):

    /usr/bin/python3 bench/bench_torch.py --case tiny
    /usr/bin/python3 bench/bench_torch.py --serve        # what bench/run.py drives

--threads N sets torch.set_num_threads (default 1); OpenBLAS's threads come from
OPENBLAS_NUM_THREADS, which torch.set_num_threads does not change.
"""
import argparse
import json
import math
import re
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Trainer:
    """A model, its loss, its optimizer and one fixed batch; step() is one training step in the
    tutorial's order: forward, loss, zero_grad, backward, step. zero_grad drops the grads
    (set_to_none=True, torch 2.x's default; 1.13's is False) as ctorch's and libtorch's steps do."""

    def __init__(self, model, loss_fn, opt, x, y):
        self.model, self.loss_fn, self.opt, self.x, self.y = model, loss_fn, opt, x, y

    def step(self):
        loss = self.loss_fn(self.model(self.x), self.y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def prepared(self):
        with torch.no_grad():
            check = self.loss_fn(self.model(self.x), self.y).item()
        return self.step, check


def tiny():
    torch.manual_seed(0)
    x = torch.randn(100, 1)
    y = x * 2.0 + 1.0
    model = nn.Sequential(nn.Linear(1, 1))
    return Trainer(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), x, y).prepared()


def mlp(adam):
    torch.manual_seed(0)
    x = torch.randn(32, 10)
    y = torch.randn(32, 1)
    model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3) if adam else torch.optim.SGD(model.parameters(), lr=0.01)
    return Trainer(model, nn.MSELoss(), opt, x, y).prepared()


def quickstart_step():
    torch.manual_seed(0)
    x = torch.rand(64, 784)
    y = torch.randint(0, 10, (64,))
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    return Trainer(model, nn.CrossEntropyLoss(), opt, x, y).prepared()


def large():
    torch.manual_seed(0)
    x = torch.randn(256, 784)
    y = torch.randint(0, 10, (256,))
    model = nn.Sequential(nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return Trainer(model, nn.CrossEntropyLoss(), opt, x, y).prepared()


def op(which):
    torch.manual_seed(0)
    a, b = torch.randn(64, 512), torch.randn(64, 512)
    if which == "add":
        return (lambda: a + b), (a + b).sum().item()
    if which == "relu":
        return (lambda: torch.relu(a)), torch.relu(a).sum().item()
    if which == "sum0":
        return (lambda: a.sum(0)), a.sum(0).sum().item()
    x, w = torch.randn(64, 784), torch.randn(784, 512)
    if which == "matmul":
        return (lambda: torch.matmul(x, w)), torch.matmul(x, w).sum().item()
    W = (torch.randn(512, 784) * 0.05).requires_grad_()
    bias = torch.randn(512).requires_grad_()
    gy = torch.ones(64, 512)
    with torch.no_grad():
        check = F.linear(x, W, bias).sum().item()

    def step():  # linear forward + backward; the grads are dropped so every iteration is the same
        F.linear(x, W, bias).backward(gy)
        W.grad = None
        bias.grad = None
    return step, check


def transformer_block():
    """One forward + backward of TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0,
    batch_first=True) on x [32, 64, 256], loss out.pow(2).mean(); grads dropped before each step.
    The layer stays in train mode (dropout 0), so torch takes its regular (not the fused inference) path."""
    torch.manual_seed(0)
    x = torch.randn(32, 64, 256)
    layer = nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0, batch_first=True)
    with torch.no_grad():
        check = (layer(x) * x).mean().item()  # depends on every weight (the loss is ~1 for any)

    def step():
        layer.zero_grad(set_to_none=True)
        layer(x).pow(2).mean().backward()
    return step, check


def scale_step(batch, width):
    """The scaling sweep's step (run.py --scaling): Linear(W, W), ReLU, Linear(W, W), ReLU,
    Linear(W, 10) on a batch of B, CrossEntropyLoss, SGD lr 0.01 (as bench_ctorch.cpp's scale_step)."""
    torch.manual_seed(0)
    x = torch.randn(batch, width)
    y = torch.randint(0, 10, (batch,))
    model = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return Trainer(model, nn.CrossEntropyLoss(), opt, x, y).prepared()


def resolve(name):
    """Parametrised cases that are not in CASES (not --list'ed): "scale_b<B>_w<W>"."""
    m = re.fullmatch(r"scale_b(\d+)_w(\d+)", name)
    if m and int(m.group(1)) > 0 and int(m.group(2)) > 0:
        b, w = int(m.group(1)), int(m.group(2))
        return lambda: scale_step(b, w)
    return None


CASES = {
    "tiny": tiny,
    "mlp_sgd": lambda: mlp(False),
    "mlp_adam": lambda: mlp(True),
    "quickstart_step": quickstart_step,
    "large": large,
    "op_add": lambda: op("add"),
    "op_relu": lambda: op("relu"),
    "op_matmul": lambda: op("matmul"),
    "op_sum0": lambda: op("sum0"),
    "op_linear_fb": lambda: op("linear_fb"),
    "transformer_block": transformer_block,
}


CPU_CLOCK = False  # --clock cpu: time steps in process CPU time (harness.hpp's --clock)


def measure(name, min_time, warmup, min_iters):
    """Same loop as bench::measure in harness.hpp."""
    step, check = (CASES.get(name) or resolve(name))()
    clock = time.perf_counter
    step_clock = time.process_time if CPU_CLOCK else time.perf_counter  # --clock cpu|wall
    t0, w = clock(), 0
    while w < 2 or clock() - t0 < warmup:
        step()
        w += 1
    us = []
    start = clock()
    while len(us) < min_iters or (clock() - start < min_time and len(us) < 2000000):
        a = step_clock()
        step()
        b = step_clock()
        us.append((b - a) * 1e6)
    n = len(us)
    mean = sum(us) / n
    us.sort()
    median = us[n // 2] if n % 2 else 0.5 * (us[n // 2 - 1] + us[n // 2])
    return {"impl": "torch", "case": name, "median_us": median, "min_us": us[0], "mean_us": mean, "iters": n,
            "check": check if math.isfinite(check) else None}


def run_json(name, min_time, warmup, min_iters):
    if name not in CASES and resolve(name) is None:
        return json.dumps({"impl": "torch", "case": name, "error": "unknown case"})
    try:
        return json.dumps(measure(name, min_time, warmup, min_iters))
    except Exception as e:  # report, keep serving
        return json.dumps({"impl": "torch", "case": name, "error": f"{type(e).__name__}: {e}"})


def info():
    return json.dumps({"impl": "torch", "version": torch.__version__, "intra_op_threads": torch.get_num_threads(),
                       "python": sys.version.split()[0]})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--list", action="store_true")
    p.add_argument("--info", action="store_true")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--case", action="append", default=[])
    p.add_argument("--min-time", type=float, default=0.5)
    p.add_argument("--warmup", type=float, default=0.2)
    p.add_argument("--min-iters", type=int, default=10)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="time steps in wall-clock time (default) or in process CPU time")
    a = p.parse_args()
    global CPU_CLOCK
    CPU_CLOCK = a.clock == "cpu"
    torch.set_num_threads(a.threads)
    if a.list:
        print("\n".join(CASES))
        return
    if a.info:
        print(info(), flush=True)
    if a.serve:
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "quit":
                break
            if parts[0] == "info":
                print(info(), flush=True)
            elif parts[0] == "run" and len(parts) == 5:
                print(run_json(parts[1], float(parts[2]), float(parts[3]), int(parts[4])), flush=True)
            else:
                print(json.dumps({"error": "unknown command: " + line.strip()}), flush=True)
        return
    names = list(CASES) if a.case == ["all"] else a.case
    if not names and not a.info:
        p.error("nothing to do: --list, --info, --serve or --case NAME")
    for n in names:
        print(run_json(n, a.min_time, a.warmup, a.min_iters), flush=True)


if __name__ == "__main__":
    main()
