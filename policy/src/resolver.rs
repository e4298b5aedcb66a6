//! Tag-to-digest resolution for mutate mode (`resolveTags`), behind a trait: policy.wasm asks the Kubewarden host's
//! `oci` / `v1/manifest_digest` capability; native tests (and anything else that runs the rule in-process) use a table.

use std::cell::RefCell;
use std::collections::HashMap;

/// Answers "which digest does this image's manifest have?".
pub trait DigestResolver {
    /// The digest (`sha256:…`) of the manifest `image` (as written in the object) points to, or the error the
    /// resolver reported. The answer is checked by the caller with the same digest rule as any pinned image.
    fn manifest_digest(&self, image: &str) -> Result<String, String>;
}

/// Asks the resolver it wraps once per image, and gives the same answer when asked again: an image used by several
/// containers, or judged twice (see `entry::verdict`), costs one registry lookup.
pub struct RememberingResolver<'a> {
    resolver: &'a dyn DigestResolver,
    /// A list, not a map: an object names a handful of images, and a map type would add its code to policy.wasm.
    answers: RefCell<Vec<(String, Result<String, String>)>>,
}

impl<'a> RememberingResolver<'a> {
    pub fn new(resolver: &'a dyn DigestResolver) -> RememberingResolver<'a> {
        RememberingResolver {
            resolver,
            answers: RefCell::default(),
        }
    }
}

impl DigestResolver for RememberingResolver<'_> {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        if let Some((_, answer)) = self
            .answers
            .borrow()
            .iter()
            .find(|(asked, _)| asked == image)
        {
            return answer.clone();
        }
        let answer = self.resolver.manifest_digest(image);
        self.answers
            .borrow_mut()
            .push((image.to_owned(), answer.clone()));
        answer
    }
}

/// A fixed map from image (as written) to digest. Images not in it fail to resolve.
#[derive(Clone, Debug, Default)]
pub struct TableResolver {
    digests: HashMap<String, String>,
}

impl TableResolver {
    pub fn new(digests: HashMap<String, String>) -> TableResolver {
        TableResolver { digests }
    }
}

impl DigestResolver for TableResolver {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.digests
            .get(image)
            .cloned()
            .ok_or_else(|| format!("no digest is known for {image:?}"))
    }
}

/// The Kubewarden host capability `kubewarden/oci/v1/manifest_digest`, called through the SDK's waPC guest. Only in
/// policy.wasm: it calls the waPC host.
///
/// The SDK's `get_manifest_digest` wrapper is not used: its typed response and its error type (with `std::io::Error`
/// and its messages) were an eighth of policy.wasm, whose size budget pays for speed elsewhere. The request and the
/// answer are the same (the image as a JSON string; `{"digest": "…"}`), and so is the message of a failed call.
#[cfg(target_arch = "wasm32")]
pub struct HostResolver;

#[cfg(target_arch = "wasm32")]
impl DigestResolver for HostResolver {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        const OPERATION: &str = "oci.manifest_digest";
        let request = serde_json::Value::from(image).to_string();
        let answer = kubewarden_policy_sdk::wapc_guest::host_call(
            "kubewarden",
            "oci",
            "v1/manifest_digest",
            request.as_bytes(),
        )
        .map_err(|error| format!("error invoking host capability {OPERATION}: {error}"))?;
        digest_of_answer(&answer)
            .map_err(|error| format!("host capability {OPERATION} answered {error}"))
    }
}

/// The `digest` of a `manifest_digest` answer, `{"digest": "…"}`.
#[cfg(any(target_arch = "wasm32", test))]
fn digest_of_answer(answer: &[u8]) -> Result<String, String> {
    let answer: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|error| format!("something that is not JSON: {error}"))?;
    match answer.get("digest") {
        Some(serde_json::Value::String(digest)) => Ok(digest.clone()),
        _ => Err(format!("{answer} instead of {{\"digest\": \"…\"}}")),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::digest_of_answer;

    #[rstest]
    #[case::digest(br#"{"digest":"sha256:00ff"}"#, Ok("sha256:00ff"))]
    #[case::other_fields_ignored(br#"{"digest":"sha256:00ff","size":12}"#, Ok("sha256:00ff"))]
    #[case::not_json(
        b"sha256:00ff",
        Err("something that is not JSON: expected value at line 1 column 1")
    )]
    #[case::no_digest(br#"{}"#, Err(r#"{} instead of {"digest": "…"}"#))]
    #[case::digest_not_a_string(
        br#"{"digest":7}"#,
        Err(r#"{"digest":7} instead of {"digest": "…"}"#)
    )]
    #[case::a_bare_string(
        br#""sha256:00ff""#,
        Err(r#""sha256:00ff" instead of {"digest": "…"}"#)
    )]
    fn manifest_digest_answers(#[case] answer: &[u8], #[case] expected: Result<&str, &str>) {
        assert_eq!(
            digest_of_answer(answer),
            expected.map(str::to_string).map_err(str::to_string)
        );
    }
}
