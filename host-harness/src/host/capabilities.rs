//! Host capabilities: what a policy can ask the host for through waPC's `__host_call(binding, namespace,
//! operation, payload)`.
//!
//! The waPC protocol code only looks a call up in a [`Capabilities`] table and relays the answer; what each
//! capability does lives behind [`HostCapability`]. A new capability (the OCI digest lookup, for example) is
//! one `register` call, with no change to the protocol code.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// One host capability, registered under a (binding, namespace, operation) triple.
pub trait HostCapability: Send + Sync {
    /// Serves one `__host_call` for the (binding, namespace, operation) it is registered under.
    /// `Err(message)` becomes a waPC host error returned to the guest (the SDK turns it into an `Err`).
    ///
    /// This runs on the evaluating thread while the guest waits: a capability that does I/O must enforce its
    /// own timeouts, because the evaluation deadline can only interrupt WebAssembly code, not host code. The
    /// time a call takes does not count against that deadline, which guards against runaway guest code only.
    fn call(&self, payload: &[u8]) -> Result<Vec<u8>, String>;
}

/// Where a host call is addressed: waPC's binding, namespace and operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapabilityKey {
    pub binding: String,
    pub namespace: String,
    pub operation: String,
}

impl fmt::Display for CapabilityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.binding, self.namespace, self.operation)
    }
}

/// The table of capabilities a host serves, keyed by (binding, namespace, operation).
#[derive(Clone)]
pub struct Capabilities {
    table: HashMap<CapabilityKey, Arc<dyn HostCapability>>,
    /// The built-in log handler, remembered so the host can tell whether a caller replaced it (see
    /// [`Capabilities::with_policy_logs_on_stderr`]).
    builtin_log: Arc<dyn HostCapability>,
}

/// Kubewarden's logging capability: the SDK's `KubewardenDrain` sends each log event here as JSON.
pub const POLICY_LOG: (&str, &str, &str) = ("kubewarden", "tracing", "log");

impl Capabilities {
    /// The capabilities every Kubewarden host serves: `kubewarden`/`tracing`/`log` (policy logs, discarded
    /// unless the host runs verbose).
    pub fn new() -> Self {
        let builtin_log: Arc<dyn HostCapability> = Arc::new(PolicyLog {
            echo_to_stderr: false,
        });
        let mut capabilities = Capabilities {
            table: HashMap::new(),
            builtin_log: builtin_log.clone(),
        };
        let (binding, namespace, operation) = POLICY_LOG;
        capabilities.register(binding, namespace, operation, builtin_log);
        capabilities
    }

    /// Serves (binding, namespace, operation) with `handler`, replacing any handler registered there before.
    pub fn register(
        &mut self,
        binding: &str,
        namespace: &str,
        operation: &str,
        handler: Arc<dyn HostCapability>,
    ) {
        let key = CapabilityKey {
            binding: binding.to_owned(),
            namespace: namespace.to_owned(),
            operation: operation.to_owned(),
        };
        self.table.insert(key, handler);
    }

    /// The handler registered for `key`, if any.
    pub fn get(&self, key: &CapabilityKey) -> Option<&Arc<dyn HostCapability>> {
        self.table.get(key)
    }

    /// The keys served, sorted (for messages and `--verbose`).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.table.keys().map(ToString::to_string).collect();
        keys.sort();
        keys
    }

    /// With `--verbose`, the built-in log handler prints to stderr. A log handler the caller registered
    /// themselves is kept as it is.
    pub(crate) fn with_policy_logs_on_stderr(mut self) -> Self {
        let (binding, namespace, operation) = POLICY_LOG;
        let key = CapabilityKey {
            binding: binding.into(),
            namespace: namespace.into(),
            operation: operation.into(),
        };
        if self
            .table
            .get(&key)
            .is_some_and(|handler| Arc::ptr_eq(handler, &self.builtin_log))
        {
            self.table.insert(
                key,
                Arc::new(PolicyLog {
                    echo_to_stderr: true,
                }),
            );
        }
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capabilities")
            .field("served", &self.keys())
            .finish()
    }
}

