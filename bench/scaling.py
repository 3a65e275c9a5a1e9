#!/usr/bin/env python3
"""Scaling: how the step time of an MLP grows with the batch size and the width, in ctorch, PyTorch
and libtorch (when bench_libtorch is built), at 1 thread; see bench/README.md ("Scaling").

The step: Linear(W, W), ReLU, Linear(W, W), ReLU, Linear(W, 10) on a fixed batch of B samples,
CrossEntropyLoss, SGD lr 0.01, zero_grad(set_to_none=True): the `scale_b<B>_w<W>` case of
bench_ctorch / bench_torch.py / bench_libtorch, plus `scale_gemm_b<B>_w<W>` (bench_ctorch only):
the step's 8 cblas_sgemm calls alone, the floor the three share (they all use the same OpenBLAS).

Two sweeps: B = 1, 2, 4, ..., 1024 at W = 256 and W = 64, 128, ..., 4096 at B = 64. For each
repetition, for each point, each implementation runs one block in turn (the order rotates), in
warm `--serve` processes, as in run.py. Steps are timed in process CPU time by default (--clock
cpu; --clock wall for wall-clock time). Writes OUT/scaling.{md,csv,json,png}.

    bench/scaling.sh                        # build (build-bench) + this script
    bench/run.py --scaling [options]        # the same, without building
    bench/scaling.py --report-only --out DIR   # redo table and plot from DIR/scaling.json
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (bench/run.py: servers, machine line, formatting)

IMPLS = ["ctorch", "torch", "libtorch", "gemm"]  # "gemm": bench_ctorch's scale_gemm case
NAMES = {"ctorch": "ctorch", "torch": "PyTorch", "libtorch": "libtorch", "gemm": "sgemm only"}


def est_seconds(b, w):
    """A rough step time (GEMM flops at ~10 GFLOP/s, a pessimistic single-core rate) that sizes
    the blocks: ~10 B W^2 flops (forward 2, weight gradients 2, input gradient 1, of 2 B W^2)."""
    return (10.0 * b * w * w + 80.0 * b * w) / 1e10


def block_params(b, w, a):
    """(min_time_s, warmup_s, min_iters) of one block, and the number of repetitions. Short steps:
    0.25 s blocks; longer ones: 2 warm-up steps (the harness's minimum) and 3 timed steps, 2 above
    ~0.2 s per step (width 4096): short blocks, and the median over repetitions."""
    est = est_seconds(b, w)
    if est < 0.02:
        return (0.25, 0.1, 5), a.reps
    return (0.0, 0.0, 3 if est < 0.2 else 2), a.large_reps


def case_name(impl, b, w):
    return f"scale_gemm_b{b}_w{w}" if impl == "gemm" else f"scale_b{b}_w{w}"


def points_of(a):
    """[(sweep, batch, width)] in sweep order; the shared point appears in both sweeps."""
    pts = [("batch", b, a.width) for b in a.batches] + [("width", a.batch, w) for w in a.widths]
    return pts


def run_sweep(a, suite):
    samples = {}  # (b, w) -> impl -> [block results]
    impls = [i for i in IMPLS if i != "libtorch" or "libtorch" in suite.impls]
    unique = []
    for _, b, w in points_of(a):
        if (b, w) not in unique:
            unique.append((b, w))
    max_reps = max(block_params(b, w, a)[1] for b, w in unique)
    for r in range(max_reps):
        t0 = time.time()
        for k, (b, w) in enumerate(unique):
            (t, wu, n), reps = block_params(b, w, a)
            if r >= reps:
                continue
            s = (r + k) % len(impls)
            for impl in impls[s:] + impls[:s]:
                server = suite.server("1 thread", "ctorch" if impl == "gemm" else impl)
                res = server.ask(f"run {case_name(impl, b, w)} {t} {wu} {n}")
                if "error" in res:
                    R.log(f"  {impl} b{b} w{w}: ERROR {res['error']}")
                    continue
                samples.setdefault((b, w), {}).setdefault(impl, []).append(res)
        R.log(f"  repetition {r + 1}/{max_reps} done in {time.time() - t0:.0f} s (load {R.loadavg():.2f})")
    return samples


STAT = "median_us"  # --stat: which per-block statistic is summarised (median over repetitions)


def med(samples, b, w, impl):
    return R.median([x[STAT] for x in samples.get((b, w), {}).get(impl, [])])


def ratio(x, y):
    return x / y if x and y else None


def share_outside(step, gemm):
    return 1 - gemm / step if step and gemm else None


def rows_of(a, samples):
    rows = []
    for sweep, b, w in points_of(a):
        m = {i: med(samples, b, w, i) for i in IMPLS}
        checks = {i: x[0].get("check") for i, x in samples.get((b, w), {}).items() if i != "gemm" and x}
        rows.append({
            "sweep": sweep, "batch": b, "width": w, "stat": STAT[:-3],
            **{f"{i}_us": m[i] for i in IMPLS},
            "ctorch_over_torch": ratio(m["ctorch"], m["torch"]),
            "ctorch_over_libtorch": ratio(m["ctorch"], m["libtorch"]),
            **{f"{i}_us_per_sample": (m[i] / b if m[i] else None) for i in ["ctorch", "torch", "libtorch"]},
            **{f"outside_sgemm_{i}": share_outside(m[i], m["gemm"]) for i in ["ctorch", "torch", "libtorch"]},
            "gflops_ctorch": (10.0 * b * w * w + 80.0 * b * w) / m["ctorch"] / 1e3 if m["ctorch"] else None,
            "checks": checks,
        })
    return rows


def fmt_share(s):
    if s is None:
        return "n/a"
    return f"{100 * s:.0f}%" if s >= 0 else f"{100 * s:.0f}% (noise)"


def fmt_r(r):
    return "n/a" if r is None else f"{r:.2f}"


def settle_point(rows, key, tol):
    """The first x from which ctorch/PyTorch stays within tol of the GEMM-bound ratio (its median over
    the three largest x): the batch or width at which the per-step overheads stop mattering."""
    vals = [(r[key], r["ctorch_over_torch"]) for r in rows if r["ctorch_over_torch"]]
    if len(vals) < 2:
        return None, None
    r_inf = R.median([v for _, v in vals[-3:]])
    x = None
    for xv, rv in reversed(vals):
        if abs(rv - r_inf) <= tol * r_inf:
            x = xv
        else:
            break
    return x, r_inf


def first_below(rows, key, impl, share):
    """The first x from which impl's share of the step outside sgemm stays below share."""
    x = None
    for r in reversed(rows):
        s = r[f"outside_sgemm_{impl}"]
        if s is not None and s < share:
            x = r[key]
        else:
            break
    return x


def build_md(a, rows, machine, load_start, load_end, elapsed, has_lt):
    impls = ["ctorch", "torch"] + (["libtorch"] if has_lt else [])
    head = (["sweep", "batch", "width"] + [NAMES[i] for i in impls] + ["sgemm only"] +
            [f"ctorch / {NAMES[i]}" for i in impls[1:]] + ["per sample: " + " / ".join(NAMES[i] for i in impls)] +
            ["outside sgemm: " + " / ".join(NAMES[i] for i in impls)])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    warnings = []
    for r in rows:
        cells = [r["sweep"], str(r["batch"]), str(r["width"])]
        cells += [R.fmt_time(r[f"{i}_us"]) for i in impls] + [R.fmt_time(r["gemm_us"])]
        cells += [fmt_r(r[f"ctorch_over_{i}"]) for i in impls[1:]]
        cells.append(" / ".join(R.fmt_time(r[f"{i}_us_per_sample"]) for i in impls))
        cells.append(" / ".join(fmt_share(r[f"outside_sgemm_{i}"]) for i in impls))
        lines.append("| " + " | ".join(cells) + " |")
        vals = [v for v in r["checks"].values() if v is not None]
        if vals and any(abs(v - vals[0]) > 1e-4 * max(1.0, abs(vals[0])) for v in vals):
            warnings.append(f"b{r['batch']} w{r['width']}: initial losses differ: {r['checks']}")
    by_b = [r for r in rows if r["sweep"] == "batch"]
    by_w = [r for r in rows if r["sweep"] == "width"]
    summary = []
    for name, rs, key, fixed in (("batch", by_b, "batch", f"width {a.width}"), ("width", by_w, "width",
                                                                                  f"batch {a.batch}")):
        if not rs:
            continue
        x, r_inf = settle_point(rs, key, 0.10)
        x_ct = first_below(rs, key, "ctorch", 0.10)
        first = rs[0]
        over = {i: (first[f"{i}_us"] - first["gemm_us"]) if first[f"{i}_us"] and first["gemm_us"] else None
                for i in impls}
        summary.append(
            f"* {name} sweep ({fixed}): ctorch / PyTorch goes from {fmt_r(first['ctorch_over_torch'])} at {key} "
            f"{first[key]} to {fmt_r(r_inf)} at {key} {rs[-3][key] if len(rs) > 2 else rs[0][key]}-{rs[-1][key]} (the GEMM-bound "
            f"ratio, median of the 3 largest) and stays within 10% of "
            f"it from {key} {x if x is not None else 'n/a'} on; ctorch's step is >90% sgemm from {key} "
            f"{x_ct if x_ct is not None else 'n/a'} on. At {key} {first[key]}, the step minus its sgemm calls: "
            + ", ".join(f"{NAMES[i]} {R.fmt_time(over[i])}" for i in impls) + ".")
    stat = "block medians" if STAT == "median_us" else "block minima (--stat min)"
    stat += "; steps timed in process CPU time (--clock cpu)" if a.clock == "cpu" else ""
    md = [f"**Machine:** {machine}", "",
          "MLP Linear(W, W), ReLU, Linear(W, W), ReLU, Linear(W, 10), CrossEntropyLoss, SGD lr 0.01, "
          "zero_grad(set_to_none), 1 thread (OPENBLAS_NUM_THREADS=1, torch 1 thread). Times per training step: "
          f"medians over repetitions of {stat}. `sgemm only`: the step's 8 cblas_sgemm calls alone; "
          "`outside sgemm` = 1 − sgemm only / step. Ratios below 1: ctorch is faster.", ""] + lines + [""] + summary
    if load_start > 1.5 or load_end > 1.5:
        md += ["", f"**Note:** taken under load (load average {load_start:.2f} → {load_end:.2f}): the absolute "
                   "numbers are noisy; the interleaving keeps the ratios fairer."]
    md += ["", f"Run time: {elapsed / 60:.1f} min."]
    md += [""] + ["**Warning:** " + w for w in warnings] if warnings else []
    return "\n".join(md)


def write_csv(path, rows):
    keys = [k for k in rows[0] if k != "checks"]
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(keys)
        for r in rows:
            wr.writerow(["" if r[k] is None else (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in keys])


def write_plot(path, rows, machine, has_lt, clock):
    if not shutil.which("gnuplot"):
        R.log("note: gnuplot not found, no plot")
        return False
    base = path[:-4]
    for sweep in ("batch", "width"):
        with open(f"{base}_{sweep}.dat", "w") as f:
            f.write(f"# {sweep} ctorch_us torch_us libtorch_us sgemm_us ctorch/torch ctorch/libtorch\n")
            for r in rows:
                if r["sweep"] != sweep:
                    continue
                vals = [r[sweep], r["ctorch_us"], r["torch_us"], r["libtorch_us"], r["gemm_us"],
                        r["ctorch_over_torch"], r["ctorch_over_libtorch"]]
                f.write(" ".join("NaN" if v is None else f"{v:.6g}" for v in vals) + "\n")
    rb = [r for r in rows if r["sweep"] == "batch"]
    rw = [r for r in rows if r["sweep"] == "width"]
    fixed_w = rb[0]["width"] if rb else "?"
    fixed_b = rw[0]["batch"] if rw else "?"
    ratios = [r[k] for r in rows for k in ("ctorch_over_torch", "ctorch_over_libtorch") if r[k]]
    lo, hi = min(ratios + [1.0]) / 1.3, max(ratios + [1.0]) * 1.3
    title = (machine.split(";")[0] + "; " + machine.split(";")[-1].strip()).replace('"', "")
    title += "; CPU time per step" if clock == "cpu" else ""
    lt = lambda col, extra="": (f", '' using 1:{col} with linespoints pt 9 lc rgb '#ff9900' title 'libtorch'{extra}"
                                if has_lt else "")
    script = f"""
set terminal pngcairo size 1300,950 font ',10'
set output '{path}'
set multiplot layout 2,2 title "MLP training step W-W-W-10 (CE, SGD), 1 thread: ctorch vs PyTorch vs libtorch\\n{{/*0.8 {title}}}"
set logscale xy 2
set grid
set key top left Left reverse
set format y '%.0f'
set ylabel 'time per step (µs, log)'
set xlabel 'batch size (width {fixed_w})'
set logscale y 10
plot '{base}_batch.dat' using 1:2 with linespoints pt 7 lc rgb '#3366cc' title 'ctorch', \\
     '' using 1:3 with linespoints pt 5 lc rgb '#dc3912' title 'PyTorch'{lt(4)}, \\
     '' using 1:5 with lines dt 2 lw 2 lc rgb 'black' title 'sgemm only'
set xlabel 'width W (batch {fixed_b})'
plot '{base}_width.dat' using 1:2 with linespoints pt 7 lc rgb '#3366cc' title 'ctorch', \\
     '' using 1:3 with linespoints pt 5 lc rgb '#dc3912' title 'PyTorch'{lt(4)}, \\
     '' using 1:5 with lines dt 2 lw 2 lc rgb 'black' title 'sgemm only'
set ylabel 'time ratio (log; below 1: ctorch faster)'
set yrange [{lo}:{hi}]
set ytics ("0.1" 0.1, "0.2" 0.2, "0.3" 0.3, "0.5" 0.5, "0.7" 0.7, "1" 1, "1.5" 1.5, "2" 2)
set key bottom right Left reverse
set xlabel 'batch size (width {fixed_w})'
plot '{base}_batch.dat' using 1:6 with linespoints pt 7 lc rgb '#3366cc' title 'ctorch / PyTorch', \\
     {"'' using 1:7 with linespoints pt 9 lc rgb '#ff9900' title 'ctorch / libtorch'," if has_lt else ""} \\
     1 with lines dt 2 lc rgb 'black' notitle
set xlabel 'width W (batch {fixed_b})'
plot '{base}_width.dat' using 1:6 with linespoints pt 7 lc rgb '#3366cc' title 'ctorch / PyTorch', \\
     {"'' using 1:7 with linespoints pt 9 lc rgb '#ff9900' title 'ctorch / libtorch'," if has_lt else ""} \\
     1 with lines dt 2 lc rgb 'black' notitle
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        R.log("gnuplot failed: " + r.stderr)
        return False
    return True


def write_outputs(a, samples, info, load_start, load_end, elapsed):
    rows = rows_of(a, samples)
    has_lt = any(r["libtorch_us"] for r in rows)
    machine = R.machine_line(info, load_start, load_end)
    md = build_md(a, rows, machine, load_start, load_end, elapsed, has_lt)
    png = os.path.join(a.out, "scaling.png")
    has_plot = write_plot(png, rows, machine, has_lt, a.clock)
    with open(os.path.join(a.out, "scaling.md"), "w") as f:
        f.write(md + "\n" + ("\n![scaling](scaling.png)\n" if has_plot else ""))
    write_csv(os.path.join(a.out, "scaling.csv"), rows)
    with open(os.path.join(a.out, "scaling.json"), "w") as f:
        json.dump({"machine": machine, "info": info, "load_start": load_start, "load_end": load_end,
                   "elapsed_s": elapsed, "clock": a.clock, "stat": a.stat, "batches": a.batches, "widths": a.widths, "batch": a.batch,
                   "width": a.width, "rows": rows,
                   "samples": [{"batch": b, "width": w, "impl": i, "blocks": x}
                               for (b, w), per in samples.items() for i, x in per.items()]}, f, indent=1)
    print(md)
    R.log(f"\nwrote {a.out}/scaling.md, scaling.csv, scaling.json" + (", scaling.png" if has_plot else ""))


def ints(s):
    return [int(x) for x in s.split(",") if x]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(R.ROOT, "build-bench"))
    p.add_argument("--out", default=None, help="output directory (default BUILD_DIR/bench-results)")
    p.add_argument("--python", default="/usr/bin/python3", help="the Python with torch")
    p.add_argument("--batches", type=ints, default=[2 ** i for i in range(11)], help="batch sweep (1,2,...,1024)")
    p.add_argument("--width", type=int, default=256, help="the batch sweep's width (256)")
    p.add_argument("--widths", type=ints, default=[64 * 2 ** i for i in range(7)], help="width sweep (64,...,4096)")
    p.add_argument("--batch", type=int, default=64, help="the width sweep's batch size (64)")
    p.add_argument("--reps", type=int, default=5, help="repetitions of the points under ~20 ms per step")
    p.add_argument("--large-reps", type=int, default=5, help="repetitions of the larger points")
    p.add_argument("--no-libtorch", action="store_true", help="skip bench_libtorch even when it is built")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 / 1 repetitions, widths up to 1024")
    p.add_argument("--coretype", default=None, help="OPENBLAS_CORETYPE for every process (see run.py)")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="per-block statistic to summarise: the block's median step (default) or its fastest "
                        "step (steadier on a loaded machine: the least-disturbed step); both are in scaling.json")
    p.add_argument("--clock", choices=["wall", "cpu"], default="cpu",
                   help="time steps in process CPU time (default: at 1 thread it is the work done, and on a "
                        "shared machine it leaves out the time spent waiting for a core) or in wall-clock time")
    p.add_argument("--report-only", action="store_true", help="no runs: redo the outputs from OUT/scaling.json")
    a = p.parse_args(argv)
    global STAT
    STAT = a.stat + "_us"
    R.CORETYPE = a.coretype
    if a.quick:
        a.reps, a.large_reps = 2, 1
        a.widths = [w for w in a.widths if w <= 1024]
    a.out = os.path.abspath(a.out or os.path.join(a.build_dir, "bench-results"))
    os.makedirs(a.out, exist_ok=True)
    if a.report_only:
        with open(os.path.join(a.out, "scaling.json")) as f:
            saved = json.load(f)
        a.batches, a.widths, a.batch, a.width = saved["batches"], saved["widths"], saved["batch"], saved["width"]
        a.clock = saved.get("clock", "wall")
        samples = {}
        for e in saved["samples"]:
            samples.setdefault((e["batch"], e["width"]), {})[e["impl"]] = e["blocks"]
        write_outputs(a, samples, saved["info"], saved["load_start"], saved["load_end"], saved.get("elapsed_s", 0))
        return
    if not os.path.exists(os.path.join(a.build_dir, "bench", "bench_ctorch")):
        p.error(f"{a.build_dir}/bench/bench_ctorch not found: run bench/scaling.sh (it builds first)")
    start, load_start = time.time(), R.loadavg()
    R.log(f"load average at start: {load_start:.2f}" + ("  (above ~1.5: timings will be noisy)" if load_start > 1.5
                                                         else ""))
    a.build_dir = os.path.abspath(a.build_dir)
    suite = R.Suite(argparse.Namespace(build_dir=a.build_dir, python=a.python, out=a.out,
                                       server_args=["--clock", a.clock]))
    suite.errlog = open(os.path.join(a.out, "scaling_servers.log"), "w")  # the servers' stderr
    if a.no_libtorch and "libtorch" in suite.impls:
        suite.impls.remove("libtorch")
    try:
        info = suite.info()
        R.log(f"scaling: batches {a.batches} at width {a.width}, widths {a.widths} at batch {a.batch}; "
              f"{', '.join(suite.impls)} + sgemm only; {a.reps} / {a.large_reps} repetitions")
        samples = run_sweep(a, suite)
    finally:
        suite.close()
    write_outputs(a, samples, info, load_start, R.loadavg(), time.time() - start)


if __name__ == "__main__":
    main()
