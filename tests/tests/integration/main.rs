//! The real `policy.wasm`, run through the real host-harness, on the fixtures under tests/fixtures/.
//!
//! One test binary (rather than one per file) so that locating or building the module and the CLI happens once.

mod bypass;
mod closed_pipe;
mod library;
mod limits;
mod manifests;
mod module_shape;
mod mutation;
mod packaging;
mod pin_from_pods;
mod pin_set;
mod pin_tree;
mod readme;
mod requests;
mod support;
