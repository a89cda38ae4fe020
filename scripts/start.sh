#!/usr/bin/env bash
# `npm start`: sets up and builds whatever is missing, then runs a live execsnoop until Ctrl-C.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
bash scripts/build.sh
exec node dist/cli.js execsnoop "$@"
