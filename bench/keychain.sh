#!/usr/bin/env bash
# Benchmarks `get` of a keychain-backed credential against docker-credential-secretservice (the
# Docker project's Secret Service helper, Debian package golang-docker-credential-helpers), both
# on a throwaway gnome-keyring in a private D-Bus session. Also prints a file-backed `get`.
# Needs: dbus-run-session, gnome-keyring-daemon, secret-tool, hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NF_BENCH_IN_SESSION:-}" ]; then
    bin=$(realpath "$(./install.sh --build-only)")
    NF_BENCH_IN_SESSION=1 NF_BENCH_BIN=$bin exec dbus-run-session -- "$0" "$@"
fi
bin=$NF_BENCH_BIN
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
cmds=(-n "northflank get (keyring)" "NORTHFLANK_CONFIG_DIR=$work/kr $bin get < $work/in"
      -n "northflank get (file)" "NORTHFLANK_CONFIG_DIR=$work/file $bin get < $work/in")
$have_ss && cmds+=(-n "docker-credential-secretservice get" "docker-credential-secretservice get < $work/in")
hyperfine --warmup 5 --runs 100 "${cmds[@]}"
