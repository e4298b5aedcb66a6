#!/usr/bin/env bash
# Builds policy.wasm (wasm32-unknown-unknown) at the top of the workspace and prints its size.
# The toolchain route (rustup's wasm32 std, or Debian's Rust with -Zbuild-std) is scripts/lib/wasm-toolchain.sh's.
# wasm-opt (binaryen) shrinks the result further when it is installed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

out=${POLICY_WASM_OUT:-$here/policy.wasm}
budget_kib=${POLICY_WASM_BUDGET_KIB:-200}
profile=policy-release
target_dir=$here/target/policy-wasm

log_name=build-policy
# shellcheck source=lib/wasm-toolchain.sh
. "$here/scripts/lib/wasm-toolchain.sh"

cargo_build_wasm --profile "$profile" -p require-digest --target-dir "$target_dir"

built=$target_dir/$wasm_target/$profile/require_digest.wasm
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
