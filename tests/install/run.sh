#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds and runs tests/install as a
# separate project against it.  usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/install" >/dev/null
cmake -S "$src/tests/install" -B "$prefix/consumer" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/consumer" -j2 >/dev/null
"$prefix/consumer/consumer"
