#!/usr/bin/env bash
# The playground's end-to-end test (`make e2e-playground`): builds and installs what it uses, then runs
# playground.test.mjs with node's test runner: the page served on 127.0.0.1, in headless Chromium, against
# `host-harness check` on the fixture manifests. Screenshots land in target/e2e-playground/.
#
# Installs, when missing: Chromium (Debian `chromium`), Node.js and npm (Debian), the npm packages of
# e2e/playground (npm ci: yaml, playwright-core). Builds: policy.wasm, the release host-harness (unless $POLICY or
# $HARNESS name them), and the wasm-bindgen module (scripts/build-js.sh). All builds are incremental.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "e2e-playground: need the Debian packages: $*; run as root or install them" >&2
    exit 1
  fi
  echo "e2e-playground: installing $* (Debian)" >&2
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

want=()
[ -x /usr/bin/chromium ] || want+=(chromium)
command -v node >/dev/null || want+=(nodejs)
command -v npm >/dev/null || want+=(npm)
if [ ${#want[@]} -gt 0 ]; then apt_install "${want[@]}"; fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "e2e-playground: playwright-core needs Node.js 20 or newer; this is $(node --version)" >&2
  exit 1
fi

if [ -z "${POLICY:-}" ]; then
  scripts/build-policy.sh
  export POLICY=$repo/policy.wasm
fi
if [ -z "${HARNESS:-}" ]; then
  cargo build --release -p host-harness
  export HARNESS=$repo/target/release/host-harness
fi
scripts/build-js.sh

(cd e2e/playground && npm ci --no-audit --no-fund --loglevel=error)

export PLAYGROUND_ARTIFACTS=${PLAYGROUND_ARTIFACTS:-$repo/target/e2e-playground}
node --test e2e/playground/playground.test.mjs
echo "e2e-playground: screenshots in $PLAYGROUND_ARTIFACTS" >&2
