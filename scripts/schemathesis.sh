#!/usr/bin/env bash
# Schema-driven API tests: schemathesis generates requests from the served
# /openapi.json of a running payport (simulator mode, a temporary SQLite database,
# a free loopback port) with all of schemathesis's checks: every answer's status,
# content type, headers and body as the spec documents them, valid data accepted and
# invalid data refused, 401 without a token, 405 with Allow, and no 5xx. Any failure
# fails the run. It runs once with the merchant token and once with the operator
# token, so both roles' code paths are exercised.
#
#   bash scripts/schemathesis.sh [path/to/payport]
#
# Without an argument it builds and uses the debug binary. schemathesis (pinned) is
# installed into a venv under $SCHEMATHESIS_CACHE (default ~/.cache/payport-ci).
# SCHEMATHESIS_MAX_EXAMPLES (default 50) bounds the cases per operation,
# SCHEMATHESIS_MAX_SECONDS (default 600) each run, SCHEMATHESIS_SEED (default 1)
# picks the cases.
set -euo pipefail
# The binary as given, before leaving the caller's directory.
binary="${1:+$(realpath "$1")}"
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
# A hard bound per run, should the server hang (a hang is a failure too).
max_seconds="${SCHEMATHESIS_MAX_SECONDS:-600}"
cache="${SCHEMATHESIS_CACHE:-$HOME/.cache/payport-ci}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"

if [ -z "$binary" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payport-ci/target}"
  cargo build -p payport-server --all-features --locked
  binary="$CARGO_TARGET_DIR/debug/payport"
fi
[ -x "$binary" ] || { echo "FAILED: no payport binary at $binary" >&2; exit 1; }

# --- schemathesis, pinned, in its own venv --------------------------------------------
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  mkdir -p "$cache"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian ships venv separately; install it rather than skip the check.
    echo "python3 -m venv is missing; installing python3-venv"
    apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$venv/bin/schemathesis" --version

# --- a payport to test --------------------------------------------------------------------
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
merchant="schemathesis-merchant-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
operator="schemathesis-operator-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

# As an operator, schemathesis creates webhook endpoints with made-up URLs, and
# payport then delivers events to them. Every request to anything but this machine's
# loopback goes through a proxy that does not exist, so no delivery leaves the machine
# (each is a refused connection, retried like any other); the simulator is on
# 127.0.0.1 and is reached directly.
HTTP_PROXY="http://127.0.0.1:9" HTTPS_PROXY="http://127.0.0.1:9" ALL_PROXY="http://127.0.0.1:9" \
  NO_PROXY="127.0.0.1,localhost" \
  PAYPORT_LISTEN="127.0.0.1:$port" \
  PAYPORT_DATABASE_URL="sqlite://$work/payport.db" \
  PAYPORT_AUTH__MERCHANT_TOKENS="$merchant" \
  PAYPORT_AUTH__OPERATOR_TOKENS="$operator" \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$binary" serve >"$work/payport.log" 2>&1 &
pid=$!

up() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$base/healthz" 2>/dev/null; }
for _ in $(seq 150); do
  if up; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAILED: payport exited at start:" >&2; cat "$work/payport.log" >&2; exit 1
  fi
  sleep 0.2
done
up || { echo "FAILED: payport did not answer on $base" >&2; exit 1; }
echo "payport (simulator mode) on $base"

# --- the runs: every check, bounded --------------------------------------------------------
# schemathesis draws Idempotency-Key values from a small space and so sends one key
# with many different requests: payport then rightly answers 422
# IDEMPOTENCY_KEY_REUSED, or replays an earlier answer (a 201 for a webhook endpoint
# deleted since), and the checks would blame the server for the generator's reuse.
# This hook gives each valid request a fresh key instead. Negative cases are sent as
# generated: editing one would make schemathesis take it for valid data (and, say,
# put back an Authorization header it had left out on purpose).
cat >"$work/payport_hooks.py" <<'PY'
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.fullmatch(value):
            headers[name] = uuid.uuid4().hex
PY

status=0
for role in merchant operator; do
  token="$merchant"; [ "$role" = operator ] && token="$operator"
  echo "==> schemathesis as $role (max $max_examples examples per operation)"
  # Run from the temporary folder: schemathesis may leave files where it runs.
  if ! (cd "$work" && PYTHONPATH="$work" SCHEMATHESIS_HOOKS=payport_hooks \
      timeout "$max_seconds" "$venv/bin/schemathesis" run "$base/openapi.json" \
      --url "$base" \
      --header "Authorization: Bearer $token" \
      --checks all \
      --max-examples "$max_examples" \
      --phases examples,coverage,fuzzing,stateful \
      --request-timeout 20 \
      --seed "${SCHEMATHESIS_SEED:-1}" \
      --generation-database none \
      --workers 1 \
      --no-color); then
    status=1
  fi
done

if [ "$status" -ne 0 ]; then
  echo "FAILED: schemathesis found answers the spec does not allow; payport's log follows" >&2
  tail -n 100 "$work/payport.log" >&2
fi
exit "$status"
