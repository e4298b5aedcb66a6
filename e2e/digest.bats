#!/usr/bin/env bats
# `host-harness digest IMAGE…` against real registries on loopback (e2e/registry.sh), as a user runs it.

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

@test "digest prints IMAGE DIGEST lines equal to the registry's Docker-Content-Digest" {
  run "$HARNESS" digest --insecure-registry "$RD_REGISTRY_OPEN" \
    "$RD_REGISTRY_OPEN/demo/app:1.0" "$RD_REGISTRY_OPEN/demo/multi:1.0"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$RD_REGISTRY_OPEN/demo/app:1.0 $(served_digest "$RD_REGISTRY_OPEN" demo/app:1.0)" ]
  [ "${lines[1]}" = "$RD_REGISTRY_OPEN/demo/multi:1.0 $(served_digest "$RD_REGISTRY_OPEN" demo/multi:1.0)" ]
  [ "${#lines[@]}" -eq 2 ]
}

@test "digest reads credentials from the Docker config and never prints the password" {
  run "$HARNESS" digest --insecure-registry "$RD_REGISTRY_AUTH" --docker-config "$RD_REGISTRY_DOCKER_CONFIG" \
    "$RD_REGISTRY_AUTH/private/app:1.0"
  [ "$status" -eq 0 ]
  expected=$(served_digest "$RD_REGISTRY_AUTH" private/app:1.0 "$RD_REGISTRY_AUTH_USER:$RD_REGISTRY_AUTH_PASSWORD")
  [ "$output" = "$RD_REGISTRY_AUTH/private/app:1.0 $expected" ]

  run "$HARNESS" digest --insecure-registry "$RD_REGISTRY_AUTH" "$RD_REGISTRY_AUTH/private/app:1.0"
  [ "$status" -eq 2 ]
  [[ "$output" == *"requires authentication"* ]]
  [[ "$output" != *"$RD_REGISTRY_AUTH_PASSWORD"* ]]
}

@test "digest exits 2 on a missing tag and still prints the others" {
  run "$HARNESS" digest --insecure-registry "$RD_REGISTRY_OPEN" \
    "$RD_REGISTRY_OPEN/demo/app:9.9" "$RD_REGISTRY_OPEN/demo/app:1.1"
  [ "$status" -eq 2 ]
  [[ "$output" == *"error: $RD_REGISTRY_OPEN/demo/app:9.9: not found in registry $RD_REGISTRY_OPEN: no tag 9.9 in repository demo/app"* ]]
  [[ "$output" == *"$RD_REGISTRY_OPEN/demo/app:1.1 sha256:"* ]]
}

@test "digest with --digests contacts no registry" {
  printf 'nginx:1.27: sha256:%s\n' "$(printf 'ab%.0s' $(seq 32))" > "$TMP/digests.yaml"
  run "$HARNESS" digest --digests "$TMP/digests.yaml" docker.io/library/nginx:1.27
  [ "$status" -eq 0 ]
  [ "$output" = "docker.io/library/nginx:1.27 sha256:$(printf 'ab%.0s' $(seq 32))" ]
  run "$HARNESS" digest --digests "$TMP/digests.yaml" redis:7
  [ "$status" -eq 2 ]
  [[ "$output" == *"redis:7: not in the offline digest map $TMP/digests.yaml"* ]]
}
