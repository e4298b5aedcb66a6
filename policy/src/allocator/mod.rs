//! policy.wasm's heap: a bump region for each waPC call's allocations ([`scratch`]), and Talc, starting in an arena
//! inside the module's initial memory, for the rest.
//!
//! Every evaluation runs in a fresh instance (policy-server and host-harness both instantiate per request). Rust's
//! default wasm allocator, dlmalloc, gets all its memory with `memory.grow`, so every fresh instance grew its memory
//! on its first allocation, and the host then had to change page protections twice per evaluation (grow, then shrink
//! back when the slot is reused): two `mprotect` calls with TLB shootdowns on every other core, a large share of
//! `host-harness check`'s CPU. Here the first heap is the rest of the module's initial memory, past its stack and
//! data (`memory_layout.rs`), so an ordinary evaluation never grows memory; a request too big for it grows memory as
//! before. (dlmalloc stays linked: std allocates its thread handle with `System` directly, and once_cell, used by the
//! SDK, can ask for it.)
//!
//! The scratch region is switched on at the end of `wapc_init` ([`start_scratch`]): what the waPC guest allocates
//! there (its table of handlers) lives as long as the instance and belongs in Talc; everything a call allocates is
//! freed before the call returns, so the region starts over for the next call.

#[cfg(target_arch = "wasm32")]
mod global;
mod scratch;

// The browser build (feature `js`) has no waPC calls: its scratch region is never started, and Talc serves it all.
#[cfg(all(target_arch = "wasm32", not(feature = "js")))]
pub use global::start_scratch;
