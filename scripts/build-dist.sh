#!/usr/bin/env bash
# Builds host-harness as released and prints the binary's path: the dist profile (thin LTO, see Cargo.toml), compiled
# twice for profile-guided optimization. The first build counts what `check` runs on the test fixtures' manifests; the
# second is optimized with those counts. The YAML reader's character-at-a-time code is most of `check`'s time, and it
# gains most from knowing which branches are taken (bench/README.md has the figures).
#
#   scripts/build-dist.sh [TARGET]    # TARGET defaults to this machine's; it must run here, to be profiled
#   PGO=off scripts/build-dist.sh     # the dist profile alone, without llvm-profdata
#
# Needs policy.wasm (scripts/build-policy.sh; POLICY=path for another) to run `check`, and llvm-profdata for rustc's
# LLVM: rustup's llvm-tools component, or Debian's llvm-N package where N is rustc's LLVM major version (installed
# here when missing, as root, if apt has it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
target=${1:-$host}
policy=${POLICY:-$root/policy.wasm}
log() { echo "build-dist: $*" >&2; }

# Always with --target: RUSTFLAGS then reach only the target's code, not build scripts and proc macros.
build() { # $1 = target directory, then RUSTFLAGS
  local target_dir=$1
  shift
  RUSTFLAGS="$*" cargo build --locked --profile dist -p host-harness --bin host-harness --target "$target" \
    --manifest-path "$root/Cargo.toml" --target-dir "$target_dir" >&2
  echo "$target_dir/$target/dist/host-harness"
}

if [ "${PGO:-on}" = off ]; then
  build "$root/target"
  exit 0
fi

[ "$target" = "$host" ] ||
  { log "cannot profile a $target binary on this $host machine; PGO=off builds it without"; exit 2; }
[ -f "$policy" ] || { log "no $policy to profile check with: run scripts/build-policy.sh"; exit 2; }
llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
find_profdata() {
  local candidate
  for candidate in "$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata" \
    "$(command -v "llvm-profdata-$llvm_major" || true)" "/usr/lib/llvm-$llvm_major/bin/llvm-profdata"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}
profdata=$(find_profdata)
# As scripts/build-policy.sh installs the wasm toolchain: Debian's package for rustc's LLVM, when it has one.
if [ -z "$profdata" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing llvm-$llvm_major (Debian) for llvm-profdata"
  apt-get install -y -qq "llvm-$llvm_major" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq "llvm-$llvm_major" >&2; } || true
  profdata=$(find_profdata)
fi
[ -n "$profdata" ] || {
  log "no llvm-profdata for LLVM $llvm_major: \`rustup component add llvm-tools\`, or apt-get install llvm-$llvm_major;"
  log "PGO=off builds without profiling"
  exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pgo=$root/target/pgo
rm -rf "$pgo/profiles"
mkdir -p "$pgo/profiles"

log "1/3 an instrumented build"
instrumented=$(build "$pgo/generate" "-Cprofile-generate=$pgo/profiles")

log "2/3 profiling check on the test fixtures"
# The fixtures' YAML manifests, many times over in one file, as a big input is read; then the fixture directory
# itself, for JSON files and many small files. Both report formats people read in bulk.
manifests=("$root"/tests/fixtures/manifests/*.yaml)
for _ in $(seq 300); do
  for manifest in "${manifests[@]}"; do
    echo "---"
    cat "$manifest"
    echo
  done
done >"$work/fixtures.yaml"
export LLVM_PROFILE_FILE=$pgo/profiles/check-%p-%m.profraw
# Exit 1: the fixtures have rejected objects, as they should.
"$instrumented" check "$policy" "$work/fixtures.yaml" --output json >/dev/null || [ $? = 1 ]
"$instrumented" check "$policy" "$work/fixtures.yaml" >/dev/null || [ $? = 1 ]
"$instrumented" check "$policy" "$root/tests/fixtures/manifests" >/dev/null || [ $? = 1 ]
unset LLVM_PROFILE_FILE
"$profdata" merge -o "$pgo/check.profdata" "$pgo"/profiles/*.profraw

log "3/3 the build optimized with that profile"
# Functions the fixtures never reach have no counts; that is expected, not worth a warning each.
build "$pgo/use" "-Cprofile-use=$pgo/check.profdata" "-Cllvm-args=-pgo-warn-missing-function=false"
