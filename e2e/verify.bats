#!/usr/bin/env bats
# Keeping pins true, as a user types it, against a real registry on loopback (e2e/registry.sh): `check
# --verify-registry` on a deleted digest and a moved tag, the policy's tagDigestMismatch setting through `run`, and
# `pin --refresh` and `pin --set`.
# Each test pushes repositories of its own (registry.sh push), so deleting or moving them leaves the seeded ones alone.

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
}

teardown() {
  rm -rf "$TMP"
}

# usage: deployment IMAGE > FILE — a Deployment "web" whose one container runs IMAGE on line 10.
deployment() {
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: $1
EOF
}

push() { # REPO:TAG SEED — prints the digest the registry now serves for the tag
  "$REPO_ROOT/e2e/registry.sh" push open "$1" single "$2"
}

@test "check --verify-registry rejects a digest the registry deleted, at the image's line" {
  digest=$(push e2e/gone:1.0 gone-one)
  image="$RD_REGISTRY_OPEN/e2e/gone:1.0@$digest"
  deployment "$image" > "$TMP/web.yaml"

  run "$HARNESS" check "$POLICY" --verify-registry --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 0 ]

  # The registry's delete API (e2e/registry.sh enables deletion).
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$RD_REGISTRY_OPEN/v2/e2e/gone/manifests/$digest")" = 202 ]

  run "$HARNESS" check "$POLICY" "$TMP/web.yaml"
  [ "$status" -eq 0 ] # without the flag, check stays offline

  run "$HARNESS" check "$POLICY" --verify-registry --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$TMP/web.yaml:10: Deployment web: container \"app\" (spec.template.spec.containers[0]) image \"$image\" is pinned to a digest that does not exist: registry $RD_REGISTRY_OPEN has no manifest $digest in repository e2e/gone (manifest unknown)"* ]]

  run "$HARNESS" check "$POLICY" --verify-registry --insecure-registry "$RD_REGISTRY_OPEN" --output github "$TMP/web.yaml"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "::error file=$TMP/web.yaml,line=10,title=Deployment web rejected::"*"is pinned to a digest that does not exist"* ]]
}

@test "check --verify-registry warns when the tag has moved and still passes" {
  pinned=$(push e2e/moved:1.27 moved-one)
  deployment "$RD_REGISTRY_OPEN/e2e/moved:1.27@$pinned" > "$TMP/web.yaml"
  moved=$(push e2e/moved:1.27 moved-two)
  [ "$moved" != "$pinned" ]

  run "$HARNESS" check "$POLICY" --verify-registry --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: Deployment web: container \"app\" (spec.template.spec.containers[0]) image \"$RD_REGISTRY_OPEN/e2e/moved:1.27@$pinned\" tag 1.27 now points to $moved; the pinned digest is still served"* ]]
}

@test "check --verify-registry with --digests asks no registry" {
  known=sha256:$(printf '1%.0s' $(seq 64))
  unknown=sha256:$(printf '2%.0s' $(seq 64))
  printf 'registry.example.com/app:1.0: %s\n' "$known" > "$TMP/digests.yaml"
  deployment "registry.example.com/app:1.0@$known" > "$TMP/known.yaml"
  deployment "registry.example.com/app:1.0@$unknown" > "$TMP/unknown.yaml"

  run "$HARNESS" check "$POLICY" --verify-registry --digests "$TMP/digests.yaml" "$TMP/known.yaml"
  [ "$status" -eq 0 ]
  run "$HARNESS" check "$POLICY" --verify-registry --digests "$TMP/digests.yaml" "$TMP/unknown.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$TMP/unknown.yaml:10: "*"is pinned to a digest that does not exist: the offline digest map $TMP/digests.yaml has it under no tag of registry.example.com/app"* ]]
}

@test "tagDigestMismatch warns or rejects at admission when the tag has moved" {
  pinned=$(push e2e/admit:4.8.1 admit-one)
  moved=$(push e2e/admit:4.8.1 admit-two)
  image="$RD_REGISTRY_OPEN/e2e/admit:4.8.1@$pinned"
  cat > "$TMP/request.json" <<EOF
{"uid": "e2e-21", "kind": {"group": "", "version": "v1", "kind": "Pod"},
 "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE", "name": "web",
 "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "$image"}]}}}
EOF
  stale="Pod web: container \\\"app\\\" (spec.containers[0]) image \\\"$image\\\" is stale: tag 4.8.1 points to $moved, the image pins $pinned"

  run "$HARNESS" run "$POLICY" --insecure-registry "$RD_REGISTRY_OPEN" --request-path "$TMP/request.json" \
    --settings-json '{"tagDigestMismatch": "warn"}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *"\"warnings\":[\"$stale\"]"* ]]

  run "$HARNESS" run "$POLICY" --insecure-registry "$RD_REGISTRY_OPEN" --request-path "$TMP/request.json" \
    --settings-json '{"tagDigestMismatch": "reject"}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *"\"message\":\"$stale\""* ]]

  run "$HARNESS" run "$POLICY" --request-path "$TMP/request.json" --settings-json '{"tagDigestMismatch": "Reject"}'
  [ "$status" -eq 1 ]
  [[ "$output" == *'Provided settings are not valid: tagDigestMismatch must be one of ignore, warn, reject, found "Reject"'* ]]
}

@test "pin --refresh rewrites a digest whose tag moved, and --check tells before it does" {
  old=$(push e2e/refresh:3.1 refresh-old)
  deployment "$RD_REGISTRY_OPEN/e2e/refresh:3.1@$old" > "$TMP/web.yaml"

  run "$HARNESS" pin "$POLICY" --refresh --check --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 0 ] # the tag still points at the pinned digest

  new=$(push e2e/refresh:3.1 refresh-new) # the tag moves
  [ "$new" != "$old" ]
  run "$HARNESS" pin "$POLICY" --refresh --check --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"web.yaml:10: would pin $RD_REGISTRY_OPEN/e2e/refresh:3.1@$old -> $RD_REGISTRY_OPEN/e2e/refresh:3.1@$new"* ]]

  run "$HARNESS" pin "$POLICY" --refresh --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 0 ]
  diff <(deployment "$RD_REGISTRY_OPEN/e2e/refresh:3.1@$new") "$TMP/web.yaml"
}

@test "pin --set IMAGE:TAG bumps every image of that repository to the tag's digest" {
  one=$(push e2e/bump:1.0 bump-one)
  two=$(push e2e/bump:1.1 bump-two)
  deployment "$RD_REGISTRY_OPEN/e2e/bump:1.0@$one" > "$TMP/web.yaml"

  # The guide's update-image-digest.sh, as one command.
  run "$HARNESS" pin "$POLICY" --set "$RD_REGISTRY_OPEN/e2e/bump:1.1" --insecure-registry "$RD_REGISTRY_OPEN" "$TMP/web.yaml"
  [ "$status" -eq 0 ]
  diff <(deployment "$RD_REGISTRY_OPEN/e2e/bump:1.1@$two") "$TMP/web.yaml"
}
