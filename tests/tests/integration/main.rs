//! The real `policy.wasm`, run through the real host-harness (the library and the built CLI), on the fixtures under
//! tests/fixtures/ and on inputs the tests write. Tests of the host that need no policy.wasm (WAT guests, YAML loading,
//! the registry client) are host-harness/tests/'s.
//!
//! One test binary (rather than one per file) so that locating or building the module and the CLI happens once.

// Shared with host-harness/tests, whose tests use them too: one copy, there.
#[macro_use]
#[path = "../../../host-harness/tests/registry_support/mod.rs"]
mod registry_support;
#[path = "../../../host-harness/tests/watchdog/mod.rs"]
mod watchdog;
// The `host-harness run` helpers and the Pod request; they run the binary `harness_binary` names.
#[path = "../../../host-harness/tests/run_support/mod.rs"]
mod run_support;
use support::harness_binary;

mod bench_command;
mod bypass;
mod check_command;
mod closed_pipe;
mod hostile_inputs;
mod library;
mod limits;
mod manifests;
mod module_shape;
mod mutation;
mod packaging;
mod pin;
mod pin_from_pods;
mod pin_kill;
mod pin_set;
mod pin_tree;
mod readme;
mod registry_policy;
mod requests;
mod run_command;
mod support;
mod verify_registry;
