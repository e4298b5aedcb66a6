#!/usr/bin/env bats
# `host-harness run`, which mirrors `kwctl run`.

setup() {
  load helpers
  TMP=$(mktemp -d)
}

teardown() {
  rm -rf "$TMP"
}

request() { echo "$FIXTURES/requests/$1"; }

@test "run prints an AdmissionReview response for an accepted request" {
  run "$HARNESS" run "$POLICY" --request-path "$(request deployment-pinned.json)"
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c 'import json,sys; r=json.load(sys.stdin)["response"]; assert r["allowed"] is True, r'
}

@test "run prints the rejection message" {
  run "$HARNESS" run "$POLICY" --request-path "$(request deployment-unpinned.json)"
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c 'import json,sys; r=json.load(sys.stdin)["response"]; assert r["allowed"] is False; assert "is not pinned by a digest" in r["status"]["message"], r'
}

@test "run accepts a whole AdmissionReview on stdin and a file:// policy URI" {
  python3 -c 'import json,sys; print(json.dumps({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":json.load(open(sys.argv[1]))}))' \
    "$(request deployment-unpinned.json)" > "$TMP/review.json"
  run bash -c "\"\$HARNESS\" run 'file://$POLICY' --request-path - < '$TMP/review.json'"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* || "$output" == *'"allowed": false'* ]]
}

@test "invalid settings: message and exit 1, like kwctl" {
  run "$HARNESS" run "$POLICY" --request-path "$(request deployment-pinned.json)" --settings-json '{"requireTag":"yes"}'
  [ "$status" -eq 1 ]
  [[ "$output" == *"Provided settings are not valid"* ]]
  [[ "$output" == *"requireTag"* ]]
}

@test "a missing request file is an error, exit 2" {
  run "$HARNESS" run "$POLICY" --request-path "$TMP/nope.json"
  [ "$status" -eq 2 ]
  [[ "$output" == *"nope.json"* ]]
}

@test "a file that is not a wasm module is an error, exit 2" {
  echo "not wasm" > "$TMP/bad.wasm"
  run "$HARNESS" run "$TMP/bad.wasm" --request-path "$(request deployment-pinned.json)"
  [ "$status" -eq 2 ]
  [[ "$output" == *"bad.wasm"* ]]
}
