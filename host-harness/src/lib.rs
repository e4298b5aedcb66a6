//! host-harness: runs Kubewarden waPC policies (such as require-digest's `policy.wasm`) outside a cluster.
//!
//! The digest rule is not here: this crate only hosts the module and feeds it admission requests.
//!
//! - [`host`]: the waPC host on wasmtime (instances, limits, module cache, host capabilities).
//! - [`kubewarden`]: the Kubewarden wire types (validation payloads and responses, AdmissionReview output).
//! - [`manifest`]: loading manifest trees (YAML/JSON, multi-document, lists) into admission requests.
//! - [`metadata`]: policy metadata (`metadata.yml` or embedded in the module) and rule matching.
//! - [`bench`]: figures for `host-harness bench` (compile, instantiate, evaluate).
//! - [`check`]: the CI check over many objects, in parallel.
//! - [`report`]: output formats for `check`.
//! - [`pin`]: rewriting manifests so every unpinned image is pinned, as the policy module decides.
//! - [`place`]: the line of a file a rejection's line points at, the same for `check` and `pin`.
//! - [`registry`]: the OCI registry capability (image → digest), from a real registry or an offline map.
//! - [`session`]: what every policy-running command does first: the module, its settings, the host's limits.
//! - [`verify`]: `check --verify-registry`: whether pinned digests exist in their registries, and where tags point now.

pub mod bench;
pub mod check;
pub mod host;
pub mod kubewarden;
pub mod manifest;
pub mod metadata;
pub mod pin;
pub mod place;
pub mod registry;
pub mod report;
pub mod session;
pub mod verify;
