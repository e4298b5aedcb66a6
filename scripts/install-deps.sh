#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing: bats (e2e), the CNCF distribution registry and skopeo
# (registry tests), binaryen (wasm-opt), apache2-utils (htpasswd). The wasm toolchain itself is installed on demand by
# scripts/build-policy.sh. Safe to run again: it installs nothing that is already there.
set -euo pipefail

want=()
command -v bats >/dev/null || want+=(bats)
command -v wasm-opt >/dev/null || want+=(binaryen)
{ command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ]; } || want+=(docker-registry)
command -v skopeo >/dev/null || want+=(skopeo)
command -v htpasswd >/dev/null || want+=(apache2-utils)

if [ ${#want[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${want[*]}; install them (Debian packages) or run as root" >&2
  exit 1
fi
echo "install-deps: installing ${want[*]}" >&2
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
  apt-get update -qq >&2
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2
