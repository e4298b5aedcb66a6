#!/usr/bin/env bats
# Publishing a policy to an OCI registry and running it from there, as a user types it, against real registries on
# loopback (e2e/registry.sh): `host-harness push`, then `check registry://…`; and, where kwctl is on PATH (skipped
# otherwise), the round trips with Kubewarden's own tool in both directions.

setup_file() {
  load registry
  registry_start
}

teardown_file() {
  load registry
  registry_stop
}

setup() {
  load helpers
  load registry
  TMP=$(mktemp -d)
  # The harness's cache (pulled policies, compiled modules) and kwctl's store, private to the test.
  export XDG_CACHE_HOME=$TMP/cache
}

teardown() {
  rm -rf "$TMP"
}

@test "push a policy, then check registry://…:v0 gives the local file's verdicts and says which digest judged" {
  run "$HARNESS" push --force --insecure-registry "$RD_REGISTRY_OPEN" "$POLICY" \
    "registry://$RD_REGISTRY_OPEN/policies/require-digest:v0"
  [ "$status" -eq 0 ]
  [ "$output" = "$(served_digest "$RD_REGISTRY_OPEN" policies/require-digest:v0)" ]
  digest=$output

  check_fixtures --output json "$MANIFESTS" >"$TMP/local.json" || true
  "$HARNESS" check "registry://$RD_REGISTRY_OPEN/policies/require-digest:v0" --insecure-registry "$RD_REGISTRY_OPEN" \
    --settings-path "$FIXTURES/manifest-settings.yaml" --metadata "$REPO_ROOT/metadata.yml" --output json \
    "$MANIFESTS" >"$TMP/remote.json" 2>"$TMP/remote.err" || status=$?
  [ "${status:-0}" -eq 1 ]
  [ "$(cat "$TMP/remote.err")" = "registry://$RD_REGISTRY_OPEN/policies/require-digest:v0 resolved to registry://$RD_REGISTRY_OPEN/policies/require-digest@$digest" ]
  python3 - "$TMP/local.json" "$TMP/remote.json" <<'PY'
import json, sys
def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if "duration" not in k and "elapsed" not in k}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value
local, remote = (strip(json.load(open(path))) for path in sys.argv[1:])
assert local == remote, "the reports differ"
PY
}

@test "a container image given as the policy is refused by name" {
  run "$HARNESS" check "registry://$RD_REGISTRY_OPEN/demo/app:1.0" --insecure-registry "$RD_REGISTRY_OPEN" "$MANIFESTS"
  [ "$status" -eq 2 ]
  [[ "$output" == *"registry://$RD_REGISTRY_OPEN/demo/app:1.0: not a Kubewarden wasm policy"* ]]
}

@test "kwctl annotate, host-harness push; kwctl pull and kwctl run registry://… give host-harness's verdicts" {
  need_kwctl
  kwctl annotate -m "$REPO_ROOT/metadata.yml" -u "$REPO_ROOT/README.md" "$POLICY" -o "$TMP/annotated.wasm"
  reference="registry://$RD_REGISTRY_OPEN/policies/require-digest:kwctl-pull"
  "$HARNESS" push --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/annotated.wasm" "$reference"
  printf 'insecure_sources: ["%s"]\n' "$RD_REGISTRY_OPEN" >"$TMP/sources.yaml"
  HOME=$TMP kwctl pull --sources-path "$TMP/sources.yaml" "$reference"
  trust_config=$(offline_trust_config)
  for request in deployment-pinned.json deployment-unpinned.json cronjob-unpinned.json configmap-create.json; do
    expected=$("$HARNESS" run "$POLICY" --request-path "$FIXTURES/requests/$request" | verdict)
    actual=$(HOME=$TMP kwctl run --sources-path "$TMP/sources.yaml" --sigstore-trust-config "$trust_config" \
      "$reference" --request-path "$FIXTURES/requests/$request" | verdict)
    [ "$actual" = "$expected" ] || { echo "$request: kwctl $actual, host-harness $expected"; false; }
  done
}

@test "kwctl push; host-harness run registry://… gives the local file's verdicts" {
  need_kwctl
  kwctl annotate -m "$REPO_ROOT/metadata.yml" -u "$REPO_ROOT/README.md" "$POLICY" -o "$TMP/annotated.wasm"
  reference="registry://$RD_REGISTRY_OPEN/policies/require-digest:kwctl-push"
  printf 'insecure_sources: ["%s"]\n' "$RD_REGISTRY_OPEN" >"$TMP/sources.yaml"
  HOME=$TMP kwctl push --sources-path "$TMP/sources.yaml" "$TMP/annotated.wasm" "$reference"
  for request in deployment-pinned.json deployment-unpinned.json cronjob-unpinned.json configmap-create.json; do
    expected=$("$HARNESS" run "$POLICY" --request-path "$FIXTURES/requests/$request" | verdict)
    actual=$("$HARNESS" run --insecure-registry "$RD_REGISTRY_OPEN" "$reference" \
      --request-path "$FIXTURES/requests/$request" | verdict)
    [ "$actual" = "$expected" ] || { echo "$request: registry $actual, local $expected"; false; }
  done
}
