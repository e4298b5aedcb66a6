#!/usr/bin/env bash
# Builds policy.wasm (wasm32-unknown-unknown) at the top of the workspace and prints its size.
#
# Two routes, chosen by what the machine has:
#  - a Rust toolchain whose sysroot has the wasm32-unknown-unknown std (an ordinary `rustup target add`): plain cargo;
#  - otherwise Debian's Rust (rustc-web) with its std source, building std for the target with -Zbuild-std.
#    rustup's own target download is not reachable on every machine, Debian's packages are.
# wasm-opt (binaryen) shrinks the result further when it is installed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

out=${POLICY_WASM_OUT:-$here/policy.wasm}
budget_kib=${POLICY_WASM_BUDGET_KIB:-200}
target=wasm32-unknown-unknown
profile=policy-release
target_dir=$here/target/policy-wasm

has_target() { # $1 = rustc
  local sysroot
  sysroot=$("$1" --print sysroot 2>/dev/null) || return 1
  [ -d "$sysroot/lib/rustlib/$target/lib" ]
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "build-policy: need the Debian packages: $*; run as root or install them" >&2
    exit 1
  fi
  echo "build-policy: installing $* (Debian)" >&2
  # Only refresh the package lists when they are missing or older than a day.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if has_target rustc; then
  echo "build-policy: using $(rustc --version) with its $target std" >&2
  cargo build --profile "$profile" -p require-digest --target "$target" --target-dir "$target_dir"
else
  # Debian's rustc-web ships the std source (rust-web-src) that -Zbuild-std needs; lld-19 provides wasm-ld.
  need=()
  [ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q . || need+=(rustc-web)
  [ -x /usr/bin/cargo ] || need+=(cargo-web)
  [ -d "$(/usr/bin/rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library" ] || need+=(rust-web-src)
  command -v wasm-ld-19 >/dev/null || need+=(lld-19)
  if [ ${#need[@]} -gt 0 ]; then apt_install rustc-web cargo-web rust-web-src lld-19; fi
  echo "build-policy: $target std not installed for $(rustc --version 2>/dev/null || echo rustc); using Debian's $(/usr/bin/rustc --version) with -Zbuild-std" >&2
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
    /usr/bin/cargo build --profile "$profile" -p require-digest --target "$target" --target-dir "$target_dir" \
    -Zbuild-std=std,panic_abort
fi

built=$target_dir/$target/$profile/require_digest.wasm
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --strip-debug --strip-producers "$built" -o "$out.tmp"
  mv "$out.tmp" "$out"
else
  echo "build-policy: wasm-opt not installed (Debian: binaryen); shipping the cargo output as is" >&2
  cp "$built" "$out"
fi

size=$(stat -c %s "$out")
printf 'policy.wasm: %s bytes (%d.%d KiB; budget %d KiB) -> %s\n' "$size" $((size / 1024)) $(((size % 1024) * 10 / 1024)) "$budget_kib" "$out"
if [ "$size" -gt $((budget_kib * 1024)) ]; then
  echo "build-policy: policy.wasm is over its ${budget_kib} KiB budget" >&2
  exit 1
fi
