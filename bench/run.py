#!/usr/bin/env python3
"""ctorch vs PyTorch (Python) vs libtorch (C++), side by side: see bench/README.md.

Runs the three implementations of every case interleaved (for each repetition, each case, each
implementation in turn, the order rotating from one repetition to the next), after warm-up, with
the same thread settings, and prints a Markdown table of medians and ratios, a machine line, and
writes results.md, results.json and chart.png (gnuplot) to --out.

    bench/run.sh                   # configure + build build-bench, then this script
    bench/run.py --quick           # a fast smoke run (few repetitions)
    bench/run.py --only small,ops  # groups: small, ops, large, transformer, quickstart, compile
    bench/run.py --scaling         # the batch/width scaling sweep instead (bench/scaling.py; its
                                   # options follow, see bench/run.py --scaling --help)

Thread settings:
    1 thread : OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1) / at::set_num_threads(1),
               ctorch::set_num_threads(1)
    2 cores  : OPENBLAS_NUM_THREADS=2, torch still 1 intra-op thread (torch's knob does not reach
               OpenBLAS, which does the GEMMs for all three): torch's best two-core setting.
               ctorch runs its own pool of 2 threads (set_num_threads(2); the Quickstart with no
               option at all) and cuts big products between them, each part a single-threaded
               OpenBLAS call: ctorch ignores OPENBLAS_NUM_THREADS.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMPLS = ["ctorch", "torch", "libtorch"]
NAMES = {"ctorch": "ctorch", "torch": "PyTorch", "libtorch": "libtorch"}
CONFIGS = {"1 thread": 1, "2 cores": 2}

# case -> (min_time_s, warmup_s, min_iters) of one block (bench/harness.hpp's measure()).
SMALL = ["tiny", "mlp_sgd", "mlp_adam"]
OPS = ["op_add", "op_relu", "op_matmul", "op_sum0", "op_linear_fb"]
BLOCK = {c: (0.3, 0.1, 50) for c in SMALL}
BLOCK.update({c: (0.2, 0.1, 20) for c in OPS})
BLOCK["quickstart_step"] = (0.3, 0.1, 10)
# 2 warm-up steps + 2 timed steps per block: short blocks and more repetitions average out the
# slow phases of a shared machine better than long blocks.
BLOCK["large"] = (0.0, 0.0, 2)
BLOCK["large_gemm"] = (0.0, 0.0, 2)
BLOCK["quickstart_step_gemm"] = (0.3, 0.1, 10)
BLOCK["transformer_block"] = (0.0, 0.0, 3)  # ~0.1 s steps: short blocks, as "large"
TRANSFORMER = ["transformer_block"]
DESCRIPTION = {
    "tiny": "tiny: Linear(1,1), 100 samples, MSE, SGD (step)",
    "mlp_sgd": "mlp_sgd: 10-5-1 MLP, batch 32, MSE, SGD (step)",
    "mlp_adam": "mlp_adam: 10-5-1 MLP, batch 32, MSE, Adam (step)",
    "quickstart_step": "quickstart_step: 784-512-512-10 MLP, batch 64, CE, SGD (step)",
    "large": "large: 784-2048-2048-10 MLP, batch 256, CE, SGD (step)",
    "large_gemm": "large: its 8 sgemm calls alone (cblas_sgemm)",
    "quickstart_step_gemm": "quickstart_step: its 8 sgemm calls alone (cblas_sgemm)",
    "op_add": "op: add 64x512 + 64x512",
    "op_relu": "op: relu 64x512",
    "op_matmul": "op: matmul 64x784 @ 784x512",
    "op_sum0": "op: sum over dim 0 of 64x512",
    "op_linear_fb": "op: linear 64x784 -> 512, forward + backward",
    "transformer_block": "transformer_block: TransformerEncoderLayer(256, 4, ff 1024), x [32, 64, 256], fwd + bwd",
    "quickstart": "quickstart: one training epoch (938 steps, batch 64)",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def fmt_time(us):
    if us is None:
        return "n/a"
    if us < 1e3:
        return f"{us:.1f} µs"
    if us < 1e6:
        return f"{us / 1e3:.2f} ms"
    return f"{us / 1e6:.2f} s"


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r < 1:
        return f"{r:.2f} ({1 / r:.1f}× faster)"
    return f"{r:.2f} ({r:.1f}× slower)"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_with_rusage(cmd, env=None, cwd=None):
    """Runs cmd to completion: (exit code, stdout, stderr, rusage of the child, wall seconds).
    The child's ru_maxrss (kB) is its VmHWM, measured the same way whatever the program."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), ru, wall


