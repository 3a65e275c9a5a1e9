#!/usr/bin/python3
"""PyTorch's side of the micro-benchmarks (bench/micro.cpp): the same single ops, under the same case
names, timed timeit-style, and the Markdown table that puts the two side by side.

  OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/micro_torch.py --out torch.json
  bench/micro_torch.py --list
  bench/micro_torch.py --table ctorch.json torch.json     # the table (bench/micro.sh does all three)

Each case compiles its statement into a timeit loop (no Python function call around it), warms up
for --warmup seconds, picks a loop count that fills --min-time, then times --repeat loops and
reports the median (and min) time per call. torch.set_num_threads(1); OpenBLAS's threads and
kernels come from the environment (OPENBLAS_NUM_THREADS, OPENBLAS_CORETYPE), which micro.sh sets
for both processes.
"""
import argparse
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time
import timeit

B, IN, H, C = 64, 784, 512, 10  # the Quickstart's batch and widths

# name -> (setup code, statement, flags). Setup runs once per case in a fresh namespace holding
# torch, nn, F; "nograd" times the statement with grad mode off (ctorch: NoGradGuard around the loop).
CASES = {
    "empty_64x512": ("", "torch.empty(64, 512)"),
    "zeros_64x512": ("", "torch.zeros(64, 512)"),
}
for _op, _stmt in (("add", "a + b"), ("mul", "a * b"), ("relu", "torch.relu(a)")):
    CASES[f"{_op}_64x512"] = ("a = torch.randn(64, 512); b = torch.randn(64, 512)", _stmt)
    CASES[f"{_op}_64x512_t"] = ("a = torch.randn(512, 64).t(); b = torch.randn(512, 64).t()", _stmt)
CASES.update({
    "add_64x512_mixed": ("a = torch.randn(64, 512); b = torch.randn(512, 64).t()", "a + b"),
    "relu_backward_64x512": ("x = torch.randn(64, 512, requires_grad=True); g = torch.randn(64, 512); y = torch.relu(x)",
                             "y.backward(g, retain_graph=True); x.grad = None"),
    "sum0_64x512": ("a = torch.randn(64, 512)", "a.sum(0)"),
    "sum_64x512": ("a = torch.randn(64, 512)", "a.sum()"),
    "softmax_64x10": ("a = torch.randn(64, 10)", "torch.softmax(a, 1)"),
    "softmax_64x512": ("a = torch.randn(64, 512)", "torch.softmax(a, 1)"),
    "matmul_64x784x512": ("x = torch.randn(64, 784); w = torch.randn(784, 512)", "torch.matmul(x, w)"),
    "linear_64x784x512": ("x = torch.randn(64, 784); w = torch.randn(512, 784); b = torch.randn(512)",
                          "F.linear(x, w, b)"),
    "matmul_100x1x1": ("x = torch.randn(100, 1); w = torch.randn(1, 1)", "torch.matmul(x, w)"),
    "linear_100x1x1": ("x = torch.randn(100, 1); w = torch.randn(1, 1); b = torch.randn(1)", "F.linear(x, w, b)"),
    "linear_fb_64x784x512": ("fc = nn.Linear(784, 512); x = torch.randn(64, 784, requires_grad=True); "
                             "g = torch.randn(64, 512)",
                             "fc(x).backward(g); fc.zero_grad(set_to_none=True); x.grad = None"),
    "cross_entropy_64x10": ("logits = torch.randn(64, 10); y = torch.randint(0, 10, (64,))",
                            "F.cross_entropy(logits, y)"),
    "cross_entropy_fb_64x10": ("logits = torch.randn(64, 10, requires_grad=True); y = torch.randint(0, 10, (64,))",
                               "F.cross_entropy(logits, y).backward(); logits.grad = None"),
    "mse_loss_100x1": ("p = torch.randn(100, 1); y = torch.randn(100, 1)", "F.mse_loss(p, y)"),
    "mse_loss_fb_100x1": ("p = torch.randn(100, 1, requires_grad=True); y = torch.randn(100, 1)",
                          "F.mse_loss(p, y).backward(); p.grad = None"),
    "sgd_step_670k": ("model = quickstart_model(); ps = list(model.parameters())\n"
                      "for p in ps: p.grad = torch.randn_like(p) * 1e-3\n"
                      "opt = torch.optim.SGD(ps, lr=1e-3)", "opt.step()"),
    "adam_step_670k": ("model = quickstart_model(); ps = list(model.parameters())\n"
                       "for p in ps: p.grad = torch.randn_like(p) * 1e-3\n"
                       "opt = torch.optim.Adam(ps, lr=1e-3)", "opt.step()"),
    "add_16_plain": ("a = torch.ones(16); b = torch.ones(16)", "a + b"),
    "add_16_nograd": ("a = torch.ones(16, requires_grad=True); b = torch.ones(16, requires_grad=True)", "a + b",
                      "nograd"),
    "add_16_grad": ("a = torch.ones(16, requires_grad=True); b = torch.ones(16, requires_grad=True)", "a + b"),
    "backward_tiny_graph": ("x = torch.randn(100, 1); y = x * 2.0 + 1.0\n"
                            "w = torch.randn(1, requires_grad=True); b = torch.randn(1, requires_grad=True)\n"
                            "loss = (x * w + b - y).pow(2).mean()",
                            "loss.backward(retain_graph=True); w.grad = None; b.grad = None"),
    "quickstart_step": ("x = torch.rand(64, 784); y = torch.randint(0, 10, (64,)); model = quickstart_model()\n"
                        "loss_fn = nn.CrossEntropyLoss(); opt = torch.optim.SGD(model.parameters(), lr=1e-3)",
                        "loss = loss_fn(model(x), y); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()"),
})

