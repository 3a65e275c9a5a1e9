#!/usr/bin/env bash
# Installs the Debian packages ctorch needs that are missing (quick when all are there).
#   scripts/setup.sh          build + examples
#   scripts/setup.sh --test   also what the test suite needs (PyTorch as the oracle)
#   scripts/setup.sh --bench  also what bench/micro.sh needs (Google Benchmark, PyTorch); flags combine
set -euo pipefail
packages=(g++ cmake make pkg-config libopenblas-dev liblapacke-dev libfmt-dev doctest-dev zlib1g-dev dataset-fashion-mnist gnuplot-nox)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(python3 python3-torch python3-numpy python3-sklearn) ;;
    --bench) packages+=(libbenchmark-dev python3 python3-torch) ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
