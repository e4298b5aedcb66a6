# Shared set-up for the bats suites: paths to the built CLI, the policy and the fixtures.
FIXTURES="$REPO_ROOT/tests/fixtures"
MANIFESTS="$FIXTURES/manifests"
CORPUS="$REPO_ROOT/../shared/corpus"

# Runs the CLI with the fixtures' settings and metadata.
check_fixtures() {
  "$HARNESS" check "$POLICY" --settings-path "$FIXTURES/manifest-settings.yaml" --metadata "$REPO_ROOT/metadata.yml" "$@"
}
