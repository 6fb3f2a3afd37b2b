#!/bin/sh
# Builds docker-credential-northflank, installs it into a PATH folder and points docker and
# podman/skopeo/buildah at it (`configure`). Safe to run again: an unchanged binary is not
# reinstalled and `configure` leaves entries that are already right alone.
#
#   ./install.sh                 as root: /usr/local/bin, otherwise ~/.local/bin
#   PREFIX=/opt/nf ./install.sh  installs into $PREFIX/bin
#   ./install.sh --build-only    only builds; prints the binary's path (bench/get.sh uses it)
set -eu

NAME=docker-credential-northflank
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not on PATH. Install Rust with rustup (https://rustup.rs):" >&2
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh && . \"\$HOME/.cargo/env\"" >&2
    echo "then run ./install.sh again." >&2
    exit 1
fi

if [ -n "${PREFIX:-}" ]; then
    BIN="$PREFIX/bin"
elif [ "$(id -u)" = 0 ]; then
    BIN=/usr/local/bin
else
    BIN="$HOME/.local/bin"
fi

# On Linux with glibc the binary is linked statically: every pull starts it, and skipping the
# dynamic loader makes `get` cost about what starting /bin/true costs (see bench/get.sh). The
# explicit --target keeps the static flag off build scripts and proc-macros.
HOST=$(rustc -vV | sed -n 's/^host: //p')
case "$HOST" in
    *-linux-gnu) FLAGS="-C target-feature=+crt-static" ;;
    *) FLAGS="" ;;
esac
echo "building: cargo build --release --locked --target $HOST${FLAGS:+ (RUSTFLAGS=$FLAGS)}" >&2
RUSTFLAGS="${RUSTFLAGS:-} $FLAGS" cargo build --release --locked --target "$HOST"
BUILT="${CARGO_TARGET_DIR:-target}/$HOST/release/$NAME"
if [ "${1:-}" = --build-only ]; then
    echo "$BUILT"
    exit 0
fi

mkdir -p "$BIN"
if [ -f "$BIN/$NAME" ] && cmp -s "$BUILT" "$BIN/$NAME"; then
    echo "unchanged: $BIN/$NAME is already this build"
else
    install -m 0755 "$BUILT" "$BIN/$NAME"
    echo "installed: $BIN/$NAME"
fi

case ":$PATH:" in
    *":$BIN:"*) ;;
    *) echo "note: $BIN is not on PATH, so docker cannot run the helper yet; add it:" \
            "export PATH=\"$BIN:\$PATH\"" ;;
esac

echo "configuring: $BIN/$NAME configure"
"$BIN/$NAME" configure
echo "done: run '$NAME doctor' to check the setup"
