#!/usr/bin/env bats
# Kubewarden's own tooling on the built module: `make annotated-policy.wasm` (kwctl annotate) and `kwctl run` giving
# the verdicts `host-harness run` gives. The kwctl tests run when kwctl is on PATH and report themselves skipped
# otherwise.

setup() {
  load helpers
  TMP=$(mktemp -d)
}

teardown() {
  rm -rf "$TMP"
}

@test "make annotated-policy.wasm without kwctl says kwctl is needed and fails" {
  if command -v kwctl >/dev/null; then skip "kwctl is on PATH"; fi
  # -o policy.wasm: the module is built already; only the annotation step is under test.
  run make -C "$REPO_ROOT" --no-print-directory -o policy.wasm annotated-policy.wasm
  [ "$status" -ne 0 ]
  [[ "$output" == *"kwctl is needed"* ]]
}

@test "kwctl annotate embeds metadata.yml, and host-harness check reads it from the module" {
  need_kwctl
  kwctl annotate -m "$REPO_ROOT/metadata.yml" -u "$REPO_ROOT/README.md" "$POLICY" -o "$TMP/annotated.wasm"
  # With the embedded rules, a Service is skipped without --metadata.
  run "$HARNESS" check "$TMP/annotated.wasm" --output json "$MANIFESTS/web-apps.yaml"
  [[ "$output" == *'"verdict": "skipped"'* ]]
}

@test "kwctl run gives the verdicts host-harness run gives" {
  need_kwctl
  trust_config=$(offline_trust_config)
  for request in deployment-pinned.json deployment-unpinned.json cronjob-unpinned.json configmap-create.json; do
    expected=$("$HARNESS" run "$POLICY" --request-path "$FIXTURES/requests/$request" | verdict)
    actual=$(kwctl run --sigstore-trust-config "$trust_config" "$POLICY" --request-path "$FIXTURES/requests/$request" | verdict)
    [ "$actual" = "$expected" ] || { echo "$request: kwctl $actual, host-harness $expected"; false; }
  done
}
