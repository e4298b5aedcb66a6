#!/usr/bin/env bash
# require-digest for CI and pre-commit: on the given manifest files and directories (default: the current
# directory), `host-harness check` (is every image pinned by a valid digest?) and then `host-harness pin --check`
# (would pinning change anything?). Exit status: 0 when both pass, 1 when either finds something, 2 on any error.
# Both always run, so one run reports everything.
#
# Used by .pre-commit-hooks.yaml (pre-commit passes the changed files) and .github/workflows/require-digest.yml.
#
# Environment:
#   HOST_HARNESS              the host-harness binary (default: host-harness on PATH)
#   REQUIRE_DIGEST_POLICY     the policy module (default: .require-digest/policy.wasm)
#   REQUIRE_DIGEST_SETTINGS   the policy settings, YAML or JSON (default: .require-digest.yaml when it exists)
#   REQUIRE_DIGEST_METADATA   the policy's metadata.yml: only the kinds its rules cover are checked (default: all)
#   REQUIRE_DIGEST_OUTPUT     check's output format: text, json, junit, sarif or github
#                             (default: github inside GitHub Actions, text elsewhere)
#   REQUIRE_DIGEST_PIN_CHECK  false to skip `pin --check`, which asks the registries for digests (default: true)
#   REQUIRE_DIGEST_DIGESTS    an offline image -> digest map for `pin --check`; then no registry is contacted
#   REQUIRE_DIGEST_SHA256SUMS a release's SHA256SUMS: the policy module must be its `policy.wasm` line's file, byte for
#                             byte, or nothing runs (what the reusable workflow downloads is checked this way)
set -uo pipefail

die() {
  echo "require-digest: $*" >&2
  exit 2
}

harness=${HOST_HARNESS:-host-harness}
policy=${REQUIRE_DIGEST_POLICY:-.require-digest/policy.wasm}
settings=${REQUIRE_DIGEST_SETTINGS:-}
if [ -z "$settings" ] && [ -f .require-digest.yaml ]; then settings=.require-digest.yaml; fi
metadata=${REQUIRE_DIGEST_METADATA:-}
if [ -n "${REQUIRE_DIGEST_OUTPUT:-}" ]; then
  output=$REQUIRE_DIGEST_OUTPUT
elif [ "${GITHUB_ACTIONS:-}" = true ]; then
  output=github
else
  output=text
fi
pin_check=${REQUIRE_DIGEST_PIN_CHECK:-true}
digests=${REQUIRE_DIGEST_DIGESTS:-}

command -v "$harness" >/dev/null ||
  die "host-harness not found ($harness); install it (cargo install --path host-harness) or set HOST_HARNESS"
[ -f "$policy" ] ||
  die "policy module $policy not found; download policy.wasm from a release or set REQUIRE_DIGEST_POLICY"
[ -z "$settings" ] || [ -f "$settings" ] || die "settings file $settings not found (REQUIRE_DIGEST_SETTINGS)"
[ -z "$metadata" ] || [ -f "$metadata" ] || die "metadata file $metadata not found (REQUIRE_DIGEST_METADATA)"
[ -z "$digests" ] || [ -f "$digests" ] || die "digests file $digests not found (REQUIRE_DIGEST_DIGESTS)"
case $pin_check in true | false) ;; *) die "REQUIRE_DIGEST_PIN_CHECK must be true or false, not $pin_check" ;; esac

# A downloaded module is only as good as its checksum: the release's SHA256SUMS must name policy.wasm, and the module
# must match that line. (`sha256sum --check --ignore-missing` alone would pass a SHA256SUMS without the line.)
sums=${REQUIRE_DIGEST_SHA256SUMS:-}
if [ -n "$sums" ]; then
  [ -f "$sums" ] || die "SHA256SUMS file $sums not found (REQUIRE_DIGEST_SHA256SUMS)"
  expected=$(awk '$2 == "policy.wasm" || $2 == "*policy.wasm" { print $1 }' "$sums")
  [ -n "$expected" ] || die "$sums has no line for policy.wasm"
  actual=$(sha256sum <"$policy" | cut -d' ' -f1)
  [ "$actual" = "$expected" ] ||
    die "policy module $policy does not match $sums: its SHA-256 is $actual, the release's is $expected"
fi

if [ $# -eq 0 ]; then set -- .; fi

settings_args=()
[ -z "$settings" ] || settings_args=(--settings-path "$settings")
metadata_args=()
[ -z "$metadata" ] || metadata_args=(--metadata "$metadata")
digests_args=()
[ -z "$digests" ] || digests_args=(--digests "$digests")

"$harness" check "$policy" "${settings_args[@]}" "${metadata_args[@]}" --output "$output" -- "$@"
check_status=$?

pin_status=0
if [ "$pin_check" = true ]; then
  "$harness" pin "$policy" --check "${settings_args[@]}" "${digests_args[@]}" -- "$@"
  pin_status=$?
fi

# An error (2) wins over a finding (1).
if [ $check_status -ge 2 ] || [ $pin_status -ge 2 ]; then exit 2; fi
if [ $check_status -ne 0 ] || [ $pin_status -ne 0 ]; then exit 1; fi
exit 0
