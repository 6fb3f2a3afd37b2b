#!/usr/bin/env bash
# End-to-end suite: docker-credential-northflank driven by real clients
# (skopeo, podman, buildah, the docker CLI with the real engine, the Python
# Docker SDK) against real registries (Debian's docker-registry) on loopback.
#
#   tests/e2e/run.sh                 # after `cargo build --release`
#   HELPER_BIN=/path/to/binary tests/e2e/run.sh
#   E2E_ONLY='skopeo|docker-pull' tests/e2e/run.sh   # run matching cases only
#   E2E_KEEP=1 tests/e2e/run.sh      # keep the temp dir (and helper log) for a look
#   E2E_LOG_COPY=helper-calls.log tests/e2e/run.sh   # copy the helper-call log out (CI artifact)
#
# Every case prints PASS/FAIL/SKIP; the run ends with `N passed, M failed, K skipped`
# and exits non-zero if any case failed.  A missing tool is a SKIP, or a FAIL when
# CI=true.  Every helper call is logged through a wrapper (helper-wrapper.sh); the
# log lines of a failed case are printed under it.  See tests/e2e/README.md.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HELPER_BIN=${HELPER_BIN:-target/release/docker-credential-northflank}
if [[ $HELPER_BIN != /* ]]; then
  if [[ -e $PWD/$HELPER_BIN ]]; then HELPER_BIN=$PWD/$HELPER_BIN; else HELPER_BIN=$ROOT/$HELPER_BIN; fi
fi
CI=${CI:-false}
E2E_ONLY=${E2E_ONLY:-}
E2E_KEEP=${E2E_KEEP:-}
CT=${E2E_CLIENT_TIMEOUT:-120}          # seconds allowed for any one client command
CACHE_DIR=${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/northflank-e2e}
NOT_FOUND='credentials not found in native keychain'
HUB_KEY='https://index.docker.io/v1/'
T0=$(date +%s)

T=$(mktemp -d /tmp/nf-e2e.XXXXXX) || exit 2
chmod 700 "$T"
mkdir -p "$T/bin" "$T/cases" "$T/certs" "$T/logs"
HLOG=$T/helper-calls.log
: >"$HLOG"

PIDFILE=$T/pids    # background processes the suite started (cases run in subshells: a file)
: >"$PIDFILE"
CREATED_PATHS=()   # system paths we created (certs.d entries, containers state dirs)
PASSED=0 FAILED=0 SKIPPED=0
FAILED_NAMES=() SKIPPED_NAMES=()

say() { printf '%s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- cleanup
cleanup() {
  local rc=$?
  set +e
  local pid
  while read -r pid; do [[ -n $pid ]] && kill "$pid" 2>/dev/null; done <"$PIDFILE"
  while read -r pid; do
    [[ -n $pid ]] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
  done <"$PIDFILE"
  if have docker && docker info >/dev/null 2>&1; then
    # every image tagged from one of our registries or by our builds
    local re='^(127\.0\.0\.1:[0-9]+|localhost|\[::1\]:[0-9]+)/(tiny|pushed-[0-9a-f]+):|^nf-e2e-'
    docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -E "$re" |
      while read -r ref; do docker image rm -f "$ref" >/dev/null 2>&1; done
  fi
  local i
  for ((i = ${#CREATED_PATHS[@]} - 1; i >= 0; i--)); do rm -rf -- "${CREATED_PATHS[i]}"; done
  [[ -n ${E2E_LOG_COPY:-} ]] && cp "$HLOG" "$E2E_LOG_COPY" 2>/dev/null
  if [[ -n $E2E_KEEP ]]; then
    say "E2E_KEEP set: left $T (helper log: $HLOG)"
  else
    rm -rf -- "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Paths that podman/buildah/skopeo create on first use even with --root/--runroot;
# remove them afterwards if they were not there before the run.
for p in /var/lib/containers /run/containers /run/libpod /etc/docker/certs.d; do
  [[ -e $p ]] || CREATED_PATHS+=("$p")
done

# ---------------------------------------------------------------- the helper + wrapper
REAL_HELPER=$T/real/docker-credential-northflank
mkdir -p "$T/real"
if [[ -x $HELPER_BIN ]]; then
  cp "$HELPER_BIN" "$REAL_HELPER"
fi
sed -e "s#@REAL@#$REAL_HELPER#" -e "s#@LOG@#$HLOG#" "$HERE/helper-wrapper.sh" >"$T/bin/docker-credential-northflank"
chmod +x "$T/bin/docker-credential-northflank"
export PATH="$T/bin:$PATH"
NF=$T/bin/docker-credential-northflank
unset NORTHFLANK_PROJECT DOCKER_HOST DOCKER_CONTEXT DOCKER_AUTH_CONFIG REGISTRY_AUTH_FILE NORTHFLANK_CREDENTIAL_BACKEND
export NORTHFLANK_CONFIG_DIR=$T/nf-default
export DOCKER_CONFIG=$T/docker-default
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

rand() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
USER1=alice
PASS1="nf-e2e-pw-$(rand)"
WRONG="nf-e2e-wrong-$(rand)"
SECRETS=("$PASS1" "$WRONG")

# ---------------------------------------------------------------- case runner
# A case is a shell function run in a subshell: exit 0 = pass, 77 = skip, else fail.
# It prints its own transcript; on failure that transcript's tail and the helper
# calls made during the case are printed.
CASE_N=0
run_case() {
  local name=$1 fn=$2
  if [[ -n $E2E_ONLY && $name != registry-* && $name != image-push && $name != helper-present ]] &&
    ! [[ $name =~ $E2E_ONLY ]]; then return; fi
  CASE_N=$((CASE_N + 1))
  local dir="$T/cases/$(printf '%02d' "$CASE_N")-${name//[^A-Za-z0-9_.-]/_}"
  mkdir -p "$dir"
  printf '=== case %s\n' "$name" >>"$HLOG"
  local start rc t1
  start=$(wc -l <"$HLOG")
  t1=$(date +%s)
  (
    export CASE_DIR=$dir
    export NORTHFLANK_CONFIG_DIR=$dir/nf
    export DOCKER_CONFIG=$dir/docker
    export AUTHFILE=$dir/auth.json
    export REGISTRY_AUTH_FILE=$AUTHFILE
    mkdir -p "$DOCKER_CONFIG"
    write_client_configs
    "$fn"
  ) >"$dir/transcript" 2>&1 </dev/null
  rc=$?
  if [[ -f $T/vars ]]; then source "$T/vars"; rm -f "$T/vars"; fi
  local secs=$(($(date +%s) - t1))
  case $rc in
    0) PASSED=$((PASSED + 1)); say "PASS: $name (${secs}s)" ;;
    77) SKIPPED=$((SKIPPED + 1)); SKIPPED_NAMES+=("$name")
        say "SKIP: $name -- $(grep -m1 '^SKIP-REASON:' "$dir/transcript" | cut -d: -f2-)" ;;
    *) FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name")
       say "FAIL: $name (${secs}s, exit $rc)"
       say "----- transcript (last 60 lines) -----"
       tail -n 60 "$dir/transcript" | sed 's/^/  | /'
       say "----- helper calls during this case -----"
       tail -n +"$((start + 1))" "$HLOG" | sed 's/^/  > /'
       say "-----------------------------------------" ;;
  esac
}

# Inside a case ----------------------------------------------------------------
set_var() { printf '%s=%q\n' "$1" "$2" >>"$T/vars"; }  # hand a value back to the main shell
fail() { echo "ASSERTION FAILED: $*"; exit 1; }
skip() { echo "SKIP-REASON: $*"; exit 77; }
need() { # need TOOL... : skip (or fail under CI=true) when a tool is missing
  local t
  for t in "$@"; do
    if ! have "$t"; then
      if [[ $CI == true ]]; then fail "required tool '$t' is missing (CI=true)"; fi
      skip "tool '$t' is not installed"
    fi
  done
}
need_helper() { need jq; [[ -x $REAL_HELPER ]] || fail "helper binary not found at $HELPER_BIN (build it: cargo build --release)"; }
need_registry() { # need_registry VAR : the registry started OK
  [[ -n ${!1:-} ]] || fail "registry $1 is not running (see the registry cases above)"
}
need_docker() {
  need docker
  docker info >/dev/null 2>&1 || { [[ $CI == true ]] && fail "docker engine not reachable"; skip "docker engine not reachable (docker info fails)"; }
}

OUT=""     # output of the last `client` call
RC=0       # its exit status
client() { # client CMD...  run a client with a timeout; keeps OUT and RC
  echo "+ $*"
  OUT=$(timeout --kill-after=10 "$CT" "$@" 2>&1)
  RC=$?
  printf '%s\n' "$OUT" | sed 's/^/    /'
  echo "  (exit $RC)"
  [[ $RC -ne 124 ]] || fail "timed out after ${CT}s: $*"
}
client_in() { # client_in INPUT CMD...  same, with INPUT on stdin
  local input=$1; shift
  echo "+ (stdin) $*"
  OUT=$(printf '%s\n' "$input" | timeout --kill-after=10 "$CT" "$@" 2>&1)
  RC=$?
  printf '%s\n' "$OUT" | sed 's/^/    /'
  echo "  (exit $RC)"
  [[ $RC -ne 124 ]] || fail "timed out after ${CT}s: $*"
}
ok() { [[ $RC -eq 0 ]] || fail "${1:-command} should succeed (exit $RC)"; }
not_ok() { [[ $RC -ne 0 ]] || fail "${1:-command} should fail but exited 0"; }
out_has() { grep -qiE -- "$1" <<<"$OUT" || fail "output should match /$1/"; }
out_lacks() { ! grep -qiE -- "$1" <<<"$OUT" || fail "output should not match /$1/"; }
no_go_crash() {
  ! grep -qE 'goroutine [0-9]+ \[|stack overflow|^panic:|fatal error:|SIGSEGV' <<<"$OUT" ||
    fail "client crashed (Go runtime error in its output)"
}
auth_like_failure() { # the registry refused us: 401 / unauthorized / no basic auth credentials
  out_has 'unauthorized|401|no basic auth credentials|authentication required|invalid username/password'
}

# Reading the helper's store (through the wrapper, so it is logged too) -----------
nf_get() { # nf_get KEY -> sets GOT (stdout) and GRC
  GOT=$(printf '%s' "$1" | "$NF" get 2>/dev/null)
  GRC=$?
}
expect_cred() { # expect_cred KEY USER SECRET
  nf_get "$1"
  [[ $GRC -eq 0 ]] || fail "helper get '$1' should find a credential: exit $GRC, stdout '$GOT'"
  local u s
  u=$(jq -r .Username <<<"$GOT") s=$(jq -r .Secret <<<"$GOT")
  [[ $u == "$2" ]] || fail "helper get '$1': Username is '$u', expected '$2'"
  [[ $s == "$3" ]] || fail "helper get '$1': Secret is not the expected one"
  echo "  helper has $1 -> $2 (secret matches)"
}
expect_no_cred() { # expect_no_cred KEY
  nf_get "$1"
  [[ $GRC -eq 1 && $GOT == "$NOT_FOUND" ]] ||
    fail "helper get '$1' should answer not-found (exit 1, '$NOT_FOUND'); got exit $GRC, stdout '$GOT'"
  echo "  helper has nothing for $1"
}
nf_list() { LIST=$("$NF" list </dev/null 2>/dev/null) || fail "helper list failed: $LIST"; echo "  list: $LIST"; }
expect_list_has() { # KEY USER
  nf_list
  [[ $(jq -r --arg k "$1" '.[$k] // "<none>"' <<<"$LIST") == "$2" ]] || fail "helper list should map '$1' to '$2'"
}
expect_list_empty() { nf_list; [[ $(jq -c . <<<"$LIST") == '{}' ]] || fail "helper list should be {} but is $LIST"; }
nf_add() { # nf_add NAME REGISTRY USER SECRET [PROJECT...]
  local name=$1 reg=$2 user=$3 secret=$4; shift 4
  local args=() p
  for p in "$@"; do args+=(--project "$p"); done
  client_in "$secret" "$NF" add "$name" --provider custom --registry "$reg" --username "$user" --password-stdin "${args[@]}"
  ok "docker-credential-northflank add $name"
}
expect_no_secret_in() { # FILE : neither the password nor base64(user:password) is in FILE
  local f=$1 s
  [[ -e $f ]] || { echo "  ($f does not exist)"; return 0; }
  for s in "${SECRETS[@]}"; do
    ! grep -qF -- "$s" "$f" || fail "$f contains a secret in clear"
    ! grep -qF -- "$(printf '%s:%s' "$USER1" "$s" | base64 -w0)" "$f" || fail "$f contains base64(user:secret)"
  done
  ! jq -e '[.auths // {} | .[] | (.auth // empty), (.password // empty), (.identitytoken // empty)] | length > 0' "$f" >/dev/null ||
    fail "$f has an auth/password/identitytoken field"
  echo "  no secret in $f"
}
calls_since_case() { # helper log lines written since this case started
  local n; n=$(grep -n '^=== case ' "$HLOG" | tail -1 | cut -d: -f1)
  tail -n +"$((n + 1))" "$HLOG"
}
from_clients() { grep -vE ' caller=(bash|timeout) '; }  # drop the suite's own calls
expect_helper_called() { # expect_helper_called VERB STDIN [EXIT] : a client (not the suite) made this call
  local verb=$1 in=$2 ex=${3-} pat
  pat="argv=$verb  stdin=$(printf '%q' "$in") exit=${ex:+$ex }"
  calls_since_case | from_clients | grep -qF -- "$pat" ||
    fail "expected a client to call the helper: $verb with stdin '$in'${ex:+ and exit $ex}"
  echo "  a client called: $verb '$in'${ex:+ -> exit $ex}"
}
expect_no_store_call() {
  ! calls_since_case | from_clients | grep -q ' argv=store ' || fail "a client called 'store' but should not have"
}

# ---------------------------------------------------------------- infrastructure
free_port() { # free_port HOST -> a free TCP port on that loopback address
  python3 - "$1" <<'PY'
import socket, sys
h = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
s.bind((h, 0)); print(s.getsockname()[1]); s.close()
PY
}

# Registries: R_HTTP (plain HTTP), R_TLS (TLS, our CA), R_443 (localhost:443, TLS),
# R_V6 ([::1], TLS).  Values are the host[:port] key clients use.
R_HTTP="" R_TLS="" R_443="" R_V6=""
CERT_DIR=$T/certs/client   # for skopeo/podman/buildah --cert-dir: just our CA

make_ca() {
  local d=$T/certs
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=northflank-e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null &&
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/ext.cnf" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.crt" -days 2 -extfile "$d/ext.cnf" 2>/dev/null &&
  mkdir -p "$CERT_DIR" && cp "$d/ca.crt" "$CERT_DIR/ca.crt"
}

start_registry() { # start_registry NAME ADDR(host:port for listen) URL TLS(yes/no) [HTPASSWD] -> 0 when up
  local name=$1 addr=$2 url=$3 tls=$4 htpasswd=${5:-$T/htpasswd} cfg=$T/registry-$1.yml
  mkdir -p "$T/registry-data/$name"
  {
    echo "version: 0.1"
    echo "log: {level: warn, accesslog: {disabled: true}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $T/registry-data/$name}"
    echo "  delete: {enabled: true}"
    echo "http:"
    echo "  addr: \"$addr\""
    echo "  secret: e2e-$(rand)"
    if [[ $tls == yes ]]; then
      echo "  tls: {certificate: $T/certs/server.crt, key: $T/certs/server.key}"
    fi
    echo "auth:"
    echo "  htpasswd: {realm: northflank-e2e, path: $htpasswd}"
  } >"$cfg"
  # (distribution reads REGISTRY_* variables as config overrides: REGISTRY_AUTH_FILE would break it)
  env -u REGISTRY_AUTH_FILE docker-registry serve "$cfg" >"$T/logs/registry-$name.log" 2>&1 &
  local rpid=$!
  echo "$rpid" >>"$PIDFILE"
  local i code
  for i in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/certs/ca.crt" "$url/v2/" 2>/dev/null)
    [[ $code == 401 ]] && return 0
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.2
  done
  echo "registry $name did not come up (last HTTP code '$code'); its log:"
  sed 's/^/    /' "$T/logs/registry-$name.log"
  return 1
}

write_client_configs() { # credHelpers for every registry, in docker's config.json and containers' auth.json
  local keys=("$HUB_KEY" docker.io) k
  for k in "$R_HTTP" "$R_TLS" "$R_V6" localhost; do [[ -n $k ]] && keys+=("$k"); done
  jq -n '{credHelpers: ($ARGS.positional | map({key: ., value: "northflank"}) | from_entries)}' \
    --args "${keys[@]}" >"$AUTHFILE"
  cp "$AUTHFILE" "$DOCKER_CONFIG/config.json"
}

push_tiny() { # push_tiny REGKEY TLSARGS... : copy the tiny image with explicit creds
  local key=$1; shift
  skopeo copy --quiet "$@" --dest-creds "$USER1:$PASS1" "oci:$T/oci:v1" "docker://$key/tiny:v1"
}

print_versions() {
  say "== versions"
  say "  helper:          $("$REAL_HELPER" version 2>&1 </dev/null | head -1)"
  have skopeo && say "  skopeo:          $(skopeo --version 2>&1 | head -1)"
  have podman && say "  podman:          $(podman --version 2>&1 | head -1)"
  have buildah && say "  buildah:         $(buildah --version 2>&1 | head -1)"
  if have docker; then
    say "  docker CLI:      $(docker version --format '{{.Client.Version}}' 2>/dev/null)"
    say "  docker engine:   $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo 'not reachable')"
    say "  docker buildx:   $(docker buildx version 2>/dev/null | head -1 || true)"
  fi
  have docker-registry && say "  docker-registry: $(docker-registry --version 2>&1 | head -1)"
  [[ -x $VENV/bin/python ]] && say "  docker SDK (py): $("$VENV/bin/python" -c 'import docker; print(docker.__version__)' 2>/dev/null)"
  return 0
}

# Python Docker SDK in a cached venv (re-runs reuse it).
VENV=$CACHE_DIR/venv
ensure_venv() {
  [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import docker' 2>/dev/null && return 0
  mkdir -p "$CACHE_DIR"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >"$T/logs/venv.log" 2>&1 &&
    timeout 300 "$VENV/bin/pip" install --quiet 'docker>=7,<8' >>"$T/logs/venv.log" 2>&1
}

# ================================================================ cases
# --- 1. registries and the image ------------------------------------------------
case_helper_present() {
  need_helper
  client "$NF" version
  ok "helper version"
  out_has '^docker-credential-northflank \('
}

case_registry_http() {
  need docker-registry htpasswd curl
  R_HTTP_PORT=$(free_port 127.0.0.1)
  start_registry http "127.0.0.1:$R_HTTP_PORT" "http://127.0.0.1:$R_HTTP_PORT" no || fail "registry did not start"
  client curl -s -o /dev/null -w '%{http_code}' -u "$USER1:$PASS1" "http://127.0.0.1:$R_HTTP_PORT/v2/"
  [[ $OUT == 200 ]] || fail "htpasswd login to the registry should give 200, got $OUT"
  client curl -s -o /dev/null -w '%{http_code}' -u "$USER1:$WRONG" "http://127.0.0.1:$R_HTTP_PORT/v2/"
  [[ $OUT == 401 ]] || fail "a wrong password should give 401, got $OUT"
  set_var R_HTTP "127.0.0.1:$R_HTTP_PORT"
}

case_registry_tls() {
  need docker-registry openssl curl
  R_TLS_PORT=$(free_port 127.0.0.1)
  start_registry tls "127.0.0.1:$R_TLS_PORT" "https://127.0.0.1:$R_TLS_PORT" yes || fail "registry did not start"
  client curl -s -o /dev/null -w '%{http_code}' --cacert "$T/certs/ca.crt" -u "$USER1:$PASS1" "https://127.0.0.1:$R_TLS_PORT/v2/"
  [[ $OUT == 200 ]] || fail "TLS + htpasswd should give 200, got $OUT"
  client curl -s -o /dev/null "https://127.0.0.1:$R_TLS_PORT/v2/"
  not_ok "curl without our CA (the certificate must be verified against the suite's CA)"
  set_var R_TLS "127.0.0.1:$R_TLS_PORT"
}

case_registry_443() {
  need docker-registry openssl curl
  if ss -ltn 2>/dev/null | grep -qE '127\.0\.0\.1:443 |\*:443 |0\.0\.0\.0:443 '; then
    fail "port 443 on 127.0.0.1 is already taken; cannot start the localhost:443 registry"
  fi
  start_registry p443 "127.0.0.1:443" "https://localhost" yes || fail "registry did not start on localhost:443"
  client curl -s -o /dev/null -w '%{http_code}' --cacert "$T/certs/ca.crt" -u "$USER1:$PASS1" "https://localhost/v2/"
  [[ $OUT == 200 ]] || fail "got $OUT"
  set_var R_443 "localhost"
}

case_registry_ipv6() {
  need docker-registry curl
  ip -6 addr show lo 2>/dev/null | grep -q '::1' || skip "no IPv6 loopback on this machine"
  R_V6_PORT=$(free_port ::1)
  start_registry v6 "[::1]:$R_V6_PORT" "https://[::1]:$R_V6_PORT" yes || fail "registry did not start on [::1]"
  client curl -s -o /dev/null -w '%{http_code}' --cacert "$T/certs/ca.crt" -u "$USER1:$PASS1" "https://[::1]:$R_V6_PORT/v2/"
  [[ $OUT == 200 ]] || fail "got $OUT"
  set_var R_V6 "[::1]:$R_V6_PORT"
}

case_image_push() {
  need skopeo python3
  python3 "$HERE/mkimage.py" "$T/oci" v1 || fail "could not write the OCI layout"
  [[ -n $R_HTTP ]] && { push_tiny "$R_HTTP" --dest-tls-verify=false || fail "push to $R_HTTP"; }
  [[ -n $R_TLS ]] && { push_tiny "$R_TLS" --dest-cert-dir "$CERT_DIR" || fail "push to $R_TLS"; }
  [[ -n $R_443 ]] && { push_tiny localhost --dest-cert-dir "$CERT_DIR" || fail "push to localhost:443"; }
  # (no push to [::1]: skopeo 1.9 and engine 20.10 reject "[::1]:port/repo" references)
  [[ -n $R_HTTP ]] || fail "no HTTP registry to push to"
  client skopeo inspect --tls-verify=false --creds "$USER1:$PASS1" "docker://$R_HTTP/tiny:v1"
  ok "skopeo inspect with explicit creds"
  client skopeo inspect --tls-verify=false --no-creds "docker://$R_HTTP/tiny:v1"
  not_ok "anonymous inspect"; auth_like_failure
}

# --- 2. skopeo --------------------------------------------------------------------
case_skopeo_login_stores() {
  need_helper; need skopeo; need_registry R_HTTP
  client_in "$PASS1" skopeo login --authfile "$AUTHFILE" --tls-verify=false -u "$USER1" --password-stdin "$R_HTTP"
  ok "skopeo login"; no_go_crash
  calls_since_case | from_clients | grep -q ' argv=store ' || fail "skopeo did not call the helper's store"
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_list_has "$R_HTTP" "$USER1"
  expect_no_secret_in "$AUTHFILE"
  jq -e --arg k "$R_HTTP" '.credHelpers[$k] == "northflank"' "$AUTHFILE" >/dev/null || fail "credHelpers entry lost from the auth file"
}

case_skopeo_inspect_with_helper() {
  need_helper; need skopeo; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  client skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  ok "skopeo inspect through the helper"
  out_has '"Name": *"'"$R_HTTP"'/tiny"'
  expect_helper_called get "$R_HTTP" 0
}

case_skopeo_inspect_without_cred_401() {
  need_helper; need skopeo; need_registry R_HTTP
  expect_list_empty
  client skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  not_ok "skopeo inspect with no credential"; auth_like_failure; no_go_crash
  expect_helper_called get "$R_HTTP" 1
}

case_skopeo_login_wrong_password() {
  need_helper; need skopeo; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  client_in "$WRONG" skopeo login --authfile "$AUTHFILE" --tls-verify=false -u "$USER1" --password-stdin "$R_HTTP"
  not_ok "skopeo login with a wrong password"; auth_like_failure; no_go_crash
  expect_no_store_call
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_no_secret_in "$AUTHFILE"
}

case_skopeo_logout_erases() {
  need_helper; need skopeo; need_registry R_HTTP
  client_in "$PASS1" skopeo login --authfile "$AUTHFILE" --tls-verify=false -u "$USER1" --password-stdin "$R_HTTP"
  ok "skopeo login"
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  client skopeo logout --authfile "$AUTHFILE" "$R_HTTP"
  ok "skopeo logout"; no_go_crash
  expect_helper_called erase "$R_HTTP" 0
  expect_no_cred "$R_HTTP"
  expect_list_empty
  client skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  not_ok "inspect after logout"; auth_like_failure
}

case_skopeo_logout_not_logged_in() {
  need_helper; need skopeo; need_registry R_HTTP
  client skopeo logout --authfile "$AUTHFILE" "$R_HTTP"
  no_go_crash
  [[ $RC -eq 0 ]] || { [[ $RC -eq 1 ]] && out_has 'not logged in'; } ||
    fail "logout when not logged in: expected exit 0, or exit 1 with 'not logged in'; got exit $RC"
  expect_list_empty
}

case_skopeo_tls_cert_dir() {
  need_helper; need skopeo; need_registry R_TLS
  client_in "$PASS1" skopeo login --authfile "$AUTHFILE" --cert-dir "$CERT_DIR" -u "$USER1" --password-stdin "$R_TLS"
  ok "skopeo login over TLS"
  expect_cred "$R_TLS" "$USER1" "$PASS1"
  client skopeo inspect --authfile "$AUTHFILE" --cert-dir "$CERT_DIR" "docker://$R_TLS/tiny:v1"
  ok "skopeo inspect over TLS through the helper"
  mkdir -p "$CASE_DIR/empty-certs"
  client skopeo inspect --authfile "$AUTHFILE" --cert-dir "$CASE_DIR/empty-certs" "docker://$R_TLS/tiny:v1"
  not_ok "TLS without our CA must fail verification"; out_has 'certificate|x509'
  expect_no_secret_in "$AUTHFILE"
}

case_skopeo_port443_no_port_key() {
  need_helper; need skopeo; need_registry R_443
  # saved as localhost:443; the client asks for "localhost" (":443 equals no port")
  nf_add e2e-443 localhost:443 "$USER1" "$PASS1"
  client skopeo inspect --authfile "$AUTHFILE" --cert-dir "$CERT_DIR" docker://localhost/tiny:v1
  ok "skopeo inspect localhost/tiny:v1 (key without a port)"
  expect_helper_called get localhost 0
  "$NF" rm e2e-443 </dev/null || fail "rm e2e-443"
  expect_no_cred localhost
  # and a login to the port-less host stores the port-less key
  client_in "$PASS1" skopeo login --authfile "$AUTHFILE" --cert-dir "$CERT_DIR" -u "$USER1" --password-stdin localhost
  ok "skopeo login localhost"
  expect_list_has localhost "$USER1"
  expect_cred localhost "$USER1" "$PASS1"
  client skopeo logout --authfile "$AUTHFILE" localhost
  ok "skopeo logout localhost"
  expect_no_cred localhost
}

case_docker_ipv6_login_logout() {
  # c/image 5.23 (skopeo 1.9, podman 4.3) and engine 20.10 reject "[::1]:port/repo" image
  # references, so an IPv6 registry is covered through docker login/logout (store/erase)
  need_helper; need_docker; need_registry R_V6
  [[ -f /etc/docker/certs.d/$R_V6/ca.crt ]] || fail "certs.d entry for $R_V6 missing"
  client_in "$PASS1" docker login -u "$USER1" --password-stdin "$R_V6"
  ok "docker login $R_V6"
  expect_cred "$R_V6" "$USER1" "$PASS1"
  expect_list_has "$R_V6" "$USER1"
  expect_no_secret_in "$DOCKER_CONFIG/config.json"
  client docker logout "$R_V6"
  ok "docker logout $R_V6"; out_lacks 'could not erase'
  expect_helper_called erase "$R_V6" 0
  expect_no_cred "$R_V6"
}

# --- 3. podman and buildah ------------------------------------------------------------
containers_opts() { # storage under the run's temp dir (podman wants a runroot under 50 characters)
  local d; d=$(mktemp -d "$T/cs.XXXX")
  echo --root "$d/root" --runroot "$d/run" --storage-driver vfs
}
podman_like_cycle() { # podman_like_cycle TOOL
  local tool=$1 o; read -ra o <<<"$(containers_opts)"
  client_in "$PASS1" "$tool" "${o[@]}" login --authfile "$AUTHFILE" --tls-verify=false -u "$USER1" --password-stdin "$R_HTTP"
  ok "$tool login"; no_go_crash
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_no_secret_in "$AUTHFILE"
  client "$tool" "${o[@]}" pull --authfile "$AUTHFILE" --tls-verify=false "$R_HTTP/tiny:v1"
  ok "$tool pull through the helper"
  expect_helper_called get "$R_HTTP" 0
  client "$tool" "${o[@]}" images
  out_has "$R_HTTP/tiny"
  # TLS registry with --cert-dir, credential saved with `add`
  if [[ -n $R_TLS ]]; then
    nf_add e2e-tls "$R_TLS" "$USER1" "$PASS1"
    client "$tool" "${o[@]}" pull --authfile "$AUTHFILE" --cert-dir "$CERT_DIR" "$R_TLS/tiny:v1"
    ok "$tool pull over TLS through the helper"
  fi
  client "$tool" "${o[@]}" logout --authfile "$AUTHFILE" "$R_HTTP"
  ok "$tool logout"; no_go_crash
  expect_helper_called erase "$R_HTTP" 0
  expect_no_cred "$R_HTTP"
  client "$tool" "${o[@]}" logout --authfile "$AUTHFILE" "$R_HTTP"
  no_go_crash
  [[ $RC -eq 0 || ( $RC -eq 125 || $RC -eq 1 ) && $OUT == *"not logged in"* ]] ||
    fail "second logout: expected exit 0 or 'not logged in', got exit $RC"
  client "$tool" "${o[@]}" rmi -a -f
}
podman_like_401() {
  local tool=$1 o; read -ra o <<<"$(containers_opts)"
  expect_list_empty
  client "$tool" "${o[@]}" pull --authfile "$AUTHFILE" --tls-verify=false "$R_HTTP/tiny:v1"
  not_ok "$tool pull with no credential"; auth_like_failure; no_go_crash
  expect_helper_called get "$R_HTTP" 1
}
case_podman_login_pull_logout() { need_helper; need podman; need_registry R_HTTP; podman_like_cycle podman; }
case_podman_pull_401() { need_helper; need podman; need_registry R_HTTP; podman_like_401 podman; }
case_buildah_login_pull_logout() { need_helper; need buildah; need_registry R_HTTP; podman_like_cycle buildah; }
case_buildah_pull_401() { need_helper; need buildah; need_registry R_HTTP; podman_like_401 buildah; }

# --- 6. projects through real clients ---------------------------------------------------
case_projects_skopeo() {
  need_helper; need skopeo; need_registry R_HTTP
  nf_add e2e-proj "$R_HTTP" "$USER1" "$PASS1" proj-allowed
  client env NORTHFLANK_PROJECT=proj-allowed skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  ok "inspect with NORTHFLANK_PROJECT=proj-allowed"
  client env NORTHFLANK_PROJECT=proj-other skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  not_ok "inspect with another project"; auth_like_failure
  client skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  not_ok "inspect with no project"; auth_like_failure
  client env NORTHFLANK_PROJECT= skopeo inspect --authfile "$AUTHFILE" --tls-verify=false "docker://$R_HTTP/tiny:v1"
  not_ok "inspect with an empty project"; auth_like_failure
  # list in each context: only what get would serve
  [[ $(NORTHFLANK_PROJECT=proj-allowed "$NF" list </dev/null | jq -r --arg k "$R_HTTP" '.[$k] // "-"') == "$USER1" ]] ||
    fail "list in proj-allowed should show $R_HTTP"
  [[ $(NORTHFLANK_PROJECT=proj-other "$NF" list </dev/null | jq -r --arg k "$R_HTTP" '.[$k] // "-"') == - ]] ||
    fail "list in proj-other should not show $R_HTTP"
}

case_projects_logout_other_project_untouched() {
  need_helper; need skopeo; need_registry R_HTTP
  nf_add e2e-proj "$R_HTTP" "$USER1" "$PASS1" proj-allowed
  client env NORTHFLANK_PROJECT=proj-other skopeo logout --authfile "$AUTHFILE" "$R_HTTP"
  no_go_crash
  NORTHFLANK_PROJECT=proj-allowed expect_cred "$R_HTTP" "$USER1" "$PASS1"
}

case_projects_docker_pull() {
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-proj "$R_HTTP" "$USER1" "$PASS1" proj-allowed
  client env NORTHFLANK_PROJECT=proj-other docker pull "$R_HTTP/tiny:v1"
  not_ok "docker pull in another project"; auth_like_failure
  client env NORTHFLANK_PROJECT=proj-allowed docker pull "$R_HTTP/tiny:v1"
  ok "docker pull in the allowed project"
  docker image rm -f "$R_HTTP/tiny:v1" >/dev/null
}

case_projects_docker_login_logout_scoped() {
  # docker login in a project updates that project's credential (name and restriction kept);
  # docker logout there removes that whole credential and nothing the context cannot see.
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-proj "$R_HTTP" old-user "$WRONG" proj-allowed
  client_in "$PASS1" env NORTHFLANK_PROJECT=proj-allowed docker login -u "$USER1" --password-stdin "$R_HTTP"
  ok "docker login in proj-allowed"
  NORTHFLANK_PROJECT=proj-allowed expect_cred "$R_HTTP" "$USER1" "$PASS1"
  local ls; ls=$("$NF" ls --json </dev/null) || fail "ls --json failed"
  echo "  ls: $(jq -c '[.[] | {name, registry, username, restricted, projects}]' <<<"$ls")"
  [[ $(jq 'length' <<<"$ls") == 1 ]] || fail "login in the project should update the one credential, not add another"
  [[ $(jq -r '.[0] | "\(.name) \(.restricted) \(.projects | join(","))"' <<<"$ls") == "e2e-proj true proj-allowed" ]] ||
    fail "the updated credential should keep its name and its restriction"
  expect_no_cred "$R_HTTP"   # still invisible outside the project
  client env NORTHFLANK_PROJECT=proj-allowed docker logout "$R_HTTP"
  ok "docker logout in proj-allowed"
  ls=$("$NF" ls --json </dev/null)
  [[ $(jq 'length' <<<"$ls") == 0 ]] || fail "logout should remove the whole credential; ls: $ls"
}

# A logout in one project never touches the credential other projects share (SPEC §4): the
# clients send erase two to four times per logout, and every spelling is one registry here.
seed_shared_and_p1() {
  nf_add e2e-shared "$R_HTTP" shared-user "$WRONG"
  nf_add e2e-p1 "$R_HTTP" "$USER1" "$PASS1" proj-one
}
expect_only_p1_gone() {
  expect_cred "$R_HTTP" shared-user "$WRONG"                       # no project: the shared one
  NORTHFLANK_PROJECT=proj-one expect_cred "$R_HTTP" shared-user "$WRONG"  # p1 now falls back to it
  NORTHFLANK_PROJECT=proj-two expect_cred "$R_HTTP" shared-user "$WRONG"
  local names; names=$("$NF" ls --json </dev/null | jq -r '[.[].name] | sort | join(",")')
  [[ $names == e2e-shared ]] || fail "only e2e-p1 should be gone; ls has: $names"
}
case_projects_docker_logout_credhelpers() {
  need_helper; need_docker; need_registry R_HTTP
  seed_shared_and_p1
  client env NORTHFLANK_PROJECT=proj-one docker logout "$R_HTTP"
  ok "docker logout in proj-one"
  [[ $(calls_since_case | from_clients | grep -c ' argv=erase ') -ge 2 ]] || fail "docker should call erase at least twice"
  expect_only_p1_gone
}
case_projects_docker_logout_credsstore() {
  need_helper; need_docker; need_registry R_HTTP
  jq -n '{credsStore: "northflank"}' >"$DOCKER_CONFIG/config.json"
  seed_shared_and_p1
  client env NORTHFLANK_PROJECT=proj-one docker logout "$R_HTTP"
  ok "docker logout in proj-one (credsStore)"
  [[ $(calls_since_case | from_clients | grep -c ' argv=erase ') -ge 3 ]] || fail "docker should call erase for each spelling"
  expect_only_p1_gone
  # Logging out again in proj-one: nothing of proj-one's is left, the shared one stays.
  client env NORTHFLANK_PROJECT=proj-one docker logout "$R_HTTP"
  expect_cred "$R_HTTP" shared-user "$WRONG"
}
case_projects_docker_login_in_a_project_never_changes_the_shared_one() {
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-shared "$R_HTTP" shared-user "$WRONG"
  client_in "$PASS1" env NORTHFLANK_PROJECT=proj-one docker login -u "$USER1" --password-stdin "$R_HTTP"
  ok "docker login in proj-one"
  NORTHFLANK_PROJECT=proj-one expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_cred "$R_HTTP" shared-user "$WRONG"
  NORTHFLANK_PROJECT=proj-two expect_cred "$R_HTTP" shared-user "$WRONG"
  local made; made=$("$NF" ls --json </dev/null | jq -r '.[] | select(.name != "e2e-shared") | "\(.restricted) \(.projects | join(","))"')
  [[ $made == "true proj-one" ]] || fail "the login should create a credential restricted to proj-one alone; got '$made'"
  client env NORTHFLANK_PROJECT=proj-one docker pull "$R_HTTP/tiny:v1"
  ok "docker pull in proj-one with its own login"
  docker image rm -f "$R_HTTP/tiny:v1" >/dev/null 2>&1 || true
}
containers_logout_in_p1() { # containers_logout_in_p1 TOOL
  local tool=$1 o=()
  [[ $tool == skopeo ]] || read -ra o <<<"$(containers_opts)"
  seed_shared_and_p1
  client env NORTHFLANK_PROJECT=proj-one "$tool" "${o[@]}" logout --authfile "$AUTHFILE" "$R_HTTP"
  no_go_crash
  expect_only_p1_gone
}
case_projects_skopeo_logout_keeps_shared() { need_helper; need skopeo; need_registry R_HTTP; containers_logout_in_p1 skopeo; }
case_projects_podman_logout_keeps_shared() { need_helper; need podman; need_registry R_HTTP; containers_logout_in_p1 podman; }

# --- ECR: the saved key pair exchanged for a registry token ---------------------------------
# A stand-in for ECR's GetAuthorizationToken (tests/servers/fake_ecr.py, which checks SigV4)
# issues one token; a loopback registry under an ECR host name accepts only AWS + that token.
# The ECR name resolves to 127.0.0.1 through /etc/hosts for the duration of the case.
ECR_KEY_ID=AKIAIOSFODNN7EXAMPLE
ECR_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
ECR_HOST=123456789012.dkr.ecr.us-east-1.amazonaws.com
case_ecr_docker_pull_with_the_exchanged_token() {
  need_helper; need_docker; need python3; need docker-registry; need htpasswd; need skopeo
  local token="nf-e2e-ecr-$(rand)" port fport
  cp /etc/hosts "$CASE_DIR/hosts.bak"
  trap 'cat "$CASE_DIR/hosts.bak" >/etc/hosts' EXIT
  printf '127.0.0.1 %s\n' "$ECR_HOST" >>/etc/hosts
  jq -n --arg t "$token" '{token: $t}' >"$CASE_DIR/fake-ecr.json"
  python3 "$ROOT/tests/servers/fake_ecr.py" --config "$CASE_DIR/fake-ecr.json" >"$CASE_DIR/fake-ecr.port" 2>"$CASE_DIR/fake-ecr.log" &
  echo "$!" >>"$PIDFILE"
  for _ in $(seq 1 50); do fport=$(head -1 "$CASE_DIR/fake-ecr.port" 2>/dev/null); [[ -n $fport ]] && break; sleep 0.1; done
  [[ -n $fport ]] || fail "the fake ECR did not start: $(cat "$CASE_DIR/fake-ecr.log")"
  htpasswd -Bbn AWS "$token" >"$CASE_DIR/htpasswd"
  port=$(free_port 127.0.0.1)
  start_registry ecr "127.0.0.1:$port" "http://127.0.0.1:$port" no "$CASE_DIR/htpasswd" || fail "ECR registry did not start"
  local reg="$ECR_HOST:$port"
  skopeo copy --quiet --dest-tls-verify=false --dest-creds "AWS:$token" "oci:$T/oci:v1" "docker://$reg/tiny:v1" ||
    fail "could not push the test image with the token"
  jq -n --arg k "$reg" '{credHelpers: {($k): "northflank"}}' >"$DOCKER_CONFIG/config.json"
  client_in "$ECR_SECRET" "$NF" add ecr-e2e --provider ecr --registry "$reg" --username "$ECR_KEY_ID" --password-stdin --project proj-ecr
  ok "add the ECR key pair"
  export AWS_ENDPOINT_URL_ECR="http://127.0.0.1:$fport"
  docker_rmi "$reg/tiny:v1"
  client env NORTHFLANK_PROJECT=proj-ecr docker pull "$reg/tiny:v1"
  ok "docker pull with the exchanged token"
  docker_rmi "$reg/tiny:v1"
  client env NORTHFLANK_PROJECT=proj-ecr docker pull "$reg/tiny:v1"
  ok "a second pull, from the cached token"
  [[ $(curl -s "http://127.0.0.1:$fport/__fake/stats" | jq .requests) == 1 ]] || fail "two pulls should make one exchange"
  docker_rmi "$reg/tiny:v1"
  client env NORTHFLANK_PROJECT=proj-other docker pull "$reg/tiny:v1"
  not_ok "docker pull in another project"; auth_like_failure
  client env NORTHFLANK_PROJECT=proj-ecr "$NF" verify "http://$reg" --insecure-http
  ok "verify through the exchanged token"; out_has 'accepted'
  # The saved key pair never reaches the registry; the token never reaches a log line.
  ! grep -qF -- "$ECR_SECRET" "$HLOG" || fail "the secret access key is in the helper log"
  docker_rmi "$reg/tiny:v1"
}

# --- 4. docker CLI with the real engine ----------------------------------------------------
docker_rmi() { docker image rm -f "$@" >/dev/null 2>&1 || true; }

case_docker_login_stores() {
  need_helper; need_docker; need_registry R_HTTP
  client_in "$PASS1" docker login -u "$USER1" --password-stdin "$R_HTTP"
  ok "docker login"
  out_lacks 'stored unencrypted'
  calls_since_case | from_clients | grep -q ' argv=store ' || fail "docker did not call the helper's store"
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_list_has "$R_HTTP" "$USER1"
  expect_no_secret_in "$DOCKER_CONFIG/config.json"
  jq -e --arg k "$R_HTTP" '.auths[$k] == {}' "$DOCKER_CONFIG/config.json" >/dev/null ||
    fail "config.json should hold the credential-free marker auths[\"$R_HTTP\"] = {}"
}

case_docker_pull_with_helper() {
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  docker_rmi "$R_HTTP/tiny:v1"
  client docker pull "$R_HTTP/tiny:v1"
  ok "docker pull through the helper"
  expect_helper_called get "$R_HTTP" 0
  client docker image inspect --format '{{index .Config.Labels "e2e"}}' "$R_HTTP/tiny:v1"
  [[ $OUT == northflank ]] || fail "pulled image is not the suite's tiny image"
  docker_rmi "$R_HTTP/tiny:v1"
}

case_docker_pull_without_cred() {
  need_helper; need_docker; need_registry R_HTTP
  docker_rmi "$R_HTTP/tiny:v1"
  client docker pull "$R_HTTP/tiny:v1"
  not_ok "docker pull with no credential"; auth_like_failure
  expect_helper_called get "$R_HTTP" 1
}

case_docker_push_retagged() {
  need_helper; need_docker; need skopeo; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  local tag="$R_HTTP/pushed-$(rand | cut -c1-6):v2"
  client docker pull "$R_HTTP/tiny:v1"; ok "docker pull"
  client docker tag "$R_HTTP/tiny:v1" "$tag"; ok "docker tag"
  client docker push "$tag"
  ok "docker push through the helper"
  client skopeo inspect --tls-verify=false --creds "$USER1:$PASS1" "docker://$tag"
  ok "the pushed tag is in the registry"
  client docker logout "$R_HTTP"; ok "docker logout"
  client docker push "$tag"
  not_ok "docker push without a credential"; auth_like_failure
  docker_rmi "$tag" "$R_HTTP/tiny:v1"
}

case_docker_logout_erases() {
  need_helper; need_docker; need_registry R_HTTP
  client_in "$PASS1" docker login -u "$USER1" --password-stdin "$R_HTTP"
  ok "docker login"
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  client docker logout "$R_HTTP"
  ok "docker logout"; out_lacks 'could not erase'
  expect_helper_called erase "$R_HTTP" 0
  expect_no_cred "$R_HTTP"
  expect_list_empty
  ! jq -e --arg k "$R_HTTP" '.auths[$k]' "$DOCKER_CONFIG/config.json" >/dev/null 2>&1 || fail "config.json still has the auths marker"
  client docker logout "$R_HTTP"
  ok "docker logout again (nothing stored)"; out_lacks 'could not erase'
}

case_docker_login_wrong_password() {
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  client_in "$WRONG" docker login -u "$USER1" --password-stdin "$R_HTTP"
  not_ok "docker login with a wrong password"; auth_like_failure
  expect_no_store_call
  expect_cred "$R_HTTP" "$USER1" "$PASS1"
  expect_no_secret_in "$DOCKER_CONFIG/config.json"
}

certsd_add() { # certsd_add HOSTDIR : give the engine our CA for that registry
  local d=/etc/docker/certs.d/$1
  if [[ -e $d ]]; then echo "  $d already exists; not touching it"; return 0; fi
  mkdir -p /etc/docker/certs.d && mkdir "$d" && cp "$T/certs/ca.crt" "$d/ca.crt"
}
# certs.d entries are created once, in the main shell (so cleanup knows them).
setup_certsd() {
  [[ -n $R_TLS ]] && [[ ! -e /etc/docker/certs.d/$R_TLS ]] && CREATED_PATHS+=("/etc/docker/certs.d/$R_TLS") && certsd_add "$R_TLS"
  [[ -n $R_443 ]] && [[ ! -e /etc/docker/certs.d/localhost ]] && CREATED_PATHS+=("/etc/docker/certs.d/localhost") && certsd_add localhost
  [[ -n $R_V6 ]] && [[ ! -e /etc/docker/certs.d/$R_V6 ]] && CREATED_PATHS+=("/etc/docker/certs.d/$R_V6") && certsd_add "$R_V6"
  return 0
}

case_docker_tls_certsd() {
  need_helper; need_docker; need_registry R_TLS
  [[ -f /etc/docker/certs.d/$R_TLS/ca.crt ]] || fail "certs.d entry for $R_TLS missing"
  client_in "$PASS1" docker login -u "$USER1" --password-stdin "$R_TLS"
  ok "docker login over TLS"
  expect_cred "$R_TLS" "$USER1" "$PASS1"
  docker_rmi "$R_TLS/tiny:v1"
  client docker pull "$R_TLS/tiny:v1"
  ok "docker pull over TLS through the helper"
  docker_rmi "$R_TLS/tiny:v1"
  client docker logout "$R_TLS"; ok "docker logout"
  expect_no_cred "$R_TLS"
}

case_docker_localhost443() {
  need_helper; need_docker; need_registry R_443
  nf_add e2e-443 localhost "$USER1" "$PASS1"
  docker_rmi localhost/tiny:v1
  client docker pull localhost/tiny:v1
  ok "docker pull localhost/tiny:v1 through the helper"
  expect_helper_called get localhost 0
  docker_rmi localhost/tiny:v1
  client docker logout localhost; ok "docker logout localhost"
  expect_no_cred localhost
  client_in "$PASS1" docker login -u "$USER1" --password-stdin localhost
  ok "docker login localhost"
  expect_list_has localhost "$USER1"
  client docker logout localhost; ok "docker logout localhost"
  expect_list_empty
}

case_docker_build_from_private() {
  need_helper; need_docker; need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  docker_rmi "$R_HTTP/tiny:v1"
  local ctx=$CASE_DIR/ctx tag="nf-e2e-built:$(rand | cut -c1-8)"
  mkdir -p "$ctx"
  printf 'FROM %s/tiny:v1\nLABEL built-by=northflank-e2e\n' "$R_HTTP" >"$ctx/Dockerfile"
  echo "$tag" >"$CASE_DIR/built-tag"
  client env DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx"
  local brc=$RC
  docker_rmi "$tag" "$R_HTTP/tiny:v1"
  [[ $brc -eq 0 ]] || fail "docker build FROM the private registry should succeed"
  expect_helper_called get "$R_HTTP" 0
}

case_docker_buildx() {
  need_helper; need_docker
  docker buildx version >/dev/null 2>&1 || skip "docker buildx is not installed (optional; 'docker build' is covered by docker-build-from-private)"
  need_registry R_HTTP
  nf_add e2e-http "$R_HTTP" "$USER1" "$PASS1"
  local ctx=$CASE_DIR/ctx tag="nf-e2e-buildx:$(rand | cut -c1-8)"
  mkdir -p "$ctx"
  printf 'FROM %s/tiny:v1\nLABEL built-by=northflank-e2e\n' "$R_HTTP" >"$ctx/Dockerfile"
  client docker buildx build --load -t "$tag" "$ctx"
  local brc=$RC
  docker_rmi "$tag" "$R_HTTP/tiny:v1"
  [[ $brc -eq 0 ]] || fail "docker buildx build FROM the private registry should succeed"
}

case_docker_hub_key_real_engine() {
  need_helper; need_docker
  # The CLI asks the helper for Docker Hub's key; the engine then fails (no network here).
  client_in '{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"'"$PASS1"'"}' "$NF" store
  ok "store the Hub credential"
  client docker pull docker.io/library/nf-e2e-nonexistent:latest
  expect_helper_called get "$HUB_KEY" 0
  client docker pull nf-e2e-nonexistent:latest
  expect_helper_called get "$HUB_KEY" 0
  client docker logout
  ok "docker logout (Docker Hub)"
  expect_helper_called erase "$HUB_KEY" 0
  expect_no_cred "$HUB_KEY"
  expect_no_cred docker.io
}

case_docker_hub_login_fake_engine() {
  need_helper; need docker python3
  local sock=$CASE_DIR/fake.sock rec=$CASE_DIR/fake.jsonl pid token="nf-e2e-idtoken-$(rand)"
  python3 "$HERE/fake_dockerd.py" "$sock" "$rec" & pid=$!; echo "$pid" >>"$PIDFILE"
  for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
  export DOCKER_HOST=unix://$sock
  client_in "$PASS1" docker login -u hubuser --password-stdin
  ok "docker login (Docker Hub, fake engine)"
  calls_since_case | from_clients | grep -F ' argv=store ' | grep -qF 'https://index.docker.io/v1/' ||
    fail "docker login did not store under $HUB_KEY"
  expect_cred "$HUB_KEY" hubuser "$PASS1"
  expect_cred docker.io hubuser "$PASS1"
  expect_list_has "$HUB_KEY" hubuser
  expect_no_secret_in "$DOCKER_CONFIG/config.json"
  client docker pull nf-e2e/whatever:1
  ok "docker pull (fake engine)"
  [[ $(tail -1 "$rec" | jq -r '.x_registry_auth.username + " " + (.x_registry_auth.password == $p | tostring)' --arg p "$PASS1") == "hubuser true" ]] ||
    fail "the CLI did not send the helper's Hub credential to the engine"
  client docker logout; ok "docker logout"
  expect_no_cred "$HUB_KEY"
  kill "$pid"; wait "$pid" 2>/dev/null
  # identity token: the engine answers with one; the CLI stores Username "<token>"
  rm -f "$sock"
  python3 "$HERE/fake_dockerd.py" "$sock" "$rec" "$token" & pid=$!; echo "$pid" >>"$PIDFILE"
  for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
  client_in "$PASS1" docker login -u hubuser --password-stdin
  ok "docker login (identity token)"
  expect_cred "$HUB_KEY" '<token>' "$token"
  client docker pull nf-e2e/whatever:1
  ok "docker pull with an identity token"
  [[ $(tail -1 "$rec" | jq -r '.x_registry_auth.identitytoken == $t' --arg t "$token") == true ]] ||
    fail "the CLI did not send the identity token to the engine"
  client docker logout; ok "docker logout"
  expect_no_cred "$HUB_KEY"
  kill "$pid"; wait "$pid" 2>/dev/null
  return 0
}

# --- 5. Python Docker SDK ----------------------------------------------------------------
sdk() { # sdk CASE : run one case of sdk_cases.py in the venv
  [[ -n $SDK_READY ]] || { [[ $CI == true ]] && fail "Python Docker SDK venv unavailable"; skip "Python Docker SDK venv could not be created (see logs/venv.log)"; }
  client env REG="${R_HTTP:-}" USER1="$USER1" PASS1="$PASS1" "$VENV/bin/python" "$HERE/sdk_cases.py" "$1"
  ok "sdk case $1"
}
case_sdk_store_get_list_erase() { need_helper; sdk store_get_list_erase; }
case_sdk_not_found() { need_helper; sdk not_found; }
case_sdk_identity_token() { need_helper; sdk identity_token; }
case_sdk_apiclient_pull() { need_helper; need_docker; need_registry R_HTTP; sdk apiclient_pull; }

# --- 7. the helper log itself ---------------------------------------------------------------
case_helper_log_masks_secrets() {
  [[ -s $HLOG ]] || fail "the helper log is empty"
  local s
  for s in "${SECRETS[@]}"; do ! grep -qF -- "$s" "$HLOG" || fail "the helper log contains a secret"; done
  ! grep -qF 'nf-e2e-idtoken-' "$HLOG" || fail "the helper log contains an identity token"
  ! grep -qF 'nf-sdk-secret' "$HLOG" || fail "the helper log contains an SDK test secret"
  local v
  for v in get store erase list; do grep -q " argv=$v " "$HLOG" || fail "no '$v' call was logged"; done
  echo "  $(grep -c ' argv=' "$HLOG") helper calls logged, no secret among them"
}

# --- 8. the README's quick start, run as written --------------------------------------------
case_readme_quick_start() {
  # The fenced block after the `<!-- quick-start` marker in README.md, with its placeholder
  # registry localhost:5000 mapped to a registry of this case's own (it needs a second user,
  # prod-bot, and a host that no client config knows yet, so `configure` has to wire it).
  need_helper; need_docker; need docker-registry htpasswd skopeo
  [[ -d $T/oci ]] || fail "the tiny OCI image is missing (see the image-push case)"
  local readme=$ROOT/README.md script=$CASE_DIR/quick-start.sh port addr image
  [[ $(grep -c '^<!-- quick-start' "$readme") == 1 ]] || fail "README.md should have exactly one <!-- quick-start --> marker"
  awk '/^<!-- quick-start/ {m = 1; next}
       m == 1 && /^```/ {m = 2; next}
       m == 2 && /^```/ {exit}
       m == 2 {print}' "$readme" >"$CASE_DIR/quick-start.md"
  grep -q 'localhost:5000' "$CASE_DIR/quick-start.md" || fail "the quick start should use the placeholder registry localhost:5000"
  grep -q 'docker pull' "$CASE_DIR/quick-start.md" || fail "the quick start should pull an image"
  port=$(free_port 127.0.0.1) addr=127.0.0.1:$port image=$addr/team/app:1.0
  sed "s/localhost:5000/$addr/g" "$CASE_DIR/quick-start.md" >"$script"
  echo "  the quick start, as run:"; sed 's/^/    | /' "$script"
  export TOKEN=$PASS1 PROD_TOKEN=$PASS1-prod   # (contain PASS1, so the log check covers them)
  htpasswd -Bb "$T/htpasswd" prod-bot "$PROD_TOKEN" 2>/dev/null || fail "could not add prod-bot to the htpasswd file"
  start_registry quickstart "$addr" "http://$addr" no || fail "registry did not start"
  skopeo copy --quiet --dest-tls-verify=false --dest-creds "$USER1:$PASS1" "oci:$T/oci:v1" "docker://$image" ||
    fail "could not push $image"
  trap "docker_rmi '$image'" EXIT   # (the case runs in a subshell: this trap is its own)
  docker_rmi "$image"
  client bash -euo pipefail "$script"
  ok "the README's quick start"
  # configure wired the new registry into both client configs
  jq -e --arg k "$addr" '.credHelpers[$k] == "northflank"' "$DOCKER_CONFIG/config.json" >/dev/null ||
    fail "configure did not wire $addr into docker's config.json"
  jq -e --arg k "$addr" '.credHelpers[$k] == "northflank"' "$AUTHFILE" >/dev/null ||
    fail "configure did not wire $addr into the containers auth file"
  # docker pulled through the helper, without a project and in prod
  local p pat
  for p in '<unset>' prod; do
    pat="project=$(printf %q "$p") argv=get  stdin=$(printf %q "$addr") exit=0 "
    calls_since_case | from_clients | grep -qF -- "$pat" || fail "docker did not get a credential from the helper with NORTHFLANK_PROJECT=$p"
  done
  client docker image inspect --format '{{index .Config.Labels "e2e"}}' "$image"
  [[ $OUT == northflank ]] || fail "the pulled image is not the suite's tiny image"
  # each context is served what the quick start says
  expect_cred "$addr" alice "$TOKEN"
  NORTHFLANK_PROJECT=prod expect_cred "$addr" prod-bot "$PROD_TOKEN"
  NORTHFLANK_PROJECT=dev expect_cred "$addr" alice "$TOKEN"
  "$NF" ls </dev/null | grep -qE "^prod-registry +custom +$addr +prod-bot +prod " || fail "ls does not show prod-registry restricted to prod"
}

# ================================================================ main
say "== docker-credential-northflank end-to-end suite"
say "  helper binary: $HELPER_BIN"
say "  work dir:      $T"
say "  CI:            $CI"
[[ -x $HELPER_BIN ]] || say "  WARNING: helper binary missing: every case that needs it will FAIL"

SDK_READY=""
if have python3; then
  if ensure_venv; then SDK_READY=1; else say "  WARNING: could not create the Python Docker SDK venv under $VENV (logs/venv.log)"; fi
fi
print_versions
if have openssl; then make_ca || say "  WARNING: could not make the test CA"; fi
if have htpasswd; then htpasswd -Bbn "$USER1" "$PASS1" >"$T/htpasswd"; fi

say "== cases"
run_case helper-present case_helper_present
# 1. registries and the image
run_case registry-http case_registry_http
run_case registry-tls case_registry_tls
run_case registry-localhost-443 case_registry_443
run_case registry-ipv6 case_registry_ipv6
run_case image-push case_image_push
setup_certsd
# 2. skopeo
run_case skopeo-login-stores-via-helper case_skopeo_login_stores
run_case skopeo-inspect-with-helper-cred case_skopeo_inspect_with_helper
run_case skopeo-inspect-without-cred-401 case_skopeo_inspect_without_cred_401
run_case skopeo-login-wrong-password-leaves-helper case_skopeo_login_wrong_password
run_case skopeo-logout-erases case_skopeo_logout_erases
run_case skopeo-logout-not-logged-in case_skopeo_logout_not_logged_in
run_case skopeo-tls-cert-dir case_skopeo_tls_cert_dir
run_case skopeo-localhost-443-key-without-port case_skopeo_port443_no_port_key
# 3. podman and buildah
run_case podman-login-pull-logout case_podman_login_pull_logout
run_case podman-pull-without-cred-401 case_podman_pull_401
run_case buildah-login-pull-logout case_buildah_login_pull_logout
run_case buildah-pull-without-cred-401 case_buildah_pull_401
# 4. docker CLI + engine
run_case docker-login-stores-via-helper case_docker_login_stores
run_case docker-pull-with-helper-cred case_docker_pull_with_helper
run_case docker-pull-without-cred-401 case_docker_pull_without_cred
run_case docker-push-retagged case_docker_push_retagged
run_case docker-logout-erases case_docker_logout_erases
run_case docker-login-wrong-password-leaves-helper case_docker_login_wrong_password
run_case docker-tls-certs.d case_docker_tls_certsd
run_case docker-localhost-443-key-without-port case_docker_localhost443
run_case docker-ipv6-login-logout case_docker_ipv6_login_logout
run_case docker-build-from-private case_docker_build_from_private
run_case docker-buildx-from-private case_docker_buildx
run_case docker-hub-key-real-engine case_docker_hub_key_real_engine
run_case docker-hub-login-fake-engine case_docker_hub_login_fake_engine
# 5. Python Docker SDK
run_case sdk-store-get-list-erase case_sdk_store_get_list_erase
run_case sdk-credentials-not-found case_sdk_not_found
run_case sdk-identity-token case_sdk_identity_token
run_case sdk-apiclient-pull-via-credhelpers case_sdk_apiclient_pull
# 6. projects
run_case projects-skopeo-allowed-other-none case_projects_skopeo
run_case projects-logout-from-other-project-untouched case_projects_logout_other_project_untouched
run_case projects-docker-pull case_projects_docker_pull
run_case projects-docker-login-logout-scoped case_projects_docker_login_logout_scoped
run_case ecr-docker-pull-with-the-exchanged-token case_ecr_docker_pull_with_the_exchanged_token
run_case projects-docker-logout-credhelpers-keeps-shared case_projects_docker_logout_credhelpers
run_case projects-docker-logout-credsstore-keeps-shared case_projects_docker_logout_credsstore
run_case projects-docker-login-never-changes-shared case_projects_docker_login_in_a_project_never_changes_the_shared_one
run_case projects-skopeo-logout-keeps-shared case_projects_skopeo_logout_keeps_shared
run_case projects-podman-logout-keeps-shared case_projects_podman_logout_keeps_shared
# 8. the README's quick start
run_case readme-quick-start case_readme_quick_start
# 7. the log
run_case helper-log-masks-secrets case_helper_log_masks_secrets

say "== summary ($(($(date +%s) - T0))s)"
((SKIPPED == 0)) || say "SKIPPED (not counted as passed): ${SKIPPED_NAMES[*]}"
((FAILED == 0)) || say "FAILED: ${FAILED_NAMES[*]}"
((FAILED == 0)) || say "full helper-call log: rerun with E2E_KEEP=1 to keep $HLOG"
say "$PASSED passed, $FAILED failed, $SKIPPED skipped"
((FAILED == 0))
