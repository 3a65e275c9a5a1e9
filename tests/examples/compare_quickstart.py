#!/usr/bin/python3
"""Trains the Quickstart with ctorch and with PyTorch and checks that they print the same test results.

    /usr/bin/python3 tests/examples/compare_quickstart.py QUICKSTART_BIN [QUICKSTART_PY] [--epochs N]

QUICKSTART_BIN is ctorch's examples/quickstart.cpp binary; QUICKSTART_PY is its PyTorch twin
(default: bench/quickstart.py next to this tests/ directory), run with this interpreter, so run
the script with /usr/bin/python3, the one that has torch. Both train with their defaults (seed 0,
SGD, lr 1e-3, batch 64) for N epochs (default 1) on the FashionMNIST IDX files of $CTORCH_DATA or
/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), with one BLAS thread
(OPENBLAS_NUM_THREADS=1, --threads 1): a fair run that leaves the other core to other tests.

After each epoch both print `Accuracy: A%, Avg loss: L`. They agree when
  |A_ctorch - A_torch| <= 0.1 percentage points (one unit of the printed digit), and
  |L_ctorch - L_torch| <= 1e-4 * max(|L_ctorch|, |L_torch|).
With SGD both sides start from the same weights, draw the same batches and use the same sgemm,
so today they print the same digits; the tolerance leaves room for the last bits of a sum.
The `loss:` lines printed during training are shown as their largest relative difference, not
checked. Output is captured, so the quickstart prints its plain lines, not its progress bar.
Exits 1 on a mismatch, a crash, a missing file or output that does not parse.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from blas_env import same_kernels_env

ACCURACY_POINTS = 0.1  # largest |ctorch - PyTorch| test accuracy, in percentage points
LOSS_RTOL = 1e-4       # largest relative difference of the average test loss
RUN_TIMEOUT = 600      # seconds for one side (one epoch takes ~10 s on an idle core)

NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf)"
RESULT = re.compile(rf"^\s*Accuracy: {NUM}%, Avg loss: {NUM}\s*$")
TRAIN_LOSS = re.compile(rf"^loss: {NUM}\s+\[\s*(\d+)/\s*(\d+)\]$")


class Mismatch(Exception):
    pass


def run(cmd, cwd):
    env = same_kernels_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=cwd, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Mismatch(f"{' '.join(cmd)}: {e}")
    if r.returncode != 0:
        raise Mismatch(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout.splitlines()


def parse(lines, epochs, who):
    results = [(float(m.group(1)), float(m.group(2))) for m in map(RESULT.match, lines) if m]
    if len(results) != epochs:
        raise Mismatch(f"{who}: expected {epochs} `Accuracy: ..., Avg loss: ...` line(s), found {len(results)}:\n"
                       + "\n".join(lines))
    train = [(int(m.group(2)), float(m.group(1))) for m in map(TRAIN_LOSS.match, lines) if m]
    return results, train


def rel(c, p):
    big = max(abs(c), abs(p))
    return 0.0 if big == 0 else abs(c - p) / big


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("script", nargs="?", default=os.path.join(here, "..", "..", "bench", "quickstart.py"))
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    if a.epochs < 1:
        ap.error("--epochs must be at least 1")

    data = os.environ.get("CTORCH_DATA") or "/usr/share/datasets/fashion-mnist"
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if not os.path.isfile(os.path.join(data, name)):
            print(f"FAIL quickstart: {os.path.join(data, name)} is missing (install dataset-fashion-mnist "
                  f"or set CTORCH_DATA)")
            return 1

    common = ["--epochs", str(a.epochs), "--threads", "1", "--data", data]
    try:
        with tempfile.TemporaryDirectory(prefix="compare_quickstart.") as tmp:
            cpp = run([os.path.abspath(a.binary), *common, "--curve", ""], tmp)  # --curve "": no CSV/PNG
            ref = run([sys.executable, os.path.abspath(a.script), *common], tmp)
        c_res, c_train = parse(cpp, a.epochs, "quickstart (ctorch)")
        p_res, p_train = parse(ref, a.epochs, "quickstart (PyTorch)")
    except Mismatch as e:
        print(f"FAIL quickstart\n  {e}")
        return 1

    errors = []
    for epoch, ((ca, cl), (pa, pl)) in enumerate(zip(c_res, p_res), 1):
        print(f"  epoch {epoch}: ctorch  | Accuracy: {ca:.1f}%, Avg loss: {cl:.6f}")
        print(f"  epoch {epoch}: PyTorch | Accuracy: {pa:.1f}%, Avg loss: {pl:.6f}")
        if not abs(ca - pa) <= ACCURACY_POINTS + 1e-9:
            errors.append(f"  epoch {epoch}: test accuracy {ca}% (ctorch) vs {pa}% (PyTorch): "
                          f"more than {ACCURACY_POINTS} points apart")
        if not rel(cl, pl) <= LOSS_RTOL:
            errors.append(f"  epoch {epoch}: avg test loss {cl} (ctorch) vs {pl} (PyTorch): "
                          f"relative difference {rel(cl, pl):.2e} > {LOSS_RTOL}")
    if [n for n, _ in c_train] == [n for n, _ in p_train]:
        worst = max((rel(c, p) for (_, c), (_, p) in zip(c_train, p_train)), default=float("nan"))
        print(f"  training `loss:` lines: largest relative difference {worst:.2e} (not checked)")
    else:
        print("  training `loss:` lines printed at different sample counts (not checked)")
    if errors:
        print("FAIL quickstart")
        print("\n".join(errors))
        return 1
    worst_acc = max(abs(c[0] - p[0]) for c, p in zip(c_res, p_res))
    worst_loss = max(rel(c[1], p[1]) for c, p in zip(c_res, p_res))
    print(f"ok   quickstart: {a.epochs} epoch(s), test accuracies within {worst_acc:.1f} points "
          f"(at most {ACCURACY_POINTS}), avg losses within {worst_loss:.2e} relative (at most {LOSS_RTOL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
