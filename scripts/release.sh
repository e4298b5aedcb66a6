#!/usr/bin/env bash
# The steps of a release that need no GitHub, so they run (and are tested, e2e/release.bats) here as in
# .github/workflows/release.yml:
#
#   scripts/release.sh check-tag TAG                 TAG must be v<the workspace version> (scripts/set-version.sh moves it)
#   scripts/release.sh assets TAG DIR                policy.wasm (scripts/build-policy.sh) annotated with kwctl into DIR
#   scripts/release.sh sums DIR                      DIR/SHA256SUMS over every other file in DIR
#   scripts/release.sh artifacthub TAG DIGEST [TIME] artifacthub-pkg.yml: version from TAG, digest (the pushed
#                                                    policy's), createdAt (TIME, default now, RFC 3339 UTC)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "release.sh: $*" >&2; exit 1; }

workspace_version() {
  sed -n '/^\[workspace\.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml"
}

check_tag() { # TAG
  local want
  want=v$(workspace_version)
  [ "$1" = "$want" ] || die "tag $1 is not the workspace version $want: run scripts/set-version.sh ${1#v} and commit first"
}

case ${1:-} in
  check-tag)
    [ $# -eq 2 ] || die "usage: $0 check-tag TAG"
    check_tag "$2" ;;
  assets)
    [ $# -eq 3 ] || die "usage: $0 assets TAG DIR"
    check_tag "$2"
    command -v kwctl >/dev/null || die "kwctl is needed to annotate the policy"
    mkdir -p "$3"
    "$root/scripts/build-policy.sh"
    kwctl annotate -m "$root/metadata.yml" -u "$root/README.md" "$root/policy.wasm" -o "$3/policy.wasm" ;;
  sums)
    [ $# -eq 2 ] || die "usage: $0 sums DIR"
    sums=$(cd "$2" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs -r sha256sum)
    printf '%s\n' "$sums" >"$2/SHA256SUMS"
    [ -n "$sums" ] || die "no files to sum in $2" ;;
  artifacthub)
    { [ $# -ge 3 ] && [ $# -le 4 ]; } || die "usage: $0 artifacthub TAG DIGEST [TIME]"
    check_tag "$2"
    [[ $3 =~ ^sha256:[0-9a-f]{64}$ ]] || die "'$3' is not a sha256 digest"
    created=${4:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
    file=$root/artifacthub-pkg.yml
    sed -i -E "s/^version: .*/version: ${2#v}/; s/^createdAt: .*/createdAt: '$created'/" "$file"
    if grep -q '^digest: ' "$file"; then
      sed -i -E "s/^digest: .*/digest: $3/" "$file"
    else
      sed -i -E "s/^(createdAt: .*)$/\\1\\ndigest: $3/" "$file"
    fi ;;
  *) die "usage: $0 check-tag|assets|sums|artifacthub … (see the comment at the top of $0)" ;;
esac
