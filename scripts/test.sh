#!/usr/bin/env bash
# `npm test`: sets up and builds whatever is missing, runs the native crate's unit tests (no
# kernel needed: a fake syscall layer), then every ava test against the real kernel.
# Ends with a plain "total: N passed, N failed, N skipped" line (cargo's and ava's counts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build.sh
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
# Same target dir and triple as the napi build, so the dependencies are not built again.
# napi's dyn-symbols: the test binary resolves N-API symbols at run time (there is no Node).
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo test --release --target "$host" -p aya-node --lib --features napi/dyn-symbols 2>&1 | tee "$out"
cargo_status=${PIPESTATUS[0]}
cargo_line="$(grep -E '^test result: ' "$out" | tail -1)"
npx ava "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
count() { grep -oE "[0-9]+ (tests?|known failures?) $1" "$out" | tail -1 | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(count failed); skipped=$(count skipped)
# ava prints no "N tests passed" line when some failed: count the ticks then.
if [ "$passed" = 0 ]; then passed=$(grep -cE '^\s*✔' "$out" || true); fi
cargo_num() { echo "$cargo_line" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
c_passed=$(cargo_num passed); c_failed=$(cargo_num failed); c_ignored=$(cargo_num ignored)
[ -n "$cargo_line" ] || c_failed=1 # the unit tests did not even build
echo "cargo unit tests: $c_passed passed, $c_failed failed, $c_ignored ignored; ava: $passed passed, $failed failed, $skipped skipped"
echo "total: $((passed + c_passed)) passed, $((failed + c_failed)) failed, $((skipped + c_ignored)) skipped"
if [ "$cargo_status" -ne 0 ]; then exit "$cargo_status"; fi
exit "$status"
