#!/usr/bin/env bash
# Benchmarks the hot path (`get` hit and miss with 1, 1,000 and 10,000 saved credentials, and
# `list`) against /bin/true, spawning the binary the way clients do: the release binary built
# exactly as install.sh builds it. Prints medians and the ratios of SPEC §8.
# BENCH_RUNS=N changes the number of runs (default 400).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(./install.sh --build-only)
BENCH_BIN="$(realpath "$bin")" exec cargo bench --locked --bench get
