#!/usr/bin/env bash
# Benchmarks the hot path (`get` hit and miss with 1, 1,000 and 10,000 saved credentials, and
# `list`) against /bin/true, spawning the release binary the way clients do. Prints medians and
# the ratios of SPEC §8. BENCH_RUNS=N changes the number of runs (default 400).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --locked --bench get
