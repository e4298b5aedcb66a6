//! Kubewarden policy metadata: the `metadata.yml` beside a policy, or the copy `kwctl annotate` embeds in
//! the module (a custom section named `io.kubewarden.metadata`, holding JSON), and its rules.
//!
//! The rules say which requests the policy is registered for, with the semantics of Kubernetes
//! admission webhook rules: `*` matches any group, version or operation; in `resources`, `*` matches
//! every resource but no subresource, `*/*` everything, `pods/*` pods and all their subresources,
//! `pods/ephemeralcontainers` only that subresource.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Name of the custom section in which `kwctl annotate` stores a policy's metadata: policy-evaluator's
/// `KUBEWARDEN_CUSTOM_SECTION_METADATA`, which kwctl writes (as a walrus `RawCustomSection` holding the
/// camelCase JSON of its `Metadata`) and Kubewarden's policy server reads. It has had this name since
/// policy-evaluator's first release (2021); no Kubewarden tool wrote another, so no other name is read.
pub const EMBEDDED_METADATA_SECTION: &str = "io.kubewarden.metadata";

/// The parts of Kubewarden's policy metadata the harness uses; other fields are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub mutating: bool,
    #[serde(default)]
    pub context_aware: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_audit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// One admission rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

/// What a request is about, for rule matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub resource: &'a str,
    /// `""` for the main resource.
    pub subresource: &'a str,
    pub operation: &'a str,
}

const OPERATIONS: &[&str] = &["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

impl Metadata {
    /// Reads a `metadata.yml` (YAML or JSON).
    pub fn from_file(path: &Path) -> anyhow::Result<Metadata> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_yaml(&text)
            .with_context(|| format!("invalid policy metadata in {}", path.display()))
    }

    pub fn from_yaml(text: &str) -> anyhow::Result<Metadata> {
        let value = crate::manifest::parse_single(text)?;
        let metadata: Metadata = serde_json::from_value(value)?;
        metadata.validate()?;
        Ok(metadata)
    }

    /// The metadata embedded in a module by `kwctl annotate`, if any.
    pub fn from_module(module: &[u8]) -> anyhow::Result<Option<Metadata>> {
        // A WAT module (accepted wherever a module is) has no custom sections to read.
        if !module.starts_with(b"\0asm") {
            return Ok(None);
        }
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            let payload = payload.context("the module is not valid WebAssembly")?;
            if let wasmparser::Payload::CustomSection(section) = payload
                && section.name() == EMBEDDED_METADATA_SECTION
            {
                let metadata: Metadata =
                    serde_json::from_slice(section.data()).with_context(|| {
                        format!(
                            "the module's embedded metadata (custom section `{EMBEDDED_METADATA_SECTION}`) is not valid metadata JSON"
                        )
                    })?;
                metadata.validate().with_context(|| {
                    format!(
                        "the module's embedded metadata (custom section `{EMBEDDED_METADATA_SECTION}`) is invalid"
                    )
                })?;
                return Ok(Some(metadata));
            }
        }
        Ok(None)
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (index, rule) in self.rules.iter().enumerate() {
            let number = index + 1;
            for (field, values) in [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("resources", &rule.resources),
                ("operations", &rule.operations),
            ] {
                if values.is_empty() {
                    bail!("rule {number}: `{field}` is empty, so the rule matches nothing");
                }
            }
            if let Some(operation) = rule
                .operations
                .iter()
                .find(|op| !OPERATIONS.contains(&op.as_str()))
            {
                bail!(
                    "rule {number}: unknown operation `{operation}` (expected one of {})",
                    OPERATIONS.join(", ")
                );
            }
        }
        Ok(())
    }

    /// Whether any rule matches the request.
    pub fn matches(&self, target: &RequestTarget<'_>) -> bool {
        self.rules.iter().any(|rule| rule.matches(target))
    }
}

