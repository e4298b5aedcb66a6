# Bats helpers for suites that need the test registries of e2e/registry.sh. In a suite:
#
#   setup_file()    { load registry; registry_start; }
#   teardown_file() { load registry; registry_stop; }
#
# registry_start exports RD_REGISTRY_OPEN, RD_REGISTRY_AUTH (127.0.0.1:PORT), RD_REGISTRY_AUTH_USER,
# RD_REGISTRY_AUTH_PASSWORD and RD_REGISTRY_DOCKER_CONFIG, and skips the suite (loudly) only when the registry cannot
# be installed on this machine, and never under CI (there it fails). Each suite gets registries of its own, in its BATS_FILE_TMPDIR.

registry_start() {
  export RD_REGISTRY_STATE_DIR="$BATS_FILE_TMPDIR/registry"
  local code=0
  "$REPO_ROOT/e2e/registry.sh" start 2>"$BATS_FILE_TMPDIR/registry-start.log" || code=$?
  if [ "$code" -eq 3 ]; then
    # Under CI a missing registry fails the run: a green CI must mean the registry suites ran.
    if [ -n "${CI:-}" ]; then
      echo "the test registry cannot be installed, and CI does not skip: $(cat "$BATS_FILE_TMPDIR/registry-start.log")" >&2
      return 3
    fi
    echo "# SKIPPING: the test registry cannot be installed here: $(cat "$BATS_FILE_TMPDIR/registry-start.log")" >&3
    skip "the test registry cannot be installed here"
  fi
  if [ "$code" -ne 0 ]; then
    cat "$BATS_FILE_TMPDIR/registry-start.log" >&2
    return "$code"
  fi
  local line
  while IFS= read -r line; do export "${line?}"; done < <("$REPO_ROOT/e2e/registry.sh" env)
}

registry_stop() {
  RD_REGISTRY_STATE_DIR="$BATS_FILE_TMPDIR/registry" "$REPO_ROOT/e2e/registry.sh" stop
}

# The Docker-Content-Digest a registry serves for REPOSITORY:TAG, asked with curl (nothing shared with the harness).
# usage: served_digest REGISTRY REPOSITORY:TAG [USER:PASSWORD]
served_digest() {
  local registry=$1 ref=$2 credentials=()
  [ -n "${3:-}" ] && credentials=(--user "$3")
  curl -sfI "${credentials[@]}" \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/${ref%:*}/manifests/${ref##*:}" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'
}
