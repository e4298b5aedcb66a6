//! What can go wrong while evaluating a policy, as distinct cases a caller (and a test) can tell apart.

use std::time::Duration;

/// One evaluation (`validate`, `validate_settings`, `protocol_version`) failed: the policy gave no verdict.
///
/// Every variant's message says what happened in terms a policy author can act on; none of them means the host
/// itself is broken, and the [`PolicyHost`](super::PolicyHost) stays usable after any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// The evaluation ran past its deadline and was interrupted.
    #[error("the policy did not finish within the {}s deadline", .limit.as_secs_f64())]
    Timeout { limit: Duration },

    /// The module asked for more linear memory than the host allows.
    #[error(
        "the policy exceeded the memory limit: it asked for {} MiB, the limit is {} MiB",
        .requested_bytes.div_ceil(MIB), .limit_bytes / MIB
    )]
    MemoryLimit {
        limit_bytes: u64,
        requested_bytes: u64,
    },

    /// The module trapped (unreachable, out-of-bounds access, stack overflow, a Rust panic in the guest…).
    #[error("the policy trapped during {operation}: {message}")]
    Trap { operation: String, message: String },

    /// The module broke the waPC protocol: a buffer outside its memory, an oversized message.
    #[error("the policy broke the waPC protocol during {operation}: {message}")]
    ProtocolViolation { operation: String, message: String },

    /// The guest's handler failed and reported it through `__guest_error`.
    #[error("the policy returned an error from {operation}: {message}")]
    Guest { operation: String, message: String },

    /// The guest answered, but not with what the operation must return.
    #[error("the policy's answer to {operation} is not valid: {reason}")]
    BadResponse { operation: String, reason: String },

    /// A function or memory the waPC protocol requires is not exported by the module (or is exported with
    /// another type than the protocol's).
    #[error("the policy module does not export `{name}` as a waPC guest must")]
    MissingExport { name: String },

    /// The module could not be instantiated (for example: its initial memory exceeds the limit, or
    /// too many evaluations run at once for the instance pool).
    #[error("the policy module could not be instantiated: {message}")]
    Instantiation { message: String },
}

const MIB: u64 = 1024 * 1024;
