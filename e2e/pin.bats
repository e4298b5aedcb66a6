#!/usr/bin/env bats
# The pin workflow as a user runs it, with the built CLI against real registries on loopback (e2e/registry.sh):
# check fails -> pin --dry-run shows the diff -> pin -> check passes -> pin --check exits 0; and a kustomize tree
# where pin leaves what it cannot fix as is and --check still reaches 0; and pin --from-pods, pinning to what runs.
# The tests of this file run in order on one copy of tests/fixtures/pin/before/.

bats_require_minimum_version 1.5.0

setup_file() {
  export BATS_NO_PARALLELIZE_WITHIN_FILE=true
  load registry
  registry_start
  export PIN_FIXTURES="$REPO_ROOT/tests/fixtures/pin"
  export TREE="$BATS_FILE_TMPDIR/manifests"
  cp -r "$PIN_FIXTURES/before" "$TREE"
  # The fixtures name the registries 127.0.0.1:5000 (open) and 127.0.0.1:5001 (auth); these run on other ports.
  grep -rl '127\.0\.0\.1:500[01]/' "$TREE" | xargs sed -i \
    -e "s#127\.0\.0\.1:5001/#$RD_REGISTRY_AUTH/#g" -e "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g"
}

teardown_file() {
  load registry
  registry_stop
}

setup() {
  load helpers
  load registry
  cd "$TREE"
}

# Every file of the tree with its hash, to show that a command changed nothing.
tree_hashes() {
  find "$TREE" -type f -print0 | sort -z | xargs -0 sha256sum
}

check_tree() {
  "$HARNESS" check "$POLICY" --settings-path "$PIN_FIXTURES/settings.yaml" --color never "$@" .
}

pin_tree() {
  "$HARNESS" pin "$POLICY" --settings-path "$PIN_FIXTURES/settings.yaml" \
    --insecure-registry "$RD_REGISTRY_OPEN" --insecure-registry "$RD_REGISTRY_AUTH" \
    --docker-config "$RD_REGISTRY_DOCKER_CONFIG" "$@"
}

@test "1. check rejects the unpinned images" {
  run check_tree
  [ "$status" -eq 1 ]
  [[ "$output" == *"image \"$RD_REGISTRY_OPEN/demo/app:1.1\" is not pinned by a digest"* ]]
}

@test "2. pin --dry-run prints the diff and changes nothing" {
  hashes=$(tree_hashes)
  run --separate-stderr pin_tree --dry-run apps jobs values.yaml
  [ "$status" -eq 0 ]
  [ "$(tree_hashes)" = "$hashes" ]
  digest=$(served_digest "$RD_REGISTRY_OPEN" demo/app:1.1)
  [[ "$output" == *"--- apps/web.yaml"$'\n'"+++ apps/web.yaml"* ]]
  [[ "$output" == *$'\n'"-          image: $RD_REGISTRY_OPEN/demo/app:1.1 # {\"\$imagepolicy\": \"flux-system:web\"}"$'\n'* ]]
  [[ "$output" == *$'\n'"+          image: $RD_REGISTRY_OPEN/demo/app:1.1@$digest # {\"\$imagepolicy\": \"flux-system:web\"}"$'\n'* ]]
  [[ "$stderr" == *"would pin 12 images in 4 files; 2 files unchanged; 0 errors" ]]
}

@test "3. pin --check exits 1 while something would change, and changes nothing" {
  hashes=$(tree_hashes)
  run pin_tree --check .
  [ "$status" -eq 1 ]
  [ "$(tree_hashes)" = "$hashes" ]
}

@test "4. pin rewrites the files into exactly tests/fixtures/pin/after/" {
  run pin_tree .
  [ "$status" -eq 0 ]
  [[ "$output" == *"pinned 12 images in 4 files; 2 files unchanged; 0 errors" ]]
  [[ "$output" != *"$RD_REGISTRY_AUTH_PASSWORD"* ]]
  expected="$BATS_FILE_TMPDIR/expected"
  cp -r "$PIN_FIXTURES/after" "$expected"
  grep -rl '127\.0\.0\.1:500[01]/' "$expected" | xargs sed -i \
    -e "s#127\.0\.0\.1:5001/#$RD_REGISTRY_AUTH/#g" -e "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g"
  diff -r "$expected" "$TREE"
}

@test "5. check passes on the pinned files" {
  run check_tree
  [ "$status" -eq 0 ]
  [[ "$output" == *" 0 rejected"* ]]
}

@test "6. pin --check exits 0: nothing left to pin" {
  run pin_tree --check .
  [ "$status" -eq 0 ]
  [[ "$output" == *"would pin 0 images in 0 files; 6 files unchanged; 0 errors" ]]
}

