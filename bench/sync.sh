#!/usr/bin/env bash
# Benchmarks `sync` of 1,000 credentials from the loopback stand-in for Northflank's API
# (tests/servers/northflank_api.py, needs python3): the fetch and the plan on their own, and the
# whole command through the release binary built as install.sh builds it, first run and
# unchanged re-run, with the request counts. Prints numbers; asserts nothing about time.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(./install.sh --build-only)
BENCH_BIN="$(realpath "$bin")" exec cargo bench --locked --bench sync
