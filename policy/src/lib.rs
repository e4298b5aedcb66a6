//! require-digest: a Kubewarden policy that rejects workloads whose images are not pinned by digest, or, in mutate
//! mode (`resolveTags`), pins them.
//!
//! Everything is plain Rust, testable natively; this file only wires the waPC entry points of policy.wasm to
//! [`entry`].

// policy.wasm's global allocator (see the module for why not the default one); its bump region is also compiled for
// the native unit tests.
/// Host-side only (host-harness, the browser build): policy.wasm is handed its requests ready-made.
#[cfg(any(not(target_arch = "wasm32"), feature = "js"))]
pub mod admission;
#[cfg(any(all(target_arch = "wasm32", not(target_feature = "atomics")), test))]
mod allocator;
pub mod entry;
/// The rule as an ES module for browsers (feature `js`, scripts/build-js.sh); its plain part is unit-tested natively.
#[cfg(any(feature = "js", test))]
pub mod js;
pub mod json;
pub mod payload;
pub mod reference;
pub mod resolver;
#[cfg(any(not(target_arch = "wasm32"), feature = "js"))]
pub mod resources;
pub mod settings;
mod swar;
pub mod text;
pub mod validation;
pub mod violation;
pub mod workload;

// Not in the JavaScript build: a browser has no waPC host to call these.
#[cfg(all(target_arch = "wasm32", not(feature = "js")))]
mod wapc_entry {
    use kubewarden_policy_sdk::wapc_guest::{CallResult, register_function};

    #[unsafe(no_mangle)]
    pub extern "C" fn wapc_init() {
        register_function("validate", validate);
        register_function("validate_settings", validate_settings);
        register_function(
            "protocol_version",
            kubewarden_policy_sdk::protocol_version_guest,
        );
        // The handler table above lives as long as the instance; from here on, allocations are the calls'.
        #[cfg(not(target_feature = "atomics"))]
        crate::allocator::start_scratch();
    }

    fn validate(payload: &[u8]) -> CallResult {
        Ok(crate::entry::validate(
            payload,
            &crate::resolver::HostResolver,
        ))
    }

    fn validate_settings(payload: &[u8]) -> CallResult {
        Ok(crate::entry::validate_settings(payload))
    }
}