# The products each op or step is made of: the sgemm_* cases of bench_micro (ctorch's binary only;
# both libraries call the same OpenBLAS, so it is the floor of both).
FLOORS = {
    "matmul_64x784x512": "sgemm_64x784x512",
    "linear_64x784x512": "sgemm_linear_64x784x512",
    "matmul_100x1x1": "sgemm_100x1x1",
    "linear_fb_64x784x512": "sgemm3_linear_fb_64x784x512",
    "quickstart_step": "sgemm8_quickstart_step",
}


def openblas_corename():
    """The kernels OpenBLAS runs in this process (torch's libtorch_cpu is linked to libblas.so.3)."""
    for lib in ("libblas.so.3", "libopenblas.so.0"):
        try:
            f = ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return f().decode()
    return "?"


def time_case(torch, name, min_time, repeat, warmup, clock):
    setup, stmt, *flags = CASES[name]
    ns = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    ns["quickstart_model"] = lambda: torch.nn.Sequential(
        torch.nn.Linear(IN, H), torch.nn.ReLU(), torch.nn.Linear(H, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    torch.manual_seed(0)
    exec(setup, ns)
    now = time.process_time if clock == "cpu" else time.perf_counter
    timer = timeit.Timer(stmt, timer=now, globals=ns)
    with torch.set_grad_enabled("nograd" not in flags):
        t0 = now()
        n = 0
        while n < 3 or now() - t0 < warmup:
            timer.timeit(1)
            n += 1
        per_call = max((now() - t0) / n, 1e-9)
        number = max(1, int(min_time / per_call))
        samples = [timer.timeit(number) / number * 1e9 for _ in range(repeat)]
    return {"median_ns": statistics.median(samples), "min_ns": min(samples), "number": number, "samples_ns": samples}


def run(args):
    import torch
    torch.set_num_threads(1)
    names = [c for c in CASES if not args.filter or re.search(args.filter, c)]
    out = {"impl": "torch", "torch": torch.__version__, "corename": openblas_corename(),
           "threads": torch.get_num_threads(), "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
           "clock": args.clock, "load_avg_start": os.getloadavg()[0], "cases": {}}
    for name in names:
        out["cases"][name] = time_case(torch, name, args.min_time, args.repeat, args.warmup, args.clock)
        print(f"{name:32s} {fmt_ns(out['cases'][name]['median_ns']):>10s}", file=sys.stderr)
    out["load_avg_end"] = os.getloadavg()[0]
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


def fmt_ns(ns):
    if ns is None or math.isnan(ns):
        return "—"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs" if ns < 1e4 else f"{ns / 1e3:.1f} µs"
    return f"{ns / 1e6:.2f} ms"


def load_ctorch(path, clock):
    """Google Benchmark's JSON (--benchmark_format=json, with repetitions): the median aggregate
    of each case (or its single run), in ns (wall: real_time, cpu: cpu_time), with the throughput
    counters (which Google Benchmark computes from the wall time under UseRealTime)."""
    with open(path) as f:
        doc = json.load(f)
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    res, single = {}, {}
    for b in doc["benchmarks"]:
        name = re.sub(r"/real_time$", "", b.get("run_name", b["name"]))  # UseRealTime()'s suffix
        unit = scale[b.get("time_unit", "ns")]
        entry = {"ns": b["cpu_time" if clock == "cpu" else "real_time"] * unit}
        for k in ("bytes", "items"):  # per iteration (the counters are per second of wall time)
            if b.get(f"{k}_per_second"):
                entry[k] = b[f"{k}_per_second"] * b["real_time"] * unit / 1e9
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                res[name] = entry
        else:
            single.setdefault(name, entry)
    for k, v in single.items():
        res.setdefault(k, v)
    return doc.get("context", {}), res


def table(ctorch_jsons, torch_jsons, clock):
    """The Markdown table. Several rounds (comma-separated files, one pair per round, run in turn):
    each cell is the median over rounds of the per-round medians."""
    tjs = []
    for p in torch_jsons.split(","):
        with open(p) as f:
            tjs.append(json.load(f))
    clock = tjs[0].get("clock", clock)  # the clock PyTorch's side was timed with: ctorch's time to match
    rounds = [load_ctorch(p, clock) for p in ctorch_jsons.split(",")]
    ctx = rounds[0][0]
    ct = {}
    for name in rounds[0][1]:
        vals = [r[1][name] for r in rounds if name in r[1]]
        ct[name] = {"ns": statistics.median(v["ns"] for v in vals)}
        for k in ("bytes", "items"):
            if vals[0].get(k):
                ct[name][k] = vals[0][k]
    tj = tjs[0]
    pt = {name: statistics.median(t["cases"][name]["median_ns"] for t in tjs if name in t["cases"])
          for name in tj["cases"]}
    loads = " ".join(f"{(r[0].get('load_avg') or [float('nan')])[0]:.1f}" for r in rounds)
    tloads = " ".join(f"{t.get('load_avg_start', float('nan')):.1f}" for t in tjs)
    lines = [f"ctorch: {ctx.get('openblas_corename', '?')} kernels, {ctx.get('ctorch_threads', '?')} thread(s); "
             f"PyTorch {tj.get('torch')}: {tj.get('corename')} kernels, {tj.get('threads')} thread(s); "
             f"{ctx.get('date', '')[:16]}; {len(rounds)} round(s), {clock} clock; 1-min load average at each "
             f"round's start: {loads} (ctorch), {tloads} (PyTorch)", ""]
    lines.append("| case | ctorch | PyTorch | ctorch / PyTorch | ctorch throughput | op / its sgemm: ctorch, PyTorch |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    names = list(ct) + [n for n in pt if n not in ct]
    for name in names:
        c = ct.get(name, {}).get("ns")
        p = pt.get(name)
        ratio = f"{c / p:.2f}" if c and p else "—"
        thr = ""
        e = ct.get(name, {})
        if e.get("bytes"):
            thr = f"{e['bytes'] / c:.1f} GB/s"
        elif e.get("items"):  # multiply-adds: 2 flops each
            thr = f"{2 * e['items'] / c:.1f} GFLOP/s"
        floor = ""
        if name in FLOORS and FLOORS[name] in ct:
            f_ns = ct[FLOORS[name]]["ns"]
            floor = f"{c / f_ns:.2f}" if c else "—"
            floor += f", {p / f_ns:.2f}" if p else ", —"
        lines.append(f"| `{name}` | {fmt_ns(c)} | {fmt_ns(p)} | {ratio} | {thr} | {floor} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    ap.add_argument("--filter", help="regular expression: only the matching cases")
    ap.add_argument("--min-time", type=float, default=0.02, help="seconds per timed loop (default 0.02)")
    ap.add_argument("--repeat", type=int, default=5, help="timed loops per case; the median is reported (default 5)")
    ap.add_argument("--warmup", type=float, default=0.02, help="warm-up seconds per case (default 0.02)")
    ap.add_argument("--list", action="store_true", help="print the case names")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall: perf_counter (default); cpu: process CPU time, steadier on a busy machine")
    ap.add_argument("--table", nargs=2, metavar=("CTORCH_JSONS", "TORCH_JSONS"),
                    help="no runs: print the Markdown table of bench_micro's JSON against this script's "
                         "(comma-separated lists: one file per round; medians over the rounds)")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
    elif a.table:
        print(table(*a.table, a.clock))
    else:
        run(a)


if __name__ == "__main__":
    main()
