//! policy.wasm's memory layout: the stack and the initial memory (`memory_layout.rs`, shared with the allocator).
//!
//! Rust gives a wasm32 module a 1 MiB stack at the bottom of its linear memory and sizes the initial memory to fit it
//! and the data: 1.1 MiB here. Every evaluation runs in a fresh instance whose memory the host resets afterwards, at a
//! cost that grows with the memory's size: wasmtime either zeroes it (about 1 µs per 100 KiB here) or walks its page
//! table for the pages written (`PAGEMAP_SCAN`: 2.3 µs, whatever the size). So the module asks for what it needs, 128
//! KiB, and host-harness zeroes it (see host-harness/src/host/engine.rs): a fresh-instance evaluation of a 3-container
//! Deployment went from 17.9 to 16.6 µs, of a ConfigMap from 9.3 to 8.4 µs (p50). A stack overflow is a trap, so an
//! evaluation fails closed, never silently.

include!("memory_layout.rs");

fn main() {
    println!("cargo:rerun-if-changed=memory_layout.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={STACK_BYTES}");
        println!("cargo:rustc-link-arg-cdylib=--initial-memory={INITIAL_MEMORY_BYTES}");
    }
}
