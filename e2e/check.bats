#!/usr/bin/env bats
# `host-harness check`, the CI command, run as a user would run it.

setup() {
  load helpers
  export NO_COLOR=1
  TMP=$(mktemp -d)
}

teardown() {
  rm -rf "$TMP"
}

@test "check over the fixture directory rejects the unpinned objects and exits 1" {
  run check_fixtures "$MANIFESTS"
  [ "$status" -eq 1 ]
  [[ "$output" == *"checkout"* ]]
  [[ "$output" == *'image "ghcr.io/acme/checkout:1.8.0" is not pinned by a digest'* ]]
  [[ "$output" == *"web-apps.yaml:"* ]]
  [[ "$output" =~ checked\ [0-9]+\ objects:\ [0-9]+\ accepted,\ [0-9]+\ rejected,\ [0-9]+\ skipped,\ 0\ errors ]]
}

@test "check of only pinned objects exits 0" {
  cat > "$TMP/ok.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers:
    - name: app
      image: nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
YAML
  run check_fixtures "$TMP/ok.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"1 accepted, 0 rejected"* ]]
}

@test "check reads manifests from stdin" {
  run bash -c "cat '$MANIFESTS/web-apps.yaml' | \"\$HARNESS\" check \"\$POLICY\" --metadata '$REPO_ROOT/metadata.yml' -"
  [ "$status" -eq 1 ]
  [[ "$output" == *'ghcr.io/acme/checkout:1.8.0'* ]]
}

@test "json output parses and agrees with the exit status" {
  run check_fixtures --output json "$MANIFESTS"
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["summary"]["rejected"] > 0, d["summary"]'
}

@test "junit output is well-formed XML with failures" {
  run check_fixtures --output junit "$MANIFESTS"
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c 'import sys,xml.etree.ElementTree as E; r=E.fromstring(sys.stdin.read()); assert len(r.findall(".//failure"))>0'
}

@test "sarif output is SARIF 2.1.0 with results" {
  run check_fixtures --output sarif "$MANIFESTS"
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["version"]=="2.1.0"; assert len(d["runs"][0]["results"])>0'
}

@test "github output emits error annotations with file and line" {
  run check_fixtures --output github "$MANIFESTS"
  [ "$status" -eq 1 ]
  [[ "$output" =~ ::error\ file=[^,]*web-apps.yaml,line=[0-9]+ ]]
}

@test "a broken file is reported with its path and the other files are still checked" {
  cp "$MANIFESTS/web-apps.yaml" "$TMP/"
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n' > "$TMP/broken.yaml"
  run check_fixtures "$TMP"
  [ "$status" -eq 2 ]
  [[ "$output" == *"broken.yaml"* ]]
  [[ "$output" == *'ghcr.io/acme/checkout:1.8.0'* ]]
}

@test "a missing path is an error, exit 2" {
  run check_fixtures "$TMP/does-not-exist.yaml"
  [ "$status" -eq 2 ]
  [[ "$output" == *"does-not-exist.yaml"* ]]
}

@test "invalid settings are refused before any object is checked" {
  run "$HARNESS" check "$POLICY" --settings-json '{"allowedAlgorithms":["md5"]}' "$MANIFESTS"
  [ "$status" -ne 0 ]
  [[ "$output" == *"allowedAlgorithms"* ]]
}

@test "the real-world corpus loads completely: every workload is evaluated, nothing errors" {
  [ -d "$CORPUS/real" ] || skip "shared corpus not present at $CORPUS"
  run "$HARNESS" check "$POLICY" --metadata "$REPO_ROOT/metadata.yml" --output json "$CORPUS/real"
  # Most upstream manifests pin by tag, so rejections are expected; errors are not.
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c '
import json, sys
summary = json.load(sys.stdin)["summary"]
print("corpus/real:", summary, file=sys.stderr)
assert summary["errors"] == 0, summary
# The corpus README: 73 workloads (Deployment 49, Job 7, DaemonSet 6, StatefulSet 5, Pod 3, CronJob 1,
# ReplicaSet 1, ReplicationController 1), 14 images of them pinned by digest.
assert summary["accepted"] + summary["rejected"] == 73, summary
'
}

@test "templates in the odd corpus give clear per-file errors, an unrendered image a rejection, and exit 2" {
  [ -d "$CORPUS/odd" ] || skip "shared corpus not present at $CORPUS"
  run "$HARNESS" check "$POLICY" --metadata "$REPO_ROOT/metadata.yml" "$CORPUS/odd"
  [ "$status" -eq 2 ]
  for template in cert-manager_chart_deployment.yaml ingress-nginx_chart_controller-deployment.yaml flux2_podinfo-build-result.yaml; do
    [[ "$output" =~ error\ +[^[:space:]]*$template:[0-9]+:[0-9]+:.*render\ it\ first ]]
  done
  # The knative fixture is valid YAML that kubectl reads, with one image an unsubstituted `${VAR}` placeholder: its
  # objects are judged, and that image is rejected on its line with the advice to render the template.
  [[ "$output" =~ knative-operator_testdata_manifest.yaml:2894:\ StatefulSet\ kafka-source-dispatcher:.*looks\ unrendered ]]
  [[ "$output" == *'the placeholder `${KNATIVE_KAFKA_DISPATCHER_IMAGE}`): render the template first'* ]]
  [[ "$output" == *"checked 63 objects: 8 accepted, 1 rejected, 51 skipped, 3 errors"* ]]
}

@test "files kubectl reads that a stricter YAML reader refused are checked, never errors (exit 0)" {
  local fidelity="$REPO_ROOT/tests/fixtures/yaml-fidelity"
  # UTF-16 with a byte-order mark, as Windows editors save it, made from a UTF-8 fixture.
  python3 -c '
import sys
text = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "wb").write(b"\xff\xfe" + text.encode("utf-16-le"))
open(sys.argv[3], "wb").write(b"\xfe\xff" + text.encode("utf-16-be"))
' "$fidelity/utf16-and-utf32-source.yaml" "$BATS_TEST_TMPDIR/utf16le.yaml" "$BATS_TEST_TMPDIR/utf16be.yaml"
  run "$HARNESS" check "$POLICY" "$fidelity"/placeholder-*.y*ml "$fidelity"/quoted-*.yaml \
    "$fidelity/key-anchors-and-aliases.yaml" "$fidelity/surrogate-pair-escape.json" \
    "$BATS_TEST_TMPDIR/utf16le.yaml" "$BATS_TEST_TMPDIR/utf16be.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *", 0 errors"* ]]
  [[ "$output" == *"accepted $BATS_TEST_TMPDIR/utf16le.yaml:"* ]]
}
