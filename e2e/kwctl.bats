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

need_kwctl() {
  command -v kwctl >/dev/null || skip "kwctl is not on PATH"
}

# `kwctl run` builds a Sigstore trust root before every run, from Sigstore's TUF repository over the network unless
# --sigstore-trust-config names a ClientTrustConfig, and it refuses a root without a Fulcio certificate. require-digest
# verifies no signatures, so a root holding only a throwaway CA certificate made here keeps the run on this machine and
# changes no verdict.
offline_trust_config() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/ca.key" -out "$TMP/ca.pem" \
    -subj /CN=kwctl-offline -days 1 2>/dev/null
  local cert
  cert=$(openssl x509 -in "$TMP/ca.pem" -outform DER | base64 -w0)
  cat >"$TMP/sigstore-trust-config.json" <<JSON
{"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
 "trustedRoot": {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                 "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "$cert"}]}}]}}
JSON
  echo "$TMP/sigstore-trust-config.json"
}

# The verdict (allowed, message) on stdin, from host-harness run's AdmissionReview or from the bare AdmissionResponse
# that kwctl run (1.31) prints.
verdict() {
  python3 -c 'import json,sys; d=json.load(sys.stdin); r=d.get("response", d); print(r["allowed"], (r.get("status") or {}).get("message"))'
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
