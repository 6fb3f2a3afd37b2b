#!/usr/bin/env bash
# Logging wrapper installed by tests/e2e/run.sh as `docker-credential-northflank`
# first on PATH.  It records every call a client makes (caller, argv, stdin with
# secrets masked, exit code, stdout with secrets masked, stderr) in the run's
# helper log, then behaves exactly like the real helper: same stdin, stdout,
# stderr and exit code.  @REAL@ and @LOG@ are filled in by run.sh.
REAL='@REAL@'
LOG='@LOG@'

mask_json_secret() { # hide the value of "Secret" in JSON text (Go or Python style)
  sed -E 's/("Secret"[[:space:]]*:[[:space:]]*")(\\.|[^"\\])*"/\1***"/g'
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nf-wrap.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

verb=${1-}
stdin_mode=pass                       # list/version/ls/rm...: hand stdin over untouched
case "$verb" in get|erase) stdin_mode=plain ;; store) stdin_mode=json ;; esac
for a in "$@"; do
  case "$a" in --password-stdin) stdin_mode=secret ;; esac
done

if [[ $stdin_mode == pass ]]; then
  "$REAL" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  logged_in="(not read)"
else
  cat >"$tmp/in"
  "$REAL" "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  case "$stdin_mode" in
    plain)  logged_in=$(cat "$tmp/in") ;;
    json)   logged_in=$(mask_json_secret <"$tmp/in") ;;
    secret) logged_in="<$(wc -c <"$tmp/in") bytes, masked>" ;;
  esac
fi

cat "$tmp/out"
cat "$tmp/err" >&2

if [[ $verb == get ]]; then
  logged_out=$(mask_json_secret <"$tmp/out")
else
  logged_out=$(cat "$tmp/out")
fi
caller=$(tr -d '\n' <"/proc/$PPID/comm" 2>/dev/null || echo '?')
project=${NORTHFLANK_PROJECT-<unset>}
line=$(printf '%s caller=%s project=%q argv=%s stdin=%q exit=%d stdout=%q stderr=%q' \
  "$(date +%H:%M:%S.%3N)" "$caller" "$project" "$(printf '%q ' "$@")" \
  "$logged_in" "$rc" "$logged_out" "$(cat "$tmp/err")")
printf '%s\n' "$line" >>"$LOG"
exit "$rc"
