#!/usr/bin/env bash
# Sets require-digest's version everywhere it is written, from the one source: the workspace Cargo.toml's
# [workspace.package] version. Everything else follows it: Cargo.lock (and fuzz/Cargo.lock) for the workspace's own
# crates, metadata.yml's io.kubewarden.policy.version, artifacthub-pkg.yml (version, image tag, download link, install
# text), the examples' and docs' `module: registry://…:vX` references, the reusable workflow's default and the
# `…/require-digest.yml@vX` / pre-commit `rev: vX` pins shown to users.
#
# usage: scripts/set-version.sh VERSION     (1.2.3 or v1.2.3; a semantic version)
#
# tests/tests/integration/packaging.rs (the `version` tests) fails when any of these files disagrees with Cargo.toml,
# and runs this script on a copy of the repository to check that it leaves none behind.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "set-version.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 VERSION (for example 0.2.0)"
new=${1#v}
[[ $new =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "'$1' is not a semantic version (MAJOR.MINOR.PATCH)"

old=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")
[ -n "$old" ] || die "no version in $root/Cargo.toml's [workspace.package]"
# The old version as a sed regular expression (its dots literal).
old_re=${old//./\\.}

cd "$root"
sed -i '/^\[workspace\.package\]/,/^\[/ s/^version = ".*"$/version = "'"$new"'"/' Cargo.toml
# The workspace's own crates in the lock files: what cargo itself would write, so --locked builds stay possible.
for lock in Cargo.lock fuzz/Cargo.lock; do
  [ -f "$lock" ] || continue
  sed -i -E '/^name = "(host-harness|require-digest|require-digest-tests)"$/{n;s/^version = ".*"$/version = "'"$new"'"/}' "$lock"
done
sed -i -E 's/^(  io\.kubewarden\.policy\.version: ).*$/\1'"$new"'/' metadata.yml
sed -i -E 's/^version: .*$/version: '"$new"'/' artifacthub-pkg.yml

# References to a released version in what users read and copy.
files=(README.md SECURITY.md artifacthub-pkg.yml)
for pattern in 'docs/*.md' 'examples/*.yaml' 'examples/*.yml' '.github/workflows/*.yml' 'ci-recipes/*'; do
  for file in $pattern; do [ -f "$file" ] && files+=("$file"); done
done
for file in "${files[@]}"; do
  [ -f "$file" ] || continue
  sed -i -E \
    -e "s#(policies/require-digest:v)$old_re\\b#\\1$new#g" \
    -e "s#(require-digest\\.yml@v)$old_re\\b#\\1$new#g" \
    -e "s#(require-digest/releases/download/v)$old_re/#\\1$new/#g" \
    "$file"
done
# The reusable workflow's default release, and the pre-commit example's pin.
sed -i -E "/^      version:$/,/^      [a-z-]+:$/ s/^(        default: v)$old_re$/\\1$new/" .github/workflows/require-digest.yml
[ -f ci-recipes/pre-commit-config.yaml ] &&
  sed -i -E "s/^(    rev: v)$old_re$/\\1$new/" ci-recipes/pre-commit-config.yaml

echo "set-version.sh: $old -> $new" >&2