# ---- persistent benchmark processes ----
class Server:
    """One `--serve` process: bench_ctorch, bench_torch.py or bench_libtorch, in one thread setting."""

    def __init__(self, impl, cmd, env, errlog):
        self.impl = impl
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, env=env,
                                     text=True, bufsize=1, cwd=ROOT)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError(f"{self.impl} server exited (see the log in the output directory)")
        return json.loads(out)

    def run(self, case):
        t, w, n = BLOCK[case]
        return self.ask(f"run {case} {t} {w} {n}")

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


CORETYPE = None  # --coretype: OPENBLAS_CORETYPE for every process (default: OpenBLAS's detection)


def thread_env(n):
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS=str(n), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if CORETYPE:
        env["OPENBLAS_CORETYPE"] = CORETYPE
    return env


class Suite:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build_dir)
        self.bin = {
            "ctorch": os.path.join(self.build, "bench", "bench_ctorch"),
            "libtorch": os.path.join(self.build, "bench", "bench_libtorch"),
        }
        self.impls = [i for i in IMPLS if i != "libtorch" or os.path.exists(self.bin["libtorch"])]
        if "libtorch" not in self.impls:
            log("note: bench_libtorch is not built (libtorch not found): its column is n/a")
        self.servers = {}
        self.samples = {}  # (config, case) -> impl -> [block results]
        self.errlog = None  # the servers' stderr, opened with the first server
        self.server_args = list(getattr(args, "server_args", []))  # extra options (scaling.py: --clock)

    def server(self, config, impl):
        key = (config, impl)
        if key not in self.servers:
            n = CONFIGS[config]
            if impl == "ctorch":
                cmd = [self.bin["ctorch"], "--threads", str(n), "--serve"]
            elif impl == "libtorch":
                cmd = [self.bin["libtorch"], "--threads", "1", "--serve"]
            else:
                cmd = [self.a.python, os.path.join(ROOT, "bench", "bench_torch.py"), "--threads", "1", "--serve"]
            if self.errlog is None:
                self.errlog = open(os.path.join(self.a.out, "servers.log"), "w")
            self.servers[key] = Server(impl, cmd + self.server_args, thread_env(n), self.errlog)
        return self.servers[key]

    def close(self):
        for s in self.servers.values():
            s.close()
        self.servers = {}
        if self.errlog:
            self.errlog.close()
            self.errlog = None

    def info(self):
        info = {}
        for impl in self.impls:
            info[impl] = self.server("1 thread", impl).ask("info")
        return info

    # Blocks: for each repetition, each case, each implementation (order rotated per repetition).
    def run_blocks(self, config, cases, reps):
        for r in range(reps):
            order = self.impls[r % len(self.impls):] + self.impls[:r % len(self.impls)]
            for case in cases:
                impls = ["ctorch"] if case.endswith("_gemm") else order
                for impl in impls:
                    res = self.server(config, impl).run(case)
                    if "error" in res:
                        log(f"  {impl} {case}: ERROR {res['error']}")
                        continue
                    self.samples.setdefault((config, case), {}).setdefault(impl, []).append(res)
                    if CONFIGS[config] > 1:
                        time.sleep(0.2)  # let OpenBLAS's idle workers of the last process go to sleep
            log(f"  [{config}] repetition {r + 1}/{reps} done (load {loadavg():.2f})")

    def step_median(self, config, case, impl):
        blocks = self.samples.get((config, case), {}).get(impl, [])
        return median([b["median_us"] for b in blocks])

    def check_values(self, config, case):
        checks = {}
        for impl, blocks in self.samples.get((config, case), {}).items():
            if blocks and blocks[0].get("check") is not None:
                checks[impl] = blocks[0]["check"]
        vals = list(checks.values())
        same = all(abs(v - vals[0]) <= 1e-4 * max(1.0, abs(vals[0])) for v in vals)
        return checks, same

    # ---- the Quickstart: whole programs, one epoch each ----
    def quickstart_cmd(self, impl, n):
        if impl == "ctorch":
            # 2 cores: ctorch's defaults (a pool of one thread per core; OpenBLAS single-threaded under it)
            threads = ["--threads", "1"] if n == 1 else []
            return [os.path.join(self.build, "quickstart"), "--epochs", "1", "--curve", ""] + threads
        if impl == "libtorch":
            return [os.path.join(self.build, "bench", "quickstart_libtorch"), "--epochs", "1", "--threads", "1"]
        return [self.a.python, os.path.join(ROOT, "bench", "quickstart.py"), "--epochs", "1", "--threads", "1"]

    def run_quickstart(self, config, reps):
        n = CONFIGS[config]
        impls = [i for i in self.impls if i != "ctorch" or os.path.exists(os.path.join(self.build, "quickstart"))]
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(reps):
                order = impls[r % len(impls):] + impls[:r % len(impls)]
                for impl in order:
                    cmd = self.quickstart_cmd(impl, n)
                    rc, out, err, ru, _ = run_with_rusage(cmd, env=thread_env(n), cwd=tmp)
                    m = re.search(r"Summary: .*?([0-9.]+) s per training epoch", out)
                    if rc != 0 or not m:
                        log(f"  quickstart {impl}: failed ({rc}): {err.strip()[-300:]}")
                        continue
                    res = {"epoch_s": float(m.group(1)), "peak_mb": ru.ru_maxrss / 1024}
                    self.samples.setdefault((config, "quickstart"), {}).setdefault(impl, []).append(res)
                    log(f"  [{config}] quickstart {impl}: {res['epoch_s']:.2f} s/epoch, peak {res['peak_mb']:.0f} MB")
                log(f"  [{config}] quickstart repetition {r + 1}/{reps} done (load {loadavg():.2f})")
            time.sleep(0.2)

    def run_case_memory(self, config, case, steps=3):
        """VmHWM of a fresh process that builds `case` and runs a short block of it (its data, weights,
        activations and gradients on top of the library), for each implementation."""
        n = CONFIGS[config]
        for impl in self.impls:
            if impl == "torch":
                cmd = [self.a.python, os.path.join(ROOT, "bench", "bench_torch.py"), "--threads", "1"]
            else:
                cmd = [self.bin[impl], "--threads", str(n if impl == "ctorch" else 1)]
            cmd += ["--case", case, "--min-time", "0", "--warmup", "0", "--min-iters", str(steps)]
            rc, out, err, ru, _ = run_with_rusage(cmd, env=thread_env(n), cwd=ROOT)
            if rc != 0 or '"error"' in out:
                log(f"  memory {case} {impl}: failed ({rc}): {(err or out).strip()[-300:]}")
                continue
            self.samples.setdefault((config, case + "_memory"), {})[impl] = [{"peak_mb": ru.ru_maxrss / 1024}]
            log(f"  [{config}] {case} {impl}: peak {ru.ru_maxrss / 1024:.0f} MB")

    def run_baseline_memory(self):
        """VmHWM of a process that only loads the library (and, for PyTorch, the interpreter): the
        fixed part of the Quickstart's peak memory."""
        cmds = {"ctorch": [self.bin["ctorch"], "--list"], "libtorch": [self.bin["libtorch"], "--list"],
                "torch": [self.a.python, "-c", "import torch"]}
        for impl in self.impls:
            rc, _, err, ru, _ = run_with_rusage(cmds[impl], env=thread_env(1))
            if rc == 0:
                self.samples.setdefault(("1 thread", "baseline_memory"), {})[impl] = [{"peak_mb": ru.ru_maxrss / 1024}]

    # ---- compile + link one translation unit, the flags CMake uses, at -O2 ----
    def compile_cmd(self, impl, out):
        if impl == "ctorch":
            target_dir, src = os.path.join(self.build, "CMakeFiles", "quickstart.dir"), "examples/quickstart.cpp"
        else:
            target_dir, src = os.path.join(self.build, "bench", "CMakeFiles", "quickstart_libtorch.dir"), \
                "bench/quickstart_libtorch.cpp"
        flags = {}
        with open(os.path.join(target_dir, "flags.make")) as f:
            for line in f:
                if " = " in line and not line.startswith("#"):
                    k, v = line.split(" = ", 1)
                    flags[k.strip()] = shlex.split(v)
        with open(os.path.join(target_dir, "link.txt")) as f:
            link = shlex.split(f.read())
        o = link.index("-o")
        compiler, libs = link[0], link[o + 2:]
        # Library paths in link.txt are relative to the build directory (libctorch.a).
        libs = [os.path.join(self.build, x) if x.endswith(".a") and not os.path.isabs(x) else x for x in libs]
        cxx = [x for x in flags.get("CXX_FLAGS", []) if not x.startswith("-O") and not x.startswith("-W")]
        return ([compiler, "-O2"] + cxx + flags.get("CXX_DEFINES", []) + flags.get("CXX_INCLUDES", []) +
                [os.path.join(ROOT, src), "-o", out] + libs)

    def run_compile(self, reps):
        impls = [i for i in ["ctorch", "libtorch"] if i in self.impls]
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(reps):
                for impl in (impls if r % 2 == 0 else impls[::-1]):
                    out = os.path.join(tmp, f"quickstart_{impl}")
                    cmd = self.compile_cmd(impl, out)
                    if r == 0:
                        log("  $ " + " ".join(shlex.quote(c) for c in cmd))
                    rc, _, err, ru, wall = run_with_rusage(cmd)
                    if rc != 0:
                        log(f"  compile {impl} failed: {err[-500:]}")
                        continue
                    res = {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "exe_bytes": os.path.getsize(out)}
                    self.samples.setdefault(("", "compile"), {}).setdefault(impl, []).append(res)
                    log(f"  compile {impl}: {wall:.1f} s wall, {res['cpu_s']:.1f} s CPU (load {loadavg():.2f})")


