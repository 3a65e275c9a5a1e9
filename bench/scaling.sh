#!/usr/bin/env bash
# The scaling sweep in one command: configure and build bench_ctorch (and bench_libtorch when
# libtorch-dev is installed) in build-bench (Release, no tests; only these targets), then run
# bench/scaling.py, which prints the Markdown table and writes
# build-bench/bench-results/{scaling.md,scaling.csv,scaling.json,scaling.png}. Arguments go to
# scaling.py:
#   bench/scaling.sh                  # full sweep (~4 min on 2 cores)
#   bench/scaling.sh --quick          # smoke run
#   bench/scaling.sh --no-libtorch    # ctorch and PyTorch only
# BUILD_DIR and JOBS override the build directory (build-bench) and the build parallelism (2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-2}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTORCH_BUILD_TESTS=OFF -DCTORCH_BUILD_BENCH=ON -DCTORCH_BENCH_LIBTORCH=ON >/dev/null
targets=(bench_ctorch)
if [[ " $* " != *" --no-libtorch "* ]] && cmake --build "$build" --target help 2>/dev/null | grep -q "bench_libtorch"; then
  targets+=(bench_libtorch)
fi
echo "building ${targets[*]} in $build ..." >&2
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >&2

exec /usr/bin/python3 "$root/bench/scaling.py" --build-dir "$build" "$@"
