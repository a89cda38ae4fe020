#!/usr/bin/env bash
# Builds everything, incrementally: eBPF objects, then the native module, then the TypeScript.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$here"
bash scripts/build-ebpf.sh
npx napi build --platform --release --manifest-path crates/aya-node/Cargo.toml \
  --output-dir . --js index.js --dts index.d.ts >/dev/null
npx tsc -p tsconfig.json
# The ESM entry point (dist/index.mjs, dist/index.d.mts) over tsc's CommonJS output.
node scripts/build-esm.mjs
