//! policy.wasm's stack size.
//!
//! Rust gives a wasm32 module a 1 MiB stack at the bottom of its linear memory. Every evaluation runs in a fresh
//! instance whose memory the host resets afterwards, at a cost that grows with the memory's size (wasmtime walks its
//! page table), so the stack is sized to what the module needs: 256 KiB. The deepest payload serde_json accepts
//! (128 levels) needs between 32 and 64 KiB here, the mutate path included (tests/tests/integration/limits.rs
//! evaluates it through the real module); a stack overflow is a trap, so an evaluation fails closed, never silently.

const STACK_BYTES: u32 = 256 * 1024;

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={STACK_BYTES}");
    }
}
