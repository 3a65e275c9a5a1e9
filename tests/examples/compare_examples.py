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

The examples whose two runs stay within a few float32 ulps of each other (linear_regression,
mlp_regression, polynomial_nn, polynomial_module, dynamic_net: same generator, so the same
starting values, data, shuffles and random depths, and only the rounding of sums differs) are
held to 5 significant digits instead (RTOL_CLOSE = 1e-5; they agree to ~1e-6).

Numbers printed with a fixed number of decimals (`Loss: 0.0625`, `loss 0.212099`) also agree
when they differ by at most one unit of their last printed digit: the two sides may round a
float32 value that sits next to a rounding boundary differently.

Checked:
  polynomial_tensors, polynomial_autograd, polynomial_function, polynomial_nn, polynomial_module,
  dynamic_net: the `Result:` coefficients and every `t loss` line (the first loss depends on the
    random starting values, so it also shows that both sides started from the same numbers);
    dynamic_net draws its random depth from the shared generator, so both sides build the same
    graphs;
  polynomial_optim (RMSprop): the `t loss` lines to 3 significant digits until the loss reaches
    RMSprop's noise floor, and the coefficients to RMSprop's jitter (see compare_polynomial_optim);
  least_squares: the four parameter pairs and MSEs, and that the hand-written gradient matches
    autograd's on both sides;
  linear_regression: every `Epoch [n/N], Loss:` line and the prediction for x = 2;
  mlp_regression: the whole-data loss after every epoch of each variant (batch, stochastic and
    mini-batch gradient descent) and the final comparison lines; update counts exactly;
  digits_classifier: the split sizes exactly, and that the final test accuracies differ by at
    most 1.5 percentage points (the per-epoch train losses are reported, not checked).
