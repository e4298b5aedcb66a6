# Shared set-up for the bats suites: paths to the built CLI, the policy and the fixtures.
FIXTURES="$REPO_ROOT/tests/fixtures"
MANIFESTS="$FIXTURES/manifests"
CORPUS="$REPO_ROOT/../shared/corpus"

# Runs the CLI with the fixtures' settings and metadata.
check_fixtures() {
  "$HARNESS" check "$POLICY" --settings-path "$FIXTURES/manifest-settings.yaml" --metadata "$REPO_ROOT/metadata.yml" "$@"
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

# Skips a test where kwctl is not on PATH.
need_kwctl() {
  command -v kwctl >/dev/null || skip "kwctl is not on PATH"
}
