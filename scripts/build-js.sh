#!/usr/bin/env bash
# Builds the rule as an ES module for browsers (the policy crate with feature `js`, see policy/src/js.rs) into
# e2e/playground/pkg/ (or $JS_OUT): require_digest.js, exposing `checkObject(manifest, settings, digests?)` and the
# default `init()` (and `initSync`), and require_digest_bg.wasm. Prints the module's size.
#
# The toolchain route is scripts/lib/wasm-toolchain.sh's, as for policy.wasm. Then the
# wasm-bindgen CLI, installed with `cargo install` at exactly the wasm-bindgen version of Cargo.lock (the CLI refuses
# modules built by another version of the crate).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

out=${JS_OUT:-$here/e2e/playground/pkg}
profile=policy-release
# Not target/policy-wasm: a different feature set, and scripts/build-policy.sh copies its artifact out of that
# directory, which must never be this build's.
target_dir=$here/target/policy-js

log_name=build-js
# shellcheck source=lib/wasm-toolchain.sh
. "$here/scripts/lib/wasm-toolchain.sh"

# The wasm-bindgen crate version the lock file resolved: the CLI must be exactly this one.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { found = 1; next } found && /^version = / { gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$bindgen_version" ] || { echo "build-js: Cargo.lock has no wasm-bindgen package" >&2; exit 1; }

cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
bindgen=$cargo_bin/wasm-bindgen
if [ ! -x "$bindgen" ] || [ "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  echo "build-js: installing wasm-bindgen-cli $bindgen_version (cargo install)" >&2
  # --locked first, for the CLI's own tested dependency versions; a registry mirror that lacks one of them still
  # gets a build with the newest compatible versions.
  cargo install wasm-bindgen-cli --version "=$bindgen_version" --locked ||
    cargo install wasm-bindgen-cli --version "=$bindgen_version"
fi

# The size-tuned profile of policy.wasm, but unstripped: wasm-bindgen reads the `target_features` section (and
# strips the debug sections itself).
CARGO_PROFILE_POLICY_RELEASE_STRIP=false \
  cargo_build_wasm --profile "$profile" -p require-digest --features js --target-dir "$target_dir"

built=$target_dir/$wasm_target/$profile/require_digest.wasm
mkdir -p "$out"
command -v wasm-metadce >/dev/null || apt_install binaryen

# The policy crate links kubewarden-policy-sdk, whose waPC guest (wapc-guest) exports `__guest_call`, and a cdylib
# exports every #[no_mangle] function of its dependencies. That export would keep the waPC host imports (`wapc`
# module) in the browser build, where no host provides them. wasm-metadce drops it: every other export is a root of
# the reachability graph, `__guest_call` is not, so it and the imports only it reaches go.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wasm-dis "$built" | sed -nE 's/^ *\(export "([^"]+)".*/\1/p' | grep -vx '__guest_call' |
  awk 'BEGIN { print "[" } { printf "%s{\"name\": \"export%d\", \"root\": true, \"export\": \"%s\"}\n", (NR > 1 ? "," : ""), NR, $0 } END { print "]" }' \
    >"$work/graph.json"
wasm-metadce --all-features "$built" -f "$work/graph.json" -o "$work/require_digest.wasm" >/dev/null

"$bindgen" --target web --no-typescript --out-dir "$out" --out-name require_digest "$work/require_digest.wasm"

# No wasm-opt pass afterwards (unlike policy.wasm): wasm-bindgen's output uses reference types, and Debian's binaryen
# rewrites them into typed function references, which Node 20 and older browsers refuse to compile.
module=$out/require_digest_bg.wasm

# The waPC guest must not leak into the browser build: its imports would have no host to come from.
if wasm-dis "$module" | grep -q '^ *(import "wapc"'; then
  echo "build-js: $out/require_digest.js imports the waPC host; the js build must not include the waPC entry" >&2
  exit 1
fi

size=$(stat -c %s "$module")
printf 'require_digest_bg.wasm: %s bytes (%d.%d KiB) -> %s\n' "$size" $((size / 1024)) $(((size % 1024) * 10 / 1024)) "$out"
