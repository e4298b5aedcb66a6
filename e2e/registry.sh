#!/usr/bin/env bash
# Real OCI registries on loopback for require-digest's tests: two instances of the CNCF distribution registry
# (Debian's docker-registry), one open and one behind htpasswd basic auth (the registry's auth is all-or-nothing per
# instance), each on a free 127.0.0.1 port with its own config and storage, seeded with small images this script
# builds itself as OCI layouts and copies in with skopeo.
#
# usage: e2e/registry.sh start     start both instances (again: reuse running ones) and seed them
#        e2e/registry.sh env       print KEY=VALUE lines describing them (shell-sourceable)
#        e2e/registry.sh stop      stop both by PID and delete the state directory
#        e2e/registry.sh push open|auth REPO:TAG single|index|docker [SEED]
#                                  build and push one more image; prints its digest
#
# environment (not REGISTRY_*: the registry reads those as config overrides):
#   RD_REGISTRY_STATE_DIR   state directory (configs, storage, PIDs, ports, logs); default ${TMPDIR:-/tmp}/require-digest-registry
#   RD_REGISTRY_WATCH_PID   with start: stop the registries when this process exits (tests pass their own PID, since a
#                        test process has no teardown hook)
#
# Exit status: 0 done, 3 the registry or its tools are missing and cannot be installed here, 1 any other failure.
#
# Seeded images (contents are fixed, so their digests are the same on every run and machine with this GNU tar):
#   open: demo/app:1.0, demo/app:1.1 (OCI manifests), demo/multi:1.0 (OCI index: linux/amd64 + linux/arm64),
#         demo/docker:1.0 (Docker schema 2 manifest), demo/dockerlist:1.0 (Docker manifest list)
#   auth: private/app:1.0 (OCI manifest), readable with RD_REGISTRY_AUTH_USER / RD_REGISTRY_AUTH_PASSWORD
set -euo pipefail

STATE_DIR=${RD_REGISTRY_STATE_DIR:-${TMPDIR:-/tmp}/require-digest-registry}
AUTH_USER=tester

die() { echo "registry.sh: $*" >&2; exit 1; }
say() { echo "registry.sh: $*" >&2; }

# --- installing -------------------------------------------------------------------------------------------------

registry_binary() {
  if command -v docker-registry >/dev/null; then command -v docker-registry; elif [ -x /usr/bin/docker-registry ]; then
    echo /usr/bin/docker-registry; fi
}

