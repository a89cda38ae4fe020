#!/usr/bin/env bash
# Builds the eBPF programs in ebpf/ (one object per file in ebpf/programs/src/bin/) with
# Debian's rustc through the `debian-web` toolchain, and copies them to ebpf/objects/NAME.bpf.o.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$here/ebpf"
RUSTC_BOOTSTRAP=1 cargo +debian-web build --release --quiet
mkdir -p objects
for src in programs/src/bin/*.rs; do
  name="$(basename "$src" .rs)"
  built="$here/target/ebpf/bpfel-unknown-none/release/$name"
  cmp -s "$built" "objects/$name.bpf.o" || cp "$built" "objects/$name.bpf.o"
done
