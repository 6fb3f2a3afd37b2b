#!/usr/bin/env bash
# Benchmarks `get` of a keychain-backed credential against docker-credential-secretservice (the
# Docker project's Secret Service helper, Debian package golang-docker-credential-helpers), both
# on a throwaway gnome-keyring in a private D-Bus session, next to a file-backed `get` (what
# starting the binary costs). hyperfine's summary gives the ratios of one run. Then
# benches/keychain.rs times the steps of one Secret Service `get` (connect, open the session,
# search, read the secret) with the `plain` session the helper uses on a local bus and with the
# encrypted one. Prints numbers; asserts nothing about time. See docs/keychain.md.
# Needs: dbus-run-session, gnome-keyring-daemon, secret-tool, hyperfine.
# BENCH_RUNS=N changes the number of runs (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NF_BENCH_IN_SESSION:-}" ]; then
    bin=$(realpath "$(./install.sh --build-only)")
    # The steps benchmark, built now with install.sh's target and flags (so it reuses that
    # build), run inside the session below.
    host=$(rustc -vV | sed -n 's/^host: //p')
    case "$host" in *-linux-gnu) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;; esac
    steps=$(cargo bench --locked --target "$host" --bench keychain --no-run --message-format=json 2>/dev/null |
        grep '"kind":\["bench"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
    NF_BENCH_IN_SESSION=1 NF_BENCH_BIN=$bin NF_BENCH_STEPS=$steps exec dbus-run-session -- "$0" "$@"
fi
bin=$NF_BENCH_BIN
runs=${BENCH_RUNS:-100}
work=$(mktemp -d)
export HOME=$work XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
printf 'bench-password' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    printf x | secret-tool store --label=ready bench ready 2>/dev/null && break
    sleep 0.1
done

cred='{"ServerURL":"ghcr.io","Username":"bench","Secret":"bench-secret"}'
printf %s "$cred" | NORTHFLANK_CONFIG_DIR=$work/kr NORTHFLANK_CREDENTIAL_BACKEND=keyring "$bin" store
printf %s "$cred" | NORTHFLANK_CONFIG_DIR=$work/file NORTHFLANK_CREDENTIAL_BACKEND=file "$bin" store
have_ss=true
if command -v docker-credential-secretservice >/dev/null; then
    printf %s "$cred" | docker-credential-secretservice store
else
    have_ss=false
    echo "note: docker-credential-secretservice missing (apt-get install golang-docker-credential-helpers): not compared" >&2
fi
printf ghcr.io > "$work/in"
cmds=()
$have_ss && cmds+=(-n "docker-credential-secretservice get" "docker-credential-secretservice get < $work/in")
cmds+=(-n "northflank get (keyring)" "NORTHFLANK_CONFIG_DIR=$work/kr $bin get < $work/in"
       -n "northflank get (file)" "NORTHFLANK_CONFIG_DIR=$work/file $bin get < $work/in")
hyperfine --warmup 5 --runs "$runs" "${cmds[@]}"

if [ -x "${NF_BENCH_STEPS:-}" ]; then
    echo
    BENCH_RUNS=$runs "$NF_BENCH_STEPS" --bench
else
    echo "note: the steps benchmark did not build (cargo bench --bench keychain --no-run): skipped" >&2
fi
