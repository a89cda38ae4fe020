#!/usr/bin/env bash
# The native module with the benchmark hooks (cargo feature `bench`), for `npm run bench`:
# bench/native/aya-node.node, loaded by bench/native.ts. Built in its own target dir, so that
# switching features never rebuilds the shipped module (the first build seeds it from the
# shipped one's: same dependencies).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$here"
bash scripts/build.sh
if [ ! -d target/bench ] && [ -d target/x86_64-unknown-linux-gnu ]; then
  mkdir -p target/bench
  cp -a target/x86_64-unknown-linux-gnu target/bench/
fi
npx napi build --platform --release --features bench --manifest-path crates/aya-node/Cargo.toml \
  --target-dir target/bench --output-dir bench/native --no-js --dts index.d.ts >/dev/null
# The loader override wants one file name whatever the platform.
mv -f bench/native/aya-node.*.node bench/native/aya-node.node
