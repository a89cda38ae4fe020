#!/usr/bin/env bash
# Idempotent set-up for building and testing aya-node on a bare Debian machine.
# Every step checks first and does nothing when its result is already there, so a
# second run takes seconds. Run as root (the tests load eBPF programs anyway).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export PATH="$HOME/.cargo/bin:$PATH"
LLVM_PREFIX=/usr/lib/llvm-22

# 1. Debian packages: the eBPF Rust toolchain (rustc/cargo 1.96 with its sources and LLVM 22),
#    clang for the C test objects, iproute2 for network namespaces, bpftool to check the kernel's view.
#    libbpf-dev: bpf_helpers.h and bpf_core_read.h for the C (libbpf-style, CO-RE) test object, and
#    libbpf itself (1.1) for the reference loader the libbpf USDT test compares against.
#    clang-22 brings libstdc++-dev: that test also compiles a small C++ program (libstdcxx:throw).
apt_packages=(rustc-web cargo-web rust-web-src llvm-22-dev clang-22 iproute2 bpftool libelf-dev zlib1g-dev libbpf-dev)
#    prometheus: the server and promtool, for the metrics tests (a real scrape, `promtool check metrics`).
apt_packages+=(prometheus)
# Debian's python3 carries USDT probes (the USDT tests trace it; pyenv's builds do not), and
# python3-jsonschema checks speedscope files against speedscope's own schema in the tests.
apt_packages+=(python3 python3-jsonschema)
#    linux-libc-dev: asm/errno.h, which libbpf's usdt.bpf.h includes (C test object libbpf_usdt).
apt_packages+=(linux-libc-dev)
# `setup.sh bench` adds what `npm run bench` compares against: bpftrace.
if [ "${1:-}" = bench ]; then apt_packages+=(bpftrace); fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. A rustup toolchain named debian-web that points at Debian's compiler (it has rust-src,
#    which -Z build-std=core needs for bpfel-unknown-none).
if ! rustup toolchain list | grep -q '^debian-web'; then
  log "linking rustup toolchain debian-web -> /usr"
  rustup toolchain link debian-web /usr
fi

# 3. bpf-linker, pinned (an unpinned install takes whatever is newest); llvm-config from Debian's LLVM 22 comes first on PATH, so it links libLLVM 22.
if ! bpf-linker --version 2>/dev/null | grep -qx "bpf-linker 0.13.0"; then
  log "installing bpf-linker (builds against $LLVM_PREFIX; takes a few minutes)"
  LLVM_SYS_221_PREFIX="$LLVM_PREFIX" LLVM_SYS_220_PREFIX="$LLVM_PREFIX" PATH="$LLVM_PREFIX/bin:$PATH" \
    cargo install --locked --version 0.13.0 bpf-linker
fi

# 4. Kernel file systems the library and tests use.
if ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
  log "mounting tracefs"
  $SUDO mount -t tracefs tracefs /sys/kernel/tracing || log "could not mount tracefs"
fi
# bpf_printk lines reach the trace pipe only while tracing is on (a profiler may have turned it off).
if [ -w /sys/kernel/tracing/tracing_on ] && [ "$(cat /sys/kernel/tracing/tracing_on)" = 0 ]; then
  log "turning tracing on"
  echo 1 | $SUDO tee /sys/kernel/tracing/tracing_on >/dev/null
fi
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  log "mounting bpffs"
  $SUDO mkdir -p /sys/fs/bpf
  $SUDO mount -t bpf bpf /sys/fs/bpf || log "could not mount bpffs"
fi

# 5. npm dependencies.
# (`npm install`, not `npm ci`: the lock file may lack other platforms' optional packages.)
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ] \
   || [ "$here/package.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "installing npm dependencies"
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
fi
log "ok"
