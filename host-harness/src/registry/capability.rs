//! The waPC side of the capability: the payload and answer shapes of Kubewarden's SDK
//! (`host_capabilities::oci::get_manifest_digest`): the request is the image as a JSON string (`"nginx:1.27"`), the
//! answer `{"digest": "sha256:…"}`, and a failure is a host error whose text the policy shows.

use std::sync::Arc;

use serde::Serialize;

use super::DigestSource;

/// Serves `kubewarden` / `oci` / `v1/manifest_digest` from a [`DigestSource`].
#[derive(Debug, Clone)]
pub struct ManifestDigestCapability {
    source: Arc<dyn DigestSource>,
}

/// The SDK's `ManifestDigestResponse`.
#[derive(Serialize)]
struct ManifestDigestResponse<'a> {
    digest: &'a str,
}

impl ManifestDigestCapability {
    pub fn new(source: Arc<dyn DigestSource>) -> Self {
        Self { source }
    }

    /// Answers one host call: `payload` is the image as a JSON string.
    pub fn answer(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let image: String = serde_json::from_slice(payload).map_err(|error| {
            format!(
                "{}/{}/{} expects the image as a JSON string (e.g. \"nginx:1.27\"), got {}: {error}",
                super::BINDING,
                super::NAMESPACE,
                super::OPERATION,
                describe_payload(payload)
            )
        })?;
        let digest = self
            .source
            .digest(&image)
            .map_err(|error| error.to_string())?;
        serde_json::to_vec(&ManifestDigestResponse { digest: &digest })
            .map_err(|error| error.to_string())
    }
}

impl crate::host::capabilities::HostCapability for ManifestDigestCapability {
    fn call(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        self.answer(payload)
    }
}

/// A short, printable view of a payload for an error message.
fn describe_payload(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::registry::DigestMap;

    const DIGEST: &str = "sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d";

    fn capability() -> ManifestDigestCapability {
        let map =
            DigestMap::parse(Path::new("map.yaml"), &format!("nginx:1.27: {DIGEST}\n")).unwrap();
        ManifestDigestCapability::new(Arc::new(map))
    }

    #[test]
    fn answers_in_the_sdk_shape() {
        let answer = capability().answer(br#""nginx:1.27""#).unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer, serde_json::json!({ "digest": DIGEST }));
    }

    #[test]
    fn failures_are_host_errors_naming_the_image() {
        let error = capability().answer(br#""redis:7""#).unwrap_err();
        assert!(
            error.starts_with("redis:7: not in the offline digest map map.yaml"),
            "{error}"
        );
        let error = capability().answer(b"nginx:1.27").unwrap_err();
        assert!(
            error.contains("expects the image as a JSON string"),
            "{error}"
        );
        assert!(error.contains("\"nginx:1.27\""), "{error}");
    }
}