def machine_line(info, load_start, load_end):
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count()
    blas = info.get("ctorch", {}).get("openblas", "OpenBLAS ?")
    core = info.get("ctorch", {}).get("corename", "")
    m = re.match(r"(OpenBLAS [0-9.]+)", blas)
    blas_short = (m.group(1) if m else blas) + (f" ({core} kernels)" if core else "")
    torch_v = info.get("torch", {}).get("version", "?")
    lt_v = info.get("libtorch", {}).get("version", "n/a")
    try:
        cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        cxx = "c++ ?"
    try:  # read-only git queries: which ctorch was measured
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        tree = f"ctorch {rev}" + (" + uncommitted changes" if dirty else "") if rev else "ctorch"
    except Exception:
        tree = "ctorch"
    return (f"{cpu}, {cores} cores, {blas_short}; {tree}, PyTorch {torch_v}, libtorch {lt_v}, {cxx}; "
            f"load average (1 min) {load_start:.2f} at start, {load_end:.2f} at end")


def build_report(suite, info, load_start, load_end, elapsed):
    rows = []      # (label, setting, ctorch, torch, libtorch, r_torch, r_libtorch) as strings
    chart = []     # (label, ctorch/PyTorch, ctorch/libtorch)
    warnings = []

    def time_row(config, case, label=None, short=None):
        meds = {i: suite.step_median(config, case, i) for i in IMPLS}
        if all(v is None for v in meds.values()):
            return
        rt = meds["ctorch"] / meds["torch"] if meds["ctorch"] and meds["torch"] else None
        rl = meds["ctorch"] / meds["libtorch"] if meds["ctorch"] and meds["libtorch"] else None
        rows.append((label or DESCRIPTION[case], config, *(fmt_time(meds[i]) for i in IMPLS), fmt_ratio(rt),
                     fmt_ratio(rl)))
        chart.append((short or case, rt, rl))
        checks, same = suite.check_values(config, case)
        if not same:
            warnings.append(f"{case} [{config}]: the implementations' check values differ: {checks}")

    for case in SMALL + OPS:
        time_row("1 thread", case)
    for config in CONFIGS:
        if (config, "large") not in suite.samples:
            continue
        suffix = " 1t" if CONFIGS[config] == 1 else " 2c"
        for case, short in (("quickstart_step", "qs_step"), ("large", "large")):
            time_row(config, case, short=short + suffix)
            gemm = suite.step_median(config, case + "_gemm", "ctorch")
            if not gemm:
                continue
            rows.append((DESCRIPTION[case + "_gemm"], config, fmt_time(gemm), "same sgemm", "same sgemm", "", ""))
            outside = []
            for i in IMPLS:
                step = suite.step_median(config, case, i)
                share = 100 * (1 - gemm / step) if step else None
                outside.append("n/a" if share is None else f"{share:.0f}%" + (" (noise)" if share < 0 else ""))
            rows.append((f"{case}: share of the step outside sgemm", config, *outside, "", ""))
    for config in CONFIGS:
        for case in TRANSFORMER:
            if (config, case) in suite.samples:
                time_row(config, case, short="transformer " + ("1t" if CONFIGS[config] == 1 else "2c"))
            mem = suite.samples.get((config, case + "_memory"))
            if mem:
                vals = {i: mem[i][0]["peak_mb"] if i in mem else None for i in IMPLS}
                base = suite.samples.get(("1 thread", "baseline_memory"), {})
                cell = lambda i: "n/a" if not vals[i] else f"{vals[i]:.0f} MB" + (
                    f" (+{vals[i] - base[i][0]['peak_mb']:.0f} over idle)" if i in base else "")
                rt = vals["ctorch"] / vals["torch"] if vals["ctorch"] and vals["torch"] else None
                rl = vals["ctorch"] / vals["libtorch"] if vals["ctorch"] and vals["libtorch"] else None
                rows.append((f"{case}: peak memory of a process running it (VmHWM)", config,
                             *(cell(i) for i in IMPLS), f"{rt:.2f}" if rt else "n/a", f"{rl:.2f}" if rl else "n/a"))
    for config in CONFIGS:
        blocks = suite.samples.get((config, "quickstart"))
        if not blocks:
            continue
        meds = {i: median([b["epoch_s"] * 1e6 for b in blocks.get(i, [])]) for i in IMPLS}
        rt = meds["ctorch"] / meds["torch"] if meds["ctorch"] and meds["torch"] else None
        rl = meds["ctorch"] / meds["libtorch"] if meds["ctorch"] and meds["libtorch"] else None
        rows.append((DESCRIPTION["quickstart"], config, *(fmt_time(meds[i]) for i in IMPLS), fmt_ratio(rt),
                     fmt_ratio(rl)))
        chart.append(("quickstart " + ("1t" if CONFIGS[config] == 1 else "2c"), rt, rl))
    for config in CONFIGS:
        blocks = suite.samples.get((config, "quickstart"))
        if blocks:
            mem = {i: median([b["peak_mb"] for b in blocks.get(i, [])]) for i in IMPLS}
            cell = lambda v: f"{v:.0f} MB" if v else "n/a"
            rt = mem["ctorch"] / mem["torch"] if mem["ctorch"] and mem["torch"] else None
            rl = mem["ctorch"] / mem["libtorch"] if mem["ctorch"] and mem["libtorch"] else None
            rows.append(("quickstart: peak memory (VmHWM)", config, *(cell(mem[i]) for i in IMPLS),
                         f"{rt:.2f}" if rt else "n/a", f"{rl:.2f}" if rl else "n/a"))
            base = suite.samples.get(("1 thread", "baseline_memory"), {})
            if base:
                bm = {i: base[i][0]["peak_mb"] if i in base else None for i in IMPLS}
                rows.append(("idle process: library loaded, no work (VmHWM)", "", *(cell(bm[i]) for i in IMPLS),
                             "", ""))
            break  # one thread setting is enough: the 2-core run holds the same tensors
    comp = suite.samples.get(("", "compile"))
    if comp:
        wall = {i: median([b["wall_s"] for b in comp.get(i, [])]) for i in ["ctorch", "libtorch"]}
        cpu = {i: median([b["cpu_s"] for b in comp.get(i, [])]) for i in ["ctorch", "libtorch"]}
        cell = lambda w, c: f"{w:.1f} s ({c:.1f} s CPU)" if w else "n/a"
        rl = cpu["ctorch"] / cpu["libtorch"] if cpu["ctorch"] and cpu["libtorch"] else None
        rows.append(("compile + link the Quickstart (one TU, -O2)", "1 job", cell(wall["ctorch"], cpu["ctorch"]),
                     "—", cell(wall["libtorch"], cpu["libtorch"]), "",
                     f"{rl:.2f} of the CPU time" if rl else "n/a"))
    lib_ct = os.path.join(suite.build, "libctorch.a")
    lib_lt = os.path.realpath("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so")
    if os.path.exists(lib_ct):
        mb = lambda p: os.path.getsize(p) / 2**20
        lt = f"{mb(lib_lt):.1f} MB (libtorch_cpu.so)" if os.path.exists(lib_lt) else "n/a"
        rows.append(("library size", "", f"{mb(lib_ct):.1f} MB (libctorch.a)", "—", lt, "",
                     f"{mb(lib_ct) / mb(lib_lt):.3f}" if os.path.exists(lib_lt) else "n/a"))

    head = ["case", "setting", "ctorch", "PyTorch", "libtorch", "ctorch / PyTorch", "ctorch / libtorch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    machine = machine_line(info, load_start, load_end)
    md = [f"**Machine:** {machine}", "",
          "Medians of per-repetition medians; times are per training step unless stated (epoch, compile). "
          "Ratios below 1: ctorch is faster.", ""] + lines
    if load_start > 1.5 or load_end > 1.5:
        md += ["", f"**Note:** taken under load (load average {load_start:.2f} → {load_end:.2f}): "
                   "the absolute numbers are noisy; the interleaving keeps the ratios fairer."]
    md += ["", f"Run time: {elapsed / 60:.1f} min."]
    if warnings:
        md += [""] + ["**Warning:** " + w for w in warnings]

    # Spread: every implementation's per-repetition medians, for the record.
    detail = ["", "<details><summary>Per-repetition medians</summary>", "", "| case | setting | impl | repetitions |",
              "|---|---|---|---|"]
    for (config, case), per in sorted(suite.samples.items()):
        for impl, blocks in per.items():
            if case == "compile":
                vals = [f"{b['wall_s']:.1f} s" for b in blocks]
            elif case == "quickstart":
                vals = [f"{b['epoch_s']:.2f} s ({b['peak_mb']:.0f} MB)" for b in blocks]
            elif case == "baseline_memory" or case.endswith("_memory"):
                vals = [f"{b['peak_mb']:.0f} MB" for b in blocks]
            else:
                vals = [fmt_time(b["median_us"]) for b in blocks]
            detail.append(f"| {case} | {config} | {NAMES[impl]} | {', '.join(vals)} |")
    detail += ["", "</details>"]
    return "\n".join(md), "\n".join(detail), chart, machine


def write_chart(chart, path, machine):
    if not chart or not shutil.which("gnuplot"):
        log("note: gnuplot not found, no chart" if chart else "")
        return False
    dat = path[:-4] + ".dat"
    with open(dat, "w") as f:
        f.write("# case ctorch/PyTorch ctorch/libtorch\n")
        for label, rt, rl in chart:
            f.write(f"\"{label}\" {rt if rt else 'NaN'} {rl if rl else 'NaN'}\n")
    vals = [v for _, rt, rl in chart for v in (rt, rl) if v]
    lo, hi = min(vals + [1.0]) / 1.6, max(vals + [1.0]) * 1.6
    title = (machine.split(";")[0] + "; " + machine.split(";")[-1].strip()).replace('"', "")
    script = f"""
set terminal pngcairo size 1200,600 font ',10'
set output '{path}'
set title "ctorch time relative to PyTorch and libtorch (below 1: ctorch is faster)\\n{{/*0.8 {title}}}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set ytics ("0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1, "2" 2, "5" 5, "10" 10)
set yrange [{lo}:{hi}]
set ylabel 'time ratio (log scale)'
set xtics rotate by -35 scale 0 noenhanced
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb 'black'
plot '{dat}' using 2:xtic(1) title 'ctorch / PyTorch' lc rgb '#3366cc', \\
     '' using 3 title 'ctorch / libtorch' lc rgb '#ff9900', \\
     '' using ($0 - 1./6):2:(sprintf('%.2f', $2)) with labels offset 0,0.6 font ',7' notitle, \\
     '' using ($0 + 1./6):3:(sprintf('%.2f', $3)) with labels offset 0,0.6 font ',7' notitle
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr)
        return False
    return True


def main():
    if "--scaling" in sys.argv[1:]:  # the scaling sweep: bench/scaling.py, with the other arguments
        import scaling
        return scaling.main([x for x in sys.argv[1:] if x != "--scaling"])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    p.add_argument("--out", default=None, help="output directory (default BUILD_DIR/bench-results)")
    p.add_argument("--python", default="/usr/bin/python3", help="the Python with torch")
    p.add_argument("--only", default="small,ops,large,transformer,quickstart,compile")
    p.add_argument("--reps", type=int, default=7, help="repetitions of the small cases and ops")
    p.add_argument("--large-reps", type=int, default=8,
                   help="repetitions of quickstart_step, large and large_gemm (per thread setting)")
    p.add_argument("--tx-reps", type=int, default=7, help="repetitions of transformer_block (per thread setting)")
    p.add_argument("--epoch-reps", type=int, default=3, help="Quickstart epochs per implementation and setting")
    p.add_argument("--compile-reps", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a smoke run: 2 repetitions, 1 epoch, 1 compile")
    p.add_argument("--coretype", default=None,
                   help="set OPENBLAS_CORETYPE (e.g. SkylakeX, Haswell) for all three implementations, for CPUs "
                        "OpenBLAS does not recognise; the machine line shows the kernels used")
    p.add_argument("--report-only", action="store_true",
                   help="no runs: rebuild the table and the chart from OUT/results.json")
    p.add_argument("--scaling", action="store_true",
                   help="run the batch/width scaling sweep instead (bench/scaling.py: see --scaling --help)")
    a = p.parse_args()
    global CORETYPE
    CORETYPE = a.coretype
    if a.quick:
        a.reps, a.large_reps, a.tx_reps, a.epoch_reps, a.compile_reps = 2, 2, 2, 1, 1
    a.out = os.path.abspath(a.out or os.path.join(a.build_dir, "bench-results"))
    os.makedirs(a.out, exist_ok=True)
    groups = set(a.only.split(","))
    unknown = groups - {"small", "ops", "large", "transformer", "quickstart", "compile"}
    if unknown:
        p.error(f"unknown groups: {', '.join(sorted(unknown))}")
    if not a.report_only and not os.path.exists(os.path.join(a.build_dir, "bench", "bench_ctorch")):
        p.error(f"{a.build_dir}/bench/bench_ctorch not found: run bench/run.sh (it builds first)")

    if a.report_only:  # rebuild the table and the chart from a previous run's results.json
        with open(os.path.join(a.out, "results.json")) as f:
            saved = json.load(f)
        suite = Suite(a)
        for e in saved["samples"]:
            suite.samples.setdefault((e["config"], e["case"]), {})[e["impl"]] = e["blocks"]
        write_outputs(a, suite, saved["info"], saved["load_start"], saved["load_end"], saved.get("elapsed_s", 0))
        return

    start, load_start = time.time(), loadavg()
    log(f"load average at start: {load_start:.2f}" + ("  (above ~1.5: timings will be noisy)" if load_start > 1.5 else ""))
    suite = Suite(a)
    try:
        info = suite.info()
        if groups & {"small", "ops"}:
            cases = (SMALL if "small" in groups else []) + (OPS if "ops" in groups else [])
            log(f"small cases and ops, 1 thread, {a.reps} repetitions")
            suite.run_blocks("1 thread", cases, a.reps)
        if "large" in groups:
            for config in CONFIGS:
                log(f"large, {config}, {a.large_reps} repetitions")
                suite.run_blocks(config, ["quickstart_step", "quickstart_step_gemm", "large", "large_gemm"], a.large_reps)
        if "transformer" in groups:
            for config in CONFIGS:
                log(f"transformer, {config}, {a.tx_reps} repetitions")
                suite.run_blocks(config, TRANSFORMER, a.tx_reps)
        # Idle servers hold memory but no CPU; close them before the whole-program runs.
        suite.close()
        if "transformer" in groups:
            for config in CONFIGS:
                for case in TRANSFORMER:
                    suite.run_case_memory(config, case)
        if "quickstart" in groups:
            for config in CONFIGS:
                log(f"quickstart, {config}, {a.epoch_reps} repetitions")
                suite.run_quickstart(config, a.epoch_reps)
        if groups & {"quickstart", "transformer"}:
            suite.run_baseline_memory()
        if "compile" in groups:
            log(f"compile + link, {a.compile_reps} repetitions")
            suite.run_compile(a.compile_reps)
    finally:
        suite.close()
    write_outputs(a, suite, info, load_start, loadavg(), time.time() - start)


def write_outputs(a, suite, info, load_start, load_end, elapsed):
    md, detail, chart, machine = build_report(suite, info, load_start, load_end, elapsed)
    png = os.path.join(a.out, "chart.png")
    has_chart = write_chart(chart, png, machine)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md + "\n" + detail + "\n" + (f"\n![chart](chart.png)\n" if has_chart else ""))
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"machine": machine, "info": info, "load_start": load_start, "load_end": load_end,
                   "elapsed_s": elapsed,
                   "samples": [{"config": c, "case": k, "impl": i, "blocks": b}
                               for (c, k), per in suite.samples.items() for i, b in per.items()]}, f, indent=1)
    print(md)
    log(f"\nwrote {a.out}/results.md, results.json" + (", chart.png" if has_chart else ""))


if __name__ == "__main__":
    main()
