#!/usr/bin/env bash
# Runs every test of docker-credential-northflank:
#   1. cargo's unit and integration tests (protocol bytes, hosts, projects, store stress and
#      kills, hostile setups, bad input, Kubernetes, registry verification against a real
#      docker-registry, a real gnome-keyring, ECR and Northflank's API through loopback
#      stand-ins),
#   2. the real-client suite (docker, skopeo, podman, buildah, the Python Docker SDK) against
#      registries it starts on 127.0.0.1 (tests/e2e/run.sh).
# Tests that need an outside program skip loudly when it is missing, and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --locked --all-targets
cargo build --locked --release
tests/e2e/run.sh
