#!/usr/bin/env bash
# One command for the whole benchmark suite: configure and build build-bench (Release, no tests),
# then run bench/run.py, which prints the Markdown table and writes
# build-bench/bench-results/{results.md,results.json,chart.png}. Arguments go to run.py:
#   bench/run.sh                 # full run (~5 min on 2 cores)
#   bench/run.sh --quick         # smoke run
#   bench/run.sh --only small,ops
# BUILD_DIR and JOBS override the build directory (build-bench) and the build parallelism (2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-2}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTORCH_BUILD_TESTS=OFF -DCTORCH_BUILD_BENCH=ON -DCTORCH_BENCH_LIBTORCH=ON >/dev/null
targets=(bench_ctorch quickstart)
if cmake --build "$build" --target help 2>/dev/null | grep -q "bench_libtorch"; then  # libtorch found
  targets+=(bench_libtorch quickstart_libtorch)
fi
echo "building ${targets[*]} in $build ..." >&2
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >&2

exec /usr/bin/python3 "$root/bench/run.py" --build-dir "$build" "$@"
