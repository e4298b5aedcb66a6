#!/usr/bin/env bash
# Runs the end-to-end suites (bats) against the built CLI, as a user would.
# Needs: policy.wasm and target/release/host-harness (make e2e-tests builds both), bats (installed by make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
export HARNESS=${HARNESS:-$PWD/target/release/host-harness}
export POLICY=${POLICY:-$PWD/policy.wasm}
export REPO_ROOT=$PWD
[ -x "$HARNESS" ] || { echo "e2e: $HARNESS missing; run make harness" >&2; exit 1; }
[ -f "$POLICY" ] || { echo "e2e: $POLICY missing; run make policy.wasm" >&2; exit 1; }
exec bats --print-output-on-failure e2e/*.bats