@test "a missing image leaves its file untouched, names the image and exits 2" {
  cat > "$BATS_TEST_TMPDIR/missing.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  containers:
    - {name: app, image: $RD_REGISTRY_OPEN/demo/app:1.0}
    - {name: gone, image: $RD_REGISTRY_OPEN/demo/app:9.9}
YAML
  before=$(sha256sum "$BATS_TEST_TMPDIR/missing.yaml")
  run pin_tree "$BATS_TEST_TMPDIR/missing.yaml"
  [ "$status" -eq 2 ]
  [ "$(sha256sum "$BATS_TEST_TMPDIR/missing.yaml")" = "$before" ]
  [[ "$output" == *"missing.yaml:7: Pod missing: container \"gone\""*"$RD_REGISTRY_OPEN/demo/app:9.9: not found in registry"* ]]
  [[ "$output" == *"pinned 0 images in 0 files; 0 files unchanged; 1 error (1 file left untouched)" ]]
}

@test "pin - is a filter: stdin pinned to stdout" {
  sed "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g" "$PIN_FIXTURES/before/apps/web.yaml" > "$BATS_TEST_TMPDIR/web.yaml"
  run --separate-stderr pin_tree - < "$BATS_TEST_TMPDIR/web.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "$(sed "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g" "$PIN_FIXTURES/after/apps/web.yaml")" ]
  [[ "$stderr" == *"pinned 3 images in 1 file; 0 files unchanged; 0 errors" ]]
}

@test "a kustomize tree: pin pins the base and the sidecars, leaves the patch and the placeholders as is, then --check passes" {
  kustomize="$BATS_TEST_TMPDIR/kustomize"
  cp -r "$PIN_FIXTURES/kustomize/before" "$kustomize"
  grep -rl '127\.0\.0\.1:5000/' "$kustomize" | xargs sed -i "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g"
  cd "$kustomize"

  run pin_tree --check .
  [ "$status" -eq 1 ]
  [[ "$output" == *"would pin 4 images in 3 files; 4 files unchanged; 0 errors; 5 rejections left as is" ]]

  run pin_tree .
  [ "$status" -eq 0 ]
  [[ "$output" == *"./overlays/production/resources.yaml:12: left as is: Deployment web: container \"web\" (spec.template.spec.containers[0]) has no image"* ]]
  [[ "$output" == *"./overlays/preview/deployment.yaml:11: left as is: Deployment preview: container \"app\" (spec.template.spec.containers[0]) image \"\$IMAGE\" looks unrendered"* ]]
  [[ "$output" == *"./overlays/preview/deployment.yaml:15: left as is: "*"image \"ko://github.com/acme/shop/cmd/builder\" is invalid"* ]]
  [[ "$output" == *"./overlays/preview/deployment.yaml:32: left as is: CronJob report: "*"<PROJECT_ID>"* ]]
  [[ "$output" == *"pinned 4 images in 3 files; 4 files unchanged; 0 errors; 5 rejections left as is" ]]
  expected="$BATS_TEST_TMPDIR/expected"
  cp -r "$PIN_FIXTURES/kustomize/after" "$expected"
  grep -rl '127\.0\.0\.1:5000/' "$expected" | xargs sed -i "s#127\.0\.0\.1:5000/#$RD_REGISTRY_OPEN/#g"
  diff -r "$expected" "$kustomize"

  run pin_tree --check .
  [ "$status" -eq 0 ]
  [[ "$output" == *"would pin 0 images in 0 files; 7 files unchanged; 0 errors; 5 rejections left as is" ]]

  # check keeps rejecting what pin left as is.
  run check_tree
  [ "$status" -eq 1 ]
  [[ "$output" == *"resources.yaml:12: Deployment web: container \"web\" (spec.template.spec.containers[0]) has no image"* ]]
}

@test "pin --from-pods: pin to what the cluster runs, read from kubectl get pods -A -o json on stdin" {
  pods="$PIN_FIXTURES/from-pods"
  cp "$pods/before/web.yaml" "$pods/before/api.yaml" "$BATS_TEST_TMPDIR/"
  cd "$BATS_TEST_TMPDIR"

  # What `kubectl get pods -A -o json | host-harness pin POLICY --from-pods - web.yaml` does.
  run "$HARNESS" pin "$POLICY" --from-pods - --check web.yaml < "$pods/pods.json"
  [ "$status" -eq 1 ]
  run "$HARNESS" pin "$POLICY" --from-pods - web.yaml < "$pods/pods.json"
  [ "$status" -eq 0 ]
  [[ "$output" == *"web.yaml:15: pinned busybox:1.36 -> busybox:1.36@sha256:5555"* ]]
  diff "$pods/after/web.yaml" web.yaml

  # The API runs at two digests in two Pods: nothing to pin to, the file is left as it was.
  run "$HARNESS" pin "$POLICY" --from-pods - api.yaml < "$pods/pods.json"
  [ "$status" -eq 2 ]
  [[ "$output" == *"it runs at 2 different digests"*"(pod shop/api-7f9c-1)"*"(pod shop/api-7f9c-2)"* ]]
  diff "$pods/before/api.yaml" api.yaml
}