impl Rule {
    /// Whether the rule selects the request, as the API server's default `matchPolicy: Equivalent` decides: a
    /// request for a version the rule does not list still reaches the webhook, converted to one it does
    /// (`batch/v1beta1` CronJobs to `batch/v1`), so the version is not compared. The policy reads the pod spec at
    /// the same path in every version of these kinds.
    pub fn matches(&self, target: &RequestTarget<'_>) -> bool {
        let any_or =
            |values: &[String], wanted: &str| values.iter().any(|v| v == "*" || v == wanted);
        any_or(&self.api_groups, target.group)
            && any_or(&self.operations, target.operation)
            && self.resources.iter().any(|entry| {
                let (resource, subresource) = entry.split_once('/').unwrap_or((entry, ""));
                (resource == "*" || resource == target.resource)
                    && (subresource == "*" || subresource == target.subresource)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(group: &'a str, resource: &'a str, subresource: &'a str) -> RequestTarget<'a> {
        RequestTarget {
            group,
            version: "v1",
            resource,
            subresource,
            operation: "CREATE",
        }
    }

    fn rule(groups: &[&str], resources: &[&str], operations: &[&str]) -> Rule {
        let owned = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        Rule {
            api_groups: owned(groups),
            api_versions: owned(&["v1"]),
            resources: owned(resources),
            operations: owned(operations),
        }
    }

    #[test]
    fn resource_wildcards_follow_admission_webhook_semantics() {
        let pods = target("", "pods", "");
        let ephemeral = target("", "pods", "ephemeralcontainers");
        assert!(rule(&[""], &["pods"], &["CREATE"]).matches(&pods));
        assert!(!rule(&[""], &["pods"], &["CREATE"]).matches(&ephemeral));
        assert!(rule(&[""], &["*"], &["CREATE"]).matches(&pods));
        assert!(!rule(&[""], &["*"], &["CREATE"]).matches(&ephemeral));
        assert!(rule(&[""], &["*/*"], &["CREATE"]).matches(&ephemeral));
        assert!(rule(&[""], &["pods/*"], &["CREATE"]).matches(&pods));
        assert!(rule(&[""], &["pods/*"], &["CREATE"]).matches(&ephemeral));
        assert!(!rule(&[""], &["pods/ephemeralcontainers"], &["CREATE"]).matches(&pods));
        assert!(rule(&[""], &["pods/ephemeralcontainers"], &["CREATE"]).matches(&ephemeral));
        // matchPolicy Equivalent: another version of a listed resource is converted and sent, so it matches.
        let cronjob_v1beta1 = RequestTarget {
            group: "batch",
            version: "v1beta1",
            resource: "cronjobs",
            subresource: "",
            operation: "CREATE",
        };
        assert!(rule(&["batch"], &["cronjobs"], &["CREATE"]).matches(&cronjob_v1beta1));
        let other_group = RequestTarget {
            group: "example.com",
            ..cronjob_v1beta1
        };
        assert!(!rule(&["batch"], &["cronjobs"], &["CREATE"]).matches(&other_group));
    }

    #[test]
    fn groups_and_operations_must_match() {
        let deployments = target("apps", "deployments", "");
        assert!(!rule(&[""], &["deployments"], &["CREATE"]).matches(&deployments));
        assert!(rule(&["*"], &["deployments"], &["CREATE"]).matches(&deployments));
        assert!(!rule(&["apps"], &["deployments"], &["UPDATE"]).matches(&deployments));
        assert!(rule(&["apps"], &["deployments"], &["*"]).matches(&deployments));
    }

    #[test]
    fn rules_that_match_nothing_are_rejected() {
        let error = Metadata::from_yaml("rules:\n- apiGroups: []\n  apiVersions: [v1]\n  resources: [pods]\n  operations: [CREATE]\n")
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("`apiGroups` is empty"),
            "{error:#}"
        );
        let error = Metadata::from_yaml("rules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: [pods]\n  operations: [CREAT]\n")
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("unknown operation `CREAT`"),
            "{error:#}"
        );
    }
}