/// `kubewarden`/`tracing`/`log`: one log event from the policy, as the SDK's `KubewardenDrain` writes it:
/// `{"level": "info", "message": "…", "file": "…", "line": 12, "column": 3, <the event's own fields>}`.
struct PolicyLog {
    echo_to_stderr: bool,
}

impl HostCapability for PolicyLog {
    fn call(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.echo_to_stderr {
            eprintln!("{}", format_policy_log(payload));
        }
        Ok(Vec::new())
    }
}

/// One readable stderr line for a policy log event: `policy INFO message key=value …`. An event that is not
/// the JSON object the SDK writes is shown as it came, so nothing the policy says is lost.
pub(crate) fn format_policy_log(payload: &[u8]) -> String {
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(payload) else {
        return format!("policy log: {}", String::from_utf8_lossy(payload));
    };
    let level = event
        .remove("level")
        .and_then(|v| v.as_str().map(str::to_uppercase))
        .unwrap_or_else(|| "LOG".into());
    let message = match event.remove("message") {
        Some(Value::String(message)) => message,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    // Where in the policy's source the event was logged is noise for a policy user.
    for location in ["file", "line", "column"] {
        event.remove(location);
    }
    let mut line = format!("policy {level} {message}");
    let mut fields: Vec<(String, Value)> = event.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in fields {
        match value {
            Value::String(text) => line.push_str(&format!(" {key}={text:?}")),
            other => line.push_str(&format!(" {key}={other}")),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl HostCapability for Echo {
        fn call(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
            Ok(payload.to_vec())
        }
    }

    fn key(binding: &str, namespace: &str, operation: &str) -> CapabilityKey {
        CapabilityKey {
            binding: binding.into(),
            namespace: namespace.into(),
            operation: operation.into(),
        }
    }

    #[test]
    fn new_serves_the_policy_log_and_nothing_else() {
        let capabilities = Capabilities::new();
        assert_eq!(capabilities.keys(), vec!["kubewarden/tracing/log"]);
        let log = capabilities
            .get(&key("kubewarden", "tracing", "log"))
            .unwrap();
        assert_eq!(
            log.call(br#"{"level":"info","message":"hi"}"#),
            Ok(Vec::new())
        );
        assert!(
            capabilities
                .get(&key("kubewarden", "oci", "v1/manifest_digest"))
                .is_none()
        );
    }

    #[test]
    fn a_registered_capability_is_found_under_its_exact_triple_only() {
        let mut capabilities = Capabilities::new();
        capabilities.register("kubewarden", "oci", "v1/manifest_digest", Arc::new(Echo));
        let echo = capabilities
            .get(&key("kubewarden", "oci", "v1/manifest_digest"))
            .unwrap();
        assert_eq!(echo.call(b"x"), Ok(b"x".to_vec()));
        assert!(
            capabilities
                .get(&key("kubewarden", "oci", "v1/oci_manifest"))
                .is_none()
        );
        assert!(
            capabilities
                .get(&key("other", "oci", "v1/manifest_digest"))
                .is_none()
        );
    }

    #[test]
    fn verbose_replaces_only_the_builtin_log_handler() {
        let builtin = Capabilities::new().with_policy_logs_on_stderr();
        let log_key = key("kubewarden", "tracing", "log");
        assert!(!Arc::ptr_eq(
            builtin.get(&log_key).unwrap(),
            &builtin.builtin_log
        ));

        let mut custom = Capabilities::new();
        let mine: Arc<dyn HostCapability> = Arc::new(Echo);
        custom.register("kubewarden", "tracing", "log", mine.clone());
        let custom = custom.with_policy_logs_on_stderr();
        assert!(Arc::ptr_eq(custom.get(&log_key).unwrap(), &mine));
    }

    #[test]
    fn log_events_read_as_one_line() {
        let line = format_policy_log(
            br#"{"level":"warning","message":"image not pinned","file":"src/lib.rs","line":3,"column":1,"image":"nginx","count":2}"#,
        );
        assert_eq!(
            line,
            r#"policy WARNING image not pinned count=2 image="nginx""#
        );
        assert_eq!(format_policy_log(b"not json"), "policy log: not json");
    }
}
