#!/usr/bin/env bash
# Micro-benchmarks of single ops, ctorch vs PyTorch (bench/README.md, "Micro-benchmarks"):
# configure + build bench_micro (Google Benchmark) in build-micro, run it and bench/micro_torch.py
# on the same OpenBLAS kernels and threads, and print the Markdown table of medians and ratios.
#   bench/micro.sh                          # all cases (~1.5 min)
#   bench/micro.sh --filter 'add|relu'      # a regular expression over the case names
#   bench/micro.sh --coretype Haswell       # OPENBLAS_CORETYPE for both (default SkylakeX; "none": unset)
#   bench/micro.sh --reps 5 --min-time 0.05 # repetitions per case, seconds per repetition
#   bench/micro.sh --rounds 3               # ctorch, PyTorch, ctorch, ...: medians over the rounds
#   bench/micro.sh --clock cpu              # process CPU time instead of wall time (busy machine)
#   bench/micro.sh --report-only            # the table from the last results
# Output: stdout, and BUILD_DIR/micro-results/{ctorch_<round>.json,torch_<round>.json,micro.md}.
# BUILD_DIR (build-micro) and JOBS (2) override the build directory and parallelism.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-micro}"
jobs="${JOBS:-2}"
coretype=SkylakeX reps=5 min_time=0.05 filter="" report_only=0 rounds=1 clock=wall
while (($#)); do
  case "$1" in
    --coretype) coretype="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --filter) filter="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --clock) clock="$2"; shift 2 ;;
    --report-only) report_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "micro.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done
out="$build/micro-results"
mkdir -p "$out"

if ((!report_only)); then
  # Google Benchmark and PyTorch: installed on demand (not part of setup.sh's default or --test lists).
  for p in libbenchmark-dev python3-torch; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || { "$root/scripts/setup.sh" --bench; break; }
  done
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTORCH_BUILD_TESTS=OFF -DCTORCH_BUILD_EXAMPLES=OFF \
    -DCTORCH_BUILD_BENCH=ON >/dev/null
  echo "building bench_micro in $build ..." >&2
  cmake --build "$build" -j "$jobs" --target bench_micro >&2

  # The same OpenBLAS kernels and one thread everywhere. ctorch moves OpenBLAS off its Prescott
  # fallback by itself unless OPENBLAS_CORETYPE is set; PyTorch does not (bench/README.md).
  export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
  if [[ "$coretype" != none ]]; then export OPENBLAS_CORETYPE="$coretype"; else unset OPENBLAS_CORETYPE; fi
  gb_args=(--benchmark_format=json --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true
           --benchmark_min_time="$min_time")
  py_args=(--repeat "$reps" --min-time "$min_time" --clock "$clock")
  [[ -n "$filter" ]] && gb_args+=(--benchmark_filter="$filter") && py_args+=(--filter "$filter")
  rm -f "$out"/ctorch_*.json "$out"/torch_*.json
  for ((r = 1; r <= rounds; ++r)); do
    echo "round $r/$rounds: bench_micro (ctorch), then micro_torch.py (PyTorch); load $(cut -d' ' -f1 /proc/loadavg)" >&2
    "$build/bench/bench_micro" "${gb_args[@]}" >"$out/ctorch_$r.json"
    /usr/bin/python3 "$root/bench/micro_torch.py" "${py_args[@]}" --out "$out/torch_$r.json" 2>/dev/null
  done
fi
list() { ls "$out"/"$1"_*.json | sort -V | paste -sd, -; }
/usr/bin/python3 "$root/bench/micro_torch.py" --clock "$clock" --table "$(list ctorch)" "$(list torch)" | tee "$out/micro.md"
