#!/usr/bin/env bash
# Mutation testing with cargo-mutants: each mutant is the code with one small change (a
# comparison flipped, `&&` made `||`, a function returning a constant), and the tests
# must fail on every one that builds. It covers the domain (payport-domain, with its
# mocked-port tests) and the store's reservation (the refund reservation, the order
# lock and which refund statuses hold an amount), tested by the store suite on SQLite
# and PostgreSQL.
#
#   bash scripts/mutants.sh          # only lines changed since .ci/mutants-base (CI)
#   bash scripts/mutants.sh --all    # every mutant (slow: one to two hours on 2 cores)
#
# A mutant the tests miss fails the run; one that makes them hang counts as caught. The few that
# cannot matter are listed, each with why, in .cargo/mutants.toml. Installs its pinned
# cargo-mutants itself; reports go to $MUTANTS_OUT (default ~/.cache/payport-ci/mutants).
set -euo pipefail
cd "$(dirname "$0")/.."

MUTANTS_VERSION=27.1.0
cache="$HOME/.cache/payport-ci"
# A build directory of its own, kept between runs: mutated crates build under the same
# artifact names as the real ones, so sharing CI's would leave a mutant behind there.
# For the same reason mutants run one at a time (--jobs 1): parallel copies of the tree
# would overwrite each other's artifacts in it.
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$cache/mutants-target}"
out="${MUTANTS_OUT:-$cache/mutants}"

# The store's reservation code: the files, and within them the functions, mutated.
store_files=(crates/store-diesel/src/reserve.rs crates/store-diesel/src/dialect.rs
  crates/store-diesel/src/refunds.rs)
store_fns='reserve|lock_order|holding_statuses'

if ! cargo mutants --version 2>/dev/null | grep -qx "cargo-mutants $MUTANTS_VERSION"; then
  echo "installing cargo-mutants $MUTANTS_VERSION"
  cargo install cargo-mutants --version "$MUTANTS_VERSION" --locked
fi

common=(--jobs 1 --no-shuffle)
domain=(-p payport-domain)
store=(-p payport-store-diesel --re "$store_fns")
for f in "${store_files[@]}"; do store+=(-f "$f"); done

# One cargo-mutants run into $out/<name>. Passes when no mutant was missed. A mutant
# that makes the tests hang (an endless loop) is caught: the suite would never pass.
# cargo-mutants reports timeouts (exit 3) ahead of misses, so misses are read from its
# list.
mutate() {
  local name="$1"
  shift
  local rc=0
  cargo mutants "${common[@]}" "$@" -o "$out/$name" || rc=$?
  local report="$out/$name/mutants.out"
  if [ "$rc" -eq 3 ] && [ ! -s "$report/missed.txt" ]; then
    echo "$name: $(wc -l <"$report/timeout.txt") mutant(s) made the tests hang; counted as caught"
    rc=0
  fi
  if [ "$rc" -ne 0 ]; then
    echo "FAILED: $name: cargo-mutants exited $rc; missed mutants (if any):" >&2
    cat "$report/missed.txt" >&2 2>/dev/null || true
  fi
  return "$rc"
}

mkdir -p "$out"
if [ "${1:-}" = "--all" ]; then
  status=0
  mutate domain "${domain[@]}" || status=1
  mutate store "${store[@]}" || status=1
  exit "$status"
fi

# The base: the commit at which `--all` last left no mutant unexplained.
base="$(grep -v '^#' .ci/mutants-base | head -1 | tr -d '[:space:]')"
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  echo "FAILED: the mutants base $base is not in this clone (a shallow clone?); fetch the history" >&2
  exit 1
fi
# Only diffs that name Rust source can hold mutants; tests and docs produce none.
git diff "$base" -- crates/domain/src >"$out/domain.diff"
git diff "$base" -- "${store_files[@]}" >"$out/store.diff"

status=0
ran=0
if [ -s "$out/domain.diff" ]; then
  ran=1
  echo "domain: mutants on the lines changed since $base"
  mutate domain "${domain[@]}" --in-diff "$out/domain.diff" || status=1
fi
if [ -s "$out/store.diff" ]; then
  ran=1
  echo "store reservation: mutants on the lines changed since $base"
  mutate store "${store[@]}" --in-diff "$out/store.diff" || status=1
fi
if [ "$ran" -eq 0 ]; then
  echo "mutants: no change to crates/domain/src or the store's reservation since $base; nothing to test"
fi
exit "$status"
