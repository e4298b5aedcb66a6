//! policy.wasm's memory layout: the stack and the initial memory (`memory_layout.rs`, shared with the allocator).
//!
//! Rust gives a wasm32 module a 1 MiB stack at the bottom of its linear memory and sizes the initial memory to fit it
//! and the data. Every evaluation runs in a fresh instance whose memory the host resets afterwards, at a cost that
//! grows with the memory's size: wasmtime either zeroes it or walks its page table for the pages written
//! (`PAGEMAP_SCAN`, a flat cost). So the module asks for only what it needs (`memory_layout.rs`), small enough that
//! host-harness zeroes it (see host-harness/src/host/engine.rs). A stack overflow is a trap, so an evaluation fails
//! closed, never silently.

include!("memory_layout.rs");

fn main() {
    println!("cargo:rerun-if-changed=memory_layout.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={STACK_BYTES}");
        println!("cargo:rustc-link-arg-cdylib=--initial-memory={INITIAL_MEMORY_BYTES}");
    }
}
