# Kubewarden-style targets. `make policy.wasm` works from a fresh clone (see scripts/build-policy.sh).
.PHONY: policy.wasm harness test lint fmt e2e-tests clean

policy.wasm:
	scripts/build-policy.sh

harness:
	cargo build --release -p host-harness

test: policy.wasm
	cargo test --workspace

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

e2e-tests: policy.wasm harness
	e2e/run.sh

clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
