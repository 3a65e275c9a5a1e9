#!/usr/bin/python3
"""Runs each ctorch example and its PyTorch original and checks that they print the same numbers.

    /usr/bin/python3 tests/examples/compare_examples.py BIN_DIR [REFERENCE_DIR]

BIN_DIR holds the example binaries (polynomial_tensors, ...); REFERENCE_DIR holds their PyTorch
originals (default: examples/reference next to this tests/ directory). Run it with
/usr/bin/python3, the interpreter that has torch (it runs the references with itself).

Two numbers agree when they match to 3 significant digits: |c - p| <= 1e-3 * max(|c|, |p|).
A number that is zero at float32 precision on both sides (below 1e-6 times the largest number
of its line) counts as 0: in y = a + b * P3(c + d x), a and c are exactly 0 by symmetry and
come out as 0 or as float32 rounding noise around 1e-9 depending on the last ulp of linspace.

Checked: the `Result:` coefficients and every `t loss` line (the first loss depends on the random
starting values, so it also shows that both sides started from the same numbers) of the
polynomial examples; the four parameter pairs and MSEs of least_squares, and that the
hand-written gradient matches autograd's on both sides. Prints both sides; exits 1 on any
mismatch, missing binary, crash or unparsable output.
"""
import math
import os
import re
import subprocess
import sys

RTOL = 1e-3          # 3 significant digits
ZERO = 1e-6          # relative to the largest number of the line: float32 noise
GRAD_DIFF_MAX = 1e-4  # |hand-written - autograd| gradient, relative to the largest parameter

NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf)"
POLY = re.compile(rf"^Result: y = {NUM} \+ {NUM} x \+ {NUM} x\^2 \+ {NUM} x\^3$")
LEGENDRE = re.compile(rf"^Result: y = {NUM} \+ {NUM} \* P3\({NUM} \+ {NUM} x\)$")
LOSS = re.compile(rf"^(\d+) {NUM}$")
THETA = re.compile(rf"^(theta_\w+): \[{NUM}, {NUM}\]  MSE: {NUM}$")
GRAD = re.compile(rf"^max \|hand-written gradient - autograd gradient\|: {NUM}$")


class Mismatch(Exception):
    pass


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Mismatch(f"{' '.join(cmd)}: {e}")
    if r.returncode != 0:
        raise Mismatch(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout.splitlines()


def agree(c, p, scale):
    if math.isnan(c) or math.isnan(p) or math.isinf(c) or math.isinf(p):
        return False
    big = max(abs(c), abs(p))
    return big <= ZERO * scale or abs(c - p) <= RTOL * big


def rel(c, p):
    big = max(abs(c), abs(p))
    return 0.0 if big == 0 else abs(c - p) / big


def parse_polynomial(lines, result_re, who):
    losses, result = [], None
    for line in lines:
        if m := LOSS.match(line):
            losses.append((int(m.group(1)), float(m.group(2))))
        elif m := result_re.match(line):
            result = [float(g) for g in m.groups()]
    if result is None:
        raise Mismatch(f"{who}: no `Result:` line in the output:\n" + "\n".join(lines))
    return losses, result


def compare_polynomial(name, result_re, names, cpp, ref):
    c_losses, c_res = parse_polynomial(cpp, result_re, f"{name} (ctorch)")
    p_losses, p_res = parse_polynomial(ref, result_re, f"{name} (PyTorch)")
    errors, worst = [], 0.0
    scale = max(abs(v) for v in c_res + p_res)
    for n, c, p in zip(names, c_res, p_res):
        if not agree(c, p, scale):
            errors.append(f"  {n}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
        elif max(abs(c), abs(p)) > ZERO * scale:
            worst = max(worst, rel(c, p))
    if [t for t, _ in c_losses] != [t for t, _ in p_losses]:
        errors.append(f"  loss lines printed at t = {[t for t, _ in c_losses]} (ctorch) vs {[t for t, _ in p_losses]} (PyTorch)")
    else:
        for (t, c), (_, p) in zip(c_losses, p_losses):
            if not agree(c, p, max(abs(c), abs(p))):
                errors.append(f"  loss at t={t}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
            worst = max(worst, rel(c, p))
    return errors, worst


def parse_least_squares(lines, who):
    thetas, grad = {}, None
    for line in lines:
        if m := THETA.match(line):
            thetas[m.group(1)] = [float(g) for g in m.groups()[1:]]
        elif m := GRAD.match(line):
            grad = float(m.group(1))
    want = ["theta_mle", "theta_normal", "theta_gd", "theta_autograd"]
    missing = [k for k in want if k not in thetas]
    if missing or grad is None:
        raise Mismatch(f"{who}: missing {missing or 'the gradient check line'} in the output:\n" + "\n".join(lines))
    return thetas, grad


def compare_least_squares(cpp, ref):
    c_th, c_grad = parse_least_squares(cpp, "least_squares (ctorch)")
    p_th, p_grad = parse_least_squares(ref, "least_squares (PyTorch)")
    errors, worst = [], 0.0
    for key, c_vals in c_th.items():
        if key not in p_th:
            continue
        for n, c, p in zip(("theta0", "theta1", "MSE"), c_vals, p_th[key]):
            if not agree(c, p, max(abs(c), abs(p))):
                errors.append(f"  {key} {n}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
            worst = max(worst, rel(c, p))
    scale = max(abs(v) for v in c_th["theta_mle"][:2])
    for who, g in (("ctorch", c_grad), ("PyTorch", p_grad)):
        if not (g <= GRAD_DIFF_MAX * scale):
            errors.append(f"  {who}: the hand-written gradient differs from autograd's by {g!r}")
    return errors, worst


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    bin_dir = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    ref_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(here, "..", "..", "examples", "reference")

    examples = [
        ("polynomial_tensors", lambda c, p: compare_polynomial("polynomial_tensors", POLY, "abcd", c, p)),
        ("polynomial_autograd", lambda c, p: compare_polynomial("polynomial_autograd", POLY, "abcd", c, p)),
        ("polynomial_function", lambda c, p: compare_polynomial("polynomial_function", LEGENDRE, "abcd", c, p)),
        ("least_squares", compare_least_squares),
    ]
    failed = False
    for name, compare in examples:
        print(f"== {name}")
        try:
            cpp = run([os.path.join(bin_dir, name)])
            ref = run([sys.executable, os.path.join(ref_dir, name + ".py")])
            shown = [l for l in cpp if not LOSS.match(l)] or cpp[-1:]
            shown_ref = [l for l in ref if not LOSS.match(l)] or ref[-1:]
            for tag, ls in (("ctorch ", shown), ("PyTorch", shown_ref)):
                for l in ls:
                    print(f"  {tag} | {l}")
            errors, worst = compare(cpp, ref)
        except Mismatch as e:
            errors, worst = [f"  {e}"], float("nan")
        if errors:
            failed = True
            print(f"FAIL {name}")
            print("\n".join(errors))
        else:
            print(f"ok   {name}: agree to 3 significant digits (largest relative difference {worst:.2e})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