install_missing() {
  local want=()
  [ -n "$(registry_binary)" ] || want+=(docker-registry)
  command -v skopeo >/dev/null || want+=(skopeo)
  command -v htpasswd >/dev/null || want+=(apache2-utils)
  command -v curl >/dev/null || want+=(curl)
  [ ${#want[@]} -eq 0 ] && return 0
  # Exit status 3 means "cannot be installed here", the one case in which tests may skip instead of failing.
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "registry.sh: missing ${want[*]}: install these Debian packages (or run as root to let this script do it)" >&2
    exit 3
  fi
  say "installing ${want[*]}"
  # Refresh the package lists only when they are missing or more than a day old.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -qq >&2 || { echo "registry.sh: apt-get update failed" >&2; exit 3; }
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2 ||
    { echo "registry.sh: apt-get could not install ${want[*]}" >&2; exit 3; }
}

# --- running ----------------------------------------------------------------------------------------------------

# The HTTP status of GET /v2/ on a port: 200 from the open instance, 401 from the one with auth, 000 when nothing answers.
v2_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/v2/" || true
}

alive() { # instance
  local dir=$STATE_DIR/$1
  [ -f "$dir/pid" ] && [ -f "$dir/port" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null &&
    [ "$(v2_status "$(cat "$dir/port")")" != 000 ]
}

# A port nothing listens on (the registry's own bind is the final word: start retries on a clash).
candidate_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

write_config() { # instance port with_auth
  local dir=$STATE_DIR/$1 port=$2 with_auth=$3
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: require-digest-test-$1
EOF
  if [ "$with_auth" = yes ]; then
    cat >>"$dir/config.yml" <<EOF
auth:
  htpasswd:
    realm: require-digest-test
    path: $STATE_DIR/htpasswd
EOF
  fi
}

start_instance() { # instance with_auth
  local name=$1 with_auth=$2 dir=$STATE_DIR/$1 port pid attempt
  if alive "$name"; then return 0; fi
  mkdir -p "$dir/storage"
  for attempt in 1 2 3 4 5; do
    port=$(candidate_port)
    write_config "$name" "$port" "$with_auth"
    # Detached from our stdout/stderr: a caller reading this script's output must not wait for the registry.
    # Without REGISTRY_* variables: the registry reads them as overrides of its config.
    env $(compgen -e | grep '^REGISTRY_' | sed 's/^/-u /') setsid "$(registry_binary)" serve "$dir/config.yml" >"$dir/log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if [ "$(v2_status "$port")" != 000 ]; then
        echo "$pid" >"$dir/pid"
        echo "$port" >"$dir/port"
        return 0
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    if ! grep -q "address already in use" "$dir/log"; then
      die "the $name registry did not start (attempt $attempt); its log, $dir/log, says: $(tail -n 5 "$dir/log")"
    fi
  done
  die "no free port for the $name registry after 5 attempts"
}

stop_instance() { # instance
  local dir=$STATE_DIR/$1 pid
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

# Stops the registries when the watched process exits. Detached, like the registries, and remembered by PID so that
# `stop` ends it too.
start_watchdog() { # watched_pid
  local watched=$1 self
  self=$(readlink -f "$0")
  RD_REGISTRY_STATE_DIR=$STATE_DIR setsid bash -c '
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    exec "$2" stop' watchdog "$watched" "$self" >/dev/null 2>&1 </dev/null &
  echo $! >"$STATE_DIR/watchdog.pid"
}

# --- images -----------------------------------------------------------------------------------------------------

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Moves a file into the layout's blob store; prints "DIGEST SIZE".
add_blob() { # layout file
  local hex size
  hex=$(sha256_of "$2")
  size=$(stat -c %s "$2")
  mkdir -p "$1/blobs/sha256"
  mv "$2" "$1/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

# One single-platform OCI image in the layout: a one-file layer whose content is the seed and platform, its config,
# its manifest. Prints the manifest's "DIGEST SIZE".
add_image() { # layout seed arch
  local layout=$1 seed=$2 arch=$3 work layer_tar diff_id layer config manifest
  work=$(mktemp -d)
  mkdir "$work/root"
  printf '%s %s\n' "$seed" "$arch" >"$work/root/hello.txt"
  layer_tar=$work/layer.tar
  tar --create --file "$layer_tar" --directory "$work/root" --format=ustar --sort=name --mtime=@0 \
    --owner=0 --group=0 --numeric-owner --mode=0644 hello.txt
  diff_id=sha256:$(sha256_of "$layer_tar")
  gzip -n -9 "$layer_tar"
  read -r layer_digest layer_size < <(add_blob "$layout" "$layer_tar.gz")
  printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$arch" "$diff_id" >"$work/config.json"
  read -r config_digest config_size < <(add_blob "$layout" "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
  add_blob "$layout" "$work/manifest.json"
  rm -rf "$work"
}

# Writes an OCI layout holding one image (single) or one two-platform index (index, docker) tagged "image".
write_layout() { # layout kind seed
  local layout=$1 kind=$2 seed=$3 media digest size amd_digest amd_size arm_digest arm_size index
  mkdir -p "$layout"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  case $kind in
    single|docker)
      read -r digest size < <(add_image "$layout" "$seed" amd64)
      media=application/vnd.oci.image.manifest.v1+json ;;
    index|dockerlist)
      read -r amd_digest amd_size < <(add_image "$layout" "$seed" amd64)
      read -r arm_digest arm_size < <(add_image "$layout" "$seed" arm64)
      index=$(mktemp)
      printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux"}}]}' \
        "$amd_digest" "$amd_size" "$arm_digest" "$arm_size" >"$index"
      read -r digest size < <(add_blob "$layout" "$index")
      media=application/vnd.oci.image.index.v1+json ;;
    *) die "unknown image kind '$kind' (single, index, docker or dockerlist)" ;;
  esac
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"image"}}]}' \
    "$media" "$digest" "$size" >"$layout/index.json"
}

