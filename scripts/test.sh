#!/usr/bin/env bash
# `npm test`: sets up and builds whatever is missing, then runs every test against the real kernel.
# Ends with a plain "ava: N passed, N failed, N skipped" line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
bash scripts/build.sh
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
npx ava "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
count() { grep -oE "[0-9]+ (tests?|known failures?) $1" "$out" | tail -1 | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(count failed); skipped=$(count skipped)
# ava prints no "N tests passed" line when some failed: count the ticks then.
if [ "$passed" = 0 ]; then passed=$(grep -cE '^\s*✔' "$out" || true); fi
echo "ava: $passed passed, $failed failed, $skipped skipped"
exit "$status"
