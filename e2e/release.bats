#!/usr/bin/env bats
# scripts/release.sh's steps that need no GitHub, on a scratch copy of the files they touch.

setup() {
  TMP=$(mktemp -d)
  mkdir -p "$TMP/repo/scripts"
  cp "$REPO_ROOT/Cargo.toml" "$REPO_ROOT/artifacthub-pkg.yml" "$TMP/repo/"
  cp "$REPO_ROOT/scripts/release.sh" "$TMP/repo/scripts/"
  VERSION=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$REPO_ROOT/Cargo.toml")
}

teardown() {
  rm -rf "$TMP"
}

@test "a tag that is not the workspace version is refused" {
  run "$TMP/repo/scripts/release.sh" check-tag v99.0.0
  [ "$status" -ne 0 ]
  [[ "$output" == *"not the workspace version v$VERSION"* ]]
  "$TMP/repo/scripts/release.sh" check-tag "v$VERSION"
}

@test "SHA256SUMS covers every asset and verifies" {
  mkdir "$TMP/assets"
  printf 'wasm' >"$TMP/assets/policy.wasm"
  printf 'elf' >"$TMP/assets/host-harness-x86_64-linux"
  "$TMP/repo/scripts/release.sh" sums "$TMP/assets"
  [ "$(wc -l <"$TMP/assets/SHA256SUMS")" -eq 2 ]
  (cd "$TMP/assets" && sha256sum --check --strict SHA256SUMS)
  printf 'tampered' >"$TMP/assets/policy.wasm"
  ! (cd "$TMP/assets" && sha256sum --check --strict --quiet SHA256SUMS)
}

@test "artifacthub-pkg.yml gets the tag's version, the pushed digest and createdAt, once" {
  digest=sha256:$(printf 'p' | sha256sum | cut -d' ' -f1)
  for _ in 1 2; do
    "$TMP/repo/scripts/release.sh" artifacthub "v$VERSION" "$digest" 2027-01-02T03:04:05Z
  done
  grep -qx "version: $VERSION" "$TMP/repo/artifacthub-pkg.yml"
  grep -qx "createdAt: '2027-01-02T03:04:05Z'" "$TMP/repo/artifacthub-pkg.yml"
  [ "$(grep -c "^digest: $digest\$" "$TMP/repo/artifacthub-pkg.yml")" -eq 1 ]
  run "$TMP/repo/scripts/release.sh" artifacthub "v$VERSION" sha256:short
  [ "$status" -ne 0 ]
}
