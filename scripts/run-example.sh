#!/usr/bin/env bash
# Set-up, Release build, then the main example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCTORCH_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/quickstart "$@"
