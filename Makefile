# Kubewarden-style targets. Every target works from a fresh clone: what it needs, it installs
# (scripts/install-deps.sh, scripts/build-policy.sh).
#
#   make demo   build the policy and the harness, then check the built-in fixture manifests (the main job)
#   make test   everything CI runs: unit, integration (real policy.wasm through the real harness), e2e (bats)
.PHONY: deps policy.wasm harness demo test unit-tests e2e-tests lint fmt clean

HARNESS := target/release/host-harness

deps:
	scripts/install-deps.sh

policy.wasm:
	scripts/build-policy.sh

harness:
	cargo build --release -p host-harness

demo: deps policy.wasm harness
	$(HARNESS) check policy.wasm --settings-path tests/fixtures/manifest-settings.yaml \
		--metadata metadata.yml tests/fixtures/manifests; \
	status=$$?; echo "(host-harness check exited $$status: 0 all accepted, 1 some rejected, 2 errors)"; \
	[ $$status -le 1 ]

# Tests run in release mode: one optimized build serves the unit tests, the integration tests and the e2e
# binary, and wasmtime compiles modules far faster optimized than in a debug build.
unit-tests: policy.wasm
	cargo test --release --workspace

e2e-tests: deps policy.wasm harness
	e2e/run.sh

test: deps policy.wasm harness unit-tests e2e-tests

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
