#!/usr/bin/env bash
# Builds the eBPF programs in ebpf/ with Debian's rustc through the `debian-web` toolchain: one
# object per file in ebpf/programs/src/bin/ (test fixtures, examples) copied to
# ebpf/objects/NAME.bpf.o, and per file in ebpf/tools/src/bin/ (the tools the package ships)
# copied to ebpf/objects/tools/NAME.bpf.o, the directory package.json ships whole.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$here/ebpf"
RUSTC_BOOTSTRAP=1 cargo +debian-web build --release --quiet
mkdir -p objects/tools
copy() { # copy SOURCE_DIR DEST_DIR
  for src in "$1"/*.rs; do
    name="$(basename "$src" .rs)"
    built="$here/target/ebpf/bpfel-unknown-none/release/$name"
    cmp -s "$built" "$2/$name.bpf.o" || cp "$built" "$2/$name.bpf.o"
  done
}
copy programs/src/bin objects
copy tools/src/bin objects/tools