# Builds an image and copies it into a running instance; prints the digest the registry now serves for the tag.
push_image() { # instance repo:tag kind [seed]
  local instance=$1 ref=$2 kind=$3 seed=${4:-$2} port layout format=() auth=()
  port=$(cat "$STATE_DIR/$instance/port" 2>/dev/null) || die "the $instance registry is not running; run start first"
  layout=$(mktemp -d)
  write_layout "$layout" "$kind" "$seed"
  case $kind in
    # skopeo converts OCI to Docker schema 2 (and an OCI index to a Docker manifest list) on the way.
    docker|dockerlist) format=(--format v2s2) ;;
    *) format=(--preserve-digests) ;;
  esac
  [ "$instance" = auth ] && auth=(--dest-authfile "$STATE_DIR/docker-config.json")
  skopeo --insecure-policy copy --quiet --all "${format[@]}" "${auth[@]}" --dest-tls-verify=false \
    "oci:$layout:image" "docker://127.0.0.1:$port/$ref" >&2 ||
    die "skopeo could not push $ref to the $instance registry"
  rm -rf "$layout"
  local repo=${ref%:*} tag=${ref##*:} curl_auth=()
  [ "$instance" = auth ] && curl_auth=(--user "$AUTH_USER:$(cat "$STATE_DIR/password")")
  curl -sfI "${curl_auth[@]}" \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$port/v2/$repo/manifests/$tag" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'
}

seed() {
  push_image open demo/app:1.0 single >/dev/null
  push_image open demo/app:1.1 single >/dev/null
  push_image open demo/multi:1.0 index >/dev/null
  push_image open demo/docker:1.0 docker >/dev/null
  push_image open demo/dockerlist:1.0 dockerlist >/dev/null
  push_image auth private/app:1.0 single >/dev/null
}

# --- commands ---------------------------------------------------------------------------------------------------

cmd_start() {
  install_missing
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  if [ ! -f "$STATE_DIR/password" ]; then
    # A fresh random password per state directory, so tests can look for it in output and know it leaked from here.
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE_DIR/password")
    htpasswd -Bbn "$AUTH_USER" "$(cat "$STATE_DIR/password")" >"$STATE_DIR/htpasswd" 2>/dev/null
  fi
  local was_running=no
  alive open && alive auth && was_running=yes
  start_instance open no
  start_instance auth yes
  local auth_b64
  auth_b64=$(printf '%s:%s' "$AUTH_USER" "$(cat "$STATE_DIR/password")" | base64 -w0)
  (umask 077; printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$(cat "$STATE_DIR/auth/port")" "$auth_b64" \
    >"$STATE_DIR/docker-config.json")
  [ $was_running = yes ] || seed
  if [ -n "${RD_REGISTRY_WATCH_PID:-}" ]; then start_watchdog "$RD_REGISTRY_WATCH_PID"; fi
  say "open registry on 127.0.0.1:$(cat "$STATE_DIR/open/port"), registry with basic auth on 127.0.0.1:$(cat "$STATE_DIR/auth/port")"
}

cmd_env() {
  alive open && alive auth || die "not running (state directory $STATE_DIR); run: $0 start"
  echo "RD_REGISTRY_STATE_DIR=$STATE_DIR"
  echo "RD_REGISTRY_OPEN=127.0.0.1:$(cat "$STATE_DIR/open/port")"
  echo "RD_REGISTRY_AUTH=127.0.0.1:$(cat "$STATE_DIR/auth/port")"
  echo "RD_REGISTRY_AUTH_USER=$AUTH_USER"
  echo "RD_REGISTRY_AUTH_PASSWORD=$(cat "$STATE_DIR/password")"
  echo "RD_REGISTRY_DOCKER_CONFIG=$STATE_DIR/docker-config.json"
}

cmd_stop() {
  [ -d "$STATE_DIR" ] || return 0
  stop_instance open
  stop_instance auth
  if [ -f "$STATE_DIR/watchdog.pid" ]; then
    local watchdog
    watchdog=$(cat "$STATE_DIR/watchdog.pid")
    # Not ourselves: the watchdog ends by running this very command.
    [ "$watchdog" = "$$" ] || [ "$watchdog" = "$PPID" ] || kill "$watchdog" 2>/dev/null || true
  fi
  rm -rf "$STATE_DIR"
}

case ${1:-} in
  start) cmd_start ;;
  env) cmd_env ;;
  stop) cmd_stop ;;
  push)
    [ $# -ge 4 ] || die "usage: $0 push open|auth REPO:TAG single|index|docker|dockerlist [SEED]"
    case $2 in open|auth) ;; *) die "push: the instance is open or auth, not '$2'" ;; esac
    push_image "$2" "$3" "$4" "${5:-$3}" ;;
  *) die "usage: $0 start|env|stop|push (see the comment at the top of $0)" ;;
esac