Prints both sides; exits 1 on any mismatch, missing binary, crash or unparsable output.
"""
import math
import os
import re
import subprocess
import sys

from blas_env import same_kernels_env

RTOL = 1e-3          # 3 significant digits
RTOL_CLOSE = 1e-5    # 5 significant digits: the examples that stay bit-close to PyTorch
ZERO = 1e-6          # relative to the largest number of the line: float32 noise
GRAD_DIFF_MAX = 1e-4  # |hand-written - autograd| gradient, relative to the largest parameter

NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf)"
POLY = re.compile(rf"^Result: y = {NUM} \+ {NUM} x \+ {NUM} x\^2 \+ {NUM} x\^3$")
LEGENDRE = re.compile(rf"^Result: y = {NUM} \+ {NUM} \* P3\({NUM} \+ {NUM} x\)$")
LOSS = re.compile(rf"^(\d+) {NUM}$")
THETA = re.compile(rf"^(theta_\w+): \[{NUM}, {NUM}\]  MSE: {NUM}$")
GRAD = re.compile(rf"^max \|hand-written gradient - autograd gradient\|: {NUM}$")
DYNAMIC = re.compile(rf"^Result: y = {NUM} \+ {NUM} x \+ {NUM} x\^2 \+ {NUM} x\^3 \+ {NUM} x\^4 \? \+ {NUM} x\^5 \?$")
EPOCH_LOSS = re.compile(rf"^Epoch \[(\d+)/(\d+)\], Loss: {NUM}$")
PREDICTION = re.compile(rf"^Input: {NUM}, Predicted output: {NUM}$")
VARIANT = re.compile(r"^(.+ gradient descent) \(batch size (\d+), (\d+) steps per epoch\)$")
VARIANT_LOSS = re.compile(rf"^  epoch (\d+): loss {NUM}$")
VARIANT_RESULT = re.compile(rf"^(.+ GD): loss {NUM} after (\d+) updates$")
SPLIT = re.compile(r"^(\d+) images: (\d+) for training, (\d+) for testing$")
DIGITS_EPOCH = re.compile(rf"^Epoch (\d+)/(\d+): train loss {NUM}, test accuracy {NUM}%$")
ACCURACY = re.compile(rf"^Test accuracy: {NUM}% \((\d+)/(\d+)\)$")
RMSPROP_LR = 1e-3     # polynomial_optim's learning rate: the size of RMSprop's steps at the minimum
ACCURACY_POINTS = 1.5  # digits_classifier: largest |ctorch - PyTorch| test accuracy, in percentage points


class Mismatch(Exception):
    pass


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=same_kernels_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Mismatch(f"{' '.join(cmd)}: {e}")
    if r.returncode != 0:
        raise Mismatch(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout.splitlines()


def agree(c, p, scale, rtol=RTOL):
    if math.isnan(c) or math.isnan(p) or math.isinf(c) or math.isinf(p):
        return False
    big = max(abs(c), abs(p))
    return big <= ZERO * scale or abs(c - p) <= rtol * big


def rel(c, p):
    big = max(abs(c), abs(p))
    return 0.0 if big == 0 else abs(c - p) / big


def last_digit(text):
    """One unit of the last printed digit of a number printed with a fixed number of decimals."""
    return 10.0 ** -len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0.0


def agree_printed(c_text, p_text, rtol=RTOL):
    """Two printed numbers agree to rtol, or within one unit of their last printed digit."""
    c, p = float(c_text), float(p_text)
    if agree(c, p, max(abs(c), abs(p)), rtol):
        return True
    unit = max(last_digit(c_text), last_digit(p_text))
    return math.isfinite(c) and math.isfinite(p) and abs(c - p) <= unit * (1 + 1e-9)


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


def compare_polynomial(name, result_re, names, cpp, ref, rtol=RTOL):
    c_losses, c_res = parse_polynomial(cpp, result_re, f"{name} (ctorch)")
    p_losses, p_res = parse_polynomial(ref, result_re, f"{name} (PyTorch)")
    errors, worst = [], 0.0
    scale = max(abs(v) for v in c_res + p_res)
    for n, c, p in zip(names, c_res, p_res):
        if not agree(c, p, scale, rtol):
            errors.append(f"  {n}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
        elif max(abs(c), abs(p)) > ZERO * scale:
            worst = max(worst, rel(c, p))
    if [t for t, _ in c_losses] != [t for t, _ in p_losses]:
        errors.append(f"  loss lines printed at t = {[t for t, _ in c_losses]} (ctorch) vs {[t for t, _ in p_losses]} (PyTorch)")
    else:
        for (t, c), (_, p) in zip(c_losses, p_losses):
            if not agree(c, p, max(abs(c), abs(p)), rtol):
                errors.append(f"  loss at t={t}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
            worst = max(worst, rel(c, p))
    return errors, worst


def compare_polynomial_optim(cpp, ref):
    """polynomial_optim: the tutorial's RMSprop(lr=1e-3) on y = a + b x + c x^2 + d x^3.

    RMSprop's step is about lr * grad / rms(grad), i.e. +-lr whatever the gradient's size, so once
    the loss reaches its minimum (around t = 1500) the coefficients keep jittering by ~lr around
    the least-squares solution, and where they are at t = 1999 depends on the last ulp of every
    sum: PyTorch itself, with its gradients perturbed by relative noise of 1e-7 per step, ends
    with b anywhere from 0.8563 to 0.8574 and the loss from 8.89 to 8.95. Two runs whose sums
    are rounded in a different order agree to 3 significant digits only until then: with that
    noise, PyTorch's own loss at t = 1299 (15.2, 1.7 x the minimum) spans 5e-4 relative on
    OpenBLAS's Haswell kernels and 8e-3 on its Cooperlake ones; at t = 1199 (27.2) 1.3e-6 on
    both. So: the loss lines agree to 3 significant digits while either is above the noise floor
    (2 x the float64 least-squares minimum, 8.817); below it both just have to stay there; and
    each final coefficient lies within 2 lr of the other side's and of the least-squares solution.
    """
    import numpy as np
    x = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32).astype(np.float64)
    X = np.stack([np.ones_like(x), x, x ** 2, x ** 3], axis=1)
    solution, residual = np.linalg.lstsq(X, np.sin(x), rcond=None)[:2]
    floor = 2.0 * float(residual[0])
    jitter = 2 * RMSPROP_LR

    c_losses, c_res = parse_polynomial(cpp, POLY, "polynomial_optim (ctorch)")
    p_losses, p_res = parse_polynomial(ref, POLY, "polynomial_optim (PyTorch)")
    errors, worst = [], 0.0
    if [t for t, _ in c_losses] != [t for t, _ in p_losses]:
        errors.append(f"  loss lines printed at t = {[t for t, _ in c_losses]} (ctorch) vs {[t for t, _ in p_losses]} (PyTorch)")
    else:
        for (t, c), (_, p) in zip(c_losses, p_losses):
            if max(c, p) > floor:
                if not agree(c, p, max(abs(c), abs(p))):
                    errors.append(f"  loss at t={t}: ctorch {c!r} vs PyTorch {p!r} (relative difference {rel(c, p):.2e})")
                worst = max(worst, rel(c, p))
    for n, c, p, ls in zip("abcd", c_res, p_res, solution):
        if not (abs(c - p) <= jitter and abs(c - ls) <= jitter and abs(p - ls) <= jitter):
            errors.append(f"  {n}: ctorch {c!r}, PyTorch {p!r}, least squares {ls!r}: more than {jitter} apart")
    print(f"  below the noise floor (loss <= {floor:.3f}) from t = "
          f"{next((t for (t, c), (_, p) in zip(c_losses, p_losses) if max(c, p) <= floor), None)}; final coefficients "
          f"within {max(abs(c - p) for c, p in zip(c_res, p_res)):.1e} of each other (at most {jitter} allowed), "
          f"least squares: {', '.join(f'{v:.6g}' for v in solution)}")
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


def matches(lines, pattern):
    return [m for m in map(pattern.match, lines) if m]


def compare_linear_regression(cpp, ref):
    c_ep, p_ep = matches(cpp, EPOCH_LOSS), matches(ref, EPOCH_LOSS)
    c_pr, p_pr = matches(cpp, PREDICTION), matches(ref, PREDICTION)
    for who, ep, pr, lines in (("ctorch", c_ep, c_pr, cpp), ("PyTorch", p_ep, p_pr, ref)):
        if not ep or len(pr) != 1:
            raise Mismatch(f"linear_regression ({who}): no `Epoch [n/N], Loss:` or `Input:` line:\n" + "\n".join(lines))
    errors, worst = [], 0.0
    if [m.group(1, 2) for m in c_ep] != [m.group(1, 2) for m in p_ep]:
        errors.append(f"  loss lines printed at epochs {[m.group(1) for m in c_ep]} (ctorch) vs "
                      f"{[m.group(1) for m in p_ep]} (PyTorch)")
    pairs = [(f"loss at epoch {c.group(1)}", c.group(3), p.group(3)) for c, p in zip(c_ep, p_ep)]
    pairs += [("input", c_pr[0].group(1), p_pr[0].group(1)), ("prediction", c_pr[0].group(2), p_pr[0].group(2))]
    for what, c, p in pairs:
        if not agree_printed(c, p, RTOL_CLOSE):
            errors.append(f"  {what}: ctorch {c} vs PyTorch {p}")
        worst = max(worst, rel(float(c), float(p)))
    return errors, worst


def parse_mlp_regression(lines, who):
    variants, results, current = {}, {}, None
    for line in lines:
        if m := VARIANT.match(line):
            current = m.group(1)
            variants[current] = {"batch": int(m.group(2)), "steps": int(m.group(3)), "losses": []}
        elif (m := VARIANT_LOSS.match(line)) and current:
            variants[current]["losses"].append((int(m.group(1)), m.group(2)))
        elif m := VARIANT_RESULT.match(line):
            results[m.group(1)] = (m.group(2), int(m.group(3)))
    if len(variants) != 3 or len(results) != 3 or not all(v["losses"] for v in variants.values()):
        raise Mismatch(f"{who}: expected three variants with per-epoch losses and three result lines:\n" + "\n".join(lines))
    return variants, results


def compare_mlp_regression(cpp, ref):
    c_var, c_res = parse_mlp_regression(cpp, "mlp_regression (ctorch)")
    p_var, p_res = parse_mlp_regression(ref, "mlp_regression (PyTorch)")
    if list(c_var) != list(p_var) or list(c_res) != list(p_res):
        return [f"  variants {list(c_var)}, {list(c_res)} (ctorch) vs {list(p_var)}, {list(p_res)} (PyTorch)"], float("nan")
    errors, worst = [], 0.0
    for name, c in c_var.items():
        p = p_var[name]
        if (c["batch"], c["steps"]) != (p["batch"], p["steps"]):
            errors.append(f"  {name}: batch size {c['batch']}, {c['steps']} steps per epoch (ctorch) vs "
                          f"{p['batch']}, {p['steps']} (PyTorch)")
        if [e for e, _ in c["losses"]] != [e for e, _ in p["losses"]]:
            errors.append(f"  {name}: losses printed at epochs {[e for e, _ in c['losses']]} (ctorch) vs "
                          f"{[e for e, _ in p['losses']]} (PyTorch)")
            continue
        for (epoch, cl), (_, pl) in zip(c["losses"], p["losses"]):
            if not agree_printed(cl, pl, RTOL_CLOSE):
                errors.append(f"  {name}, epoch {epoch}: loss ctorch {cl} vs PyTorch {pl} "
                              f"(relative difference {rel(float(cl), float(pl)):.2e})")
            worst = max(worst, rel(float(cl), float(pl)))
    for name, (cl, cs) in c_res.items():
        pl, ps = p_res[name]
        if cs != ps:
            errors.append(f"  {name}: {cs} updates (ctorch) vs {ps} (PyTorch)")
        if not agree_printed(cl, pl, RTOL_CLOSE):
            errors.append(f"  {name}: final loss ctorch {cl} vs PyTorch {pl} (relative difference {rel(float(cl), float(pl)):.2e})")
        worst = max(worst, rel(float(cl), float(pl)))
    return errors, worst


def parse_digits(lines, who):
    split, acc = matches(lines, SPLIT), matches(lines, ACCURACY)
    if len(split) != 1 or len(acc) != 1:
        raise Mismatch(f"{who}: expected one split line and one `Test accuracy:` line:\n" + "\n".join(lines))
    epochs = [(int(m.group(1)), float(m.group(3))) for m in matches(lines, DIGITS_EPOCH)]
    return split[0].groups(), float(acc[0].group(1)), epochs


def compare_digits(cpp, ref):
    c_split, c_acc, c_epochs = parse_digits(cpp, "digits_classifier (ctorch)")
    p_split, p_acc, p_epochs = parse_digits(ref, "digits_classifier (PyTorch)")
    errors = []
    if c_split != p_split:
        errors.append(f"  split (images, train, test) {c_split} (ctorch) vs {p_split} (PyTorch)")
    if not abs(c_acc - p_acc) <= ACCURACY_POINTS:
        errors.append(f"  test accuracy {c_acc}% (ctorch) vs {p_acc}% (PyTorch): more than {ACCURACY_POINTS} points apart")
    loss_diff = max((rel(c, p) for (_, c), (_, p) in zip(c_epochs, p_epochs)), default=float("nan"))
    print(f"  test accuracy: ctorch {c_acc}%, PyTorch {p_acc}%: {abs(c_acc - p_acc):.2f} points apart "
          f"(at most {ACCURACY_POINTS} allowed); train losses: largest relative difference {loss_diff:.2e} (not checked)")
    return errors, rel(c_acc, p_acc)


# What to show of each side's output: the lines that are not `t loss` lines (all of them for a
# short output), or for the long outputs their summary.
def summary(name, lines):
    if name == "linear_regression":
        return [l for l in lines if PREDICTION.match(l)] or lines[-1:]
    if name == "mlp_regression":
        after = [i for i, l in enumerate(lines) if l.startswith("After ")]
        return lines[after[-1]:] if after else lines[-1:]
    if name == "digits_classifier":
        return lines[-2:]
    return [l for l in lines if not LOSS.match(l)] or lines[-1:]


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    bin_dir = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    ref_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(here, "..", "..", "examples", "reference")

    three, five = "agree to 3 significant digits", "agree to 5 significant digits"
    examples = [  # (name, comparison, what it checks)
        ("polynomial_tensors", lambda c, p: compare_polynomial("polynomial_tensors", POLY, "abcd", c, p), three),
        ("polynomial_autograd", lambda c, p: compare_polynomial("polynomial_autograd", POLY, "abcd", c, p), three),
        ("polynomial_function", lambda c, p: compare_polynomial("polynomial_function", LEGENDRE, "abcd", c, p), three),
        ("least_squares", compare_least_squares, three),
        ("linear_regression", compare_linear_regression, five),
        ("mlp_regression", compare_mlp_regression, five),
        ("polynomial_nn", lambda c, p: compare_polynomial("polynomial_nn", POLY, "abcd", c, p, RTOL_CLOSE), five),
        ("polynomial_optim", compare_polynomial_optim,
         "agree to 3 significant digits above RMSprop's noise floor, to its jitter below"),
        ("polynomial_module", lambda c, p: compare_polynomial("polynomial_module", POLY, "abcd", c, p, RTOL_CLOSE), five),
        ("dynamic_net", lambda c, p: compare_polynomial("dynamic_net", DYNAMIC, "abcdee", c, p, RTOL_CLOSE), five),
        ("digits_classifier", compare_digits, f"test accuracies within {ACCURACY_POINTS} points"),
    ]
    failed = False
    for name, compare, what in examples:
        print(f"== {name}")
        try:
            cpp = run([os.path.join(bin_dir, name)])
            ref = run([sys.executable, os.path.join(ref_dir, name + ".py")])
            for tag, ls in (("ctorch ", summary(name, cpp)), ("PyTorch", summary(name, ref))):
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
            print(f"ok   {name}: {what} (largest relative difference {worst:.2e})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
