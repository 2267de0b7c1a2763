#!/usr/bin/env bash
# Writes the golden streams of the Java analogue's byte-for-byte tests with the JDK's own
# ObjectOutputStream (see src/ember/bench/GoldenWriter.java). Needs a JDK 17 on the PATH; the
# output is committed under serde-bench/tests/golden, so nothing else needs Java.
#
# Usage: serde-bench/jvm/generate.sh [OUTPUT_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../tests/golden}"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT

javac --release 17 -encoding UTF-8 -d "$build" $(find "$here/src" -name '*.java' | sort)
mkdir -p "$out"
java -cp "$build" ember.bench.GoldenWriter "$out"
java -XshowSettings:properties -version 2>&1 \
    | grep -E '^\s*(java\.runtime\.version|java\.vendor|java\.vm\.name) =' \
    | sed 's/^ *//' > "$out/JDK.txt"
echo "golden files written to $out"
