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

/// The Kubewarden host capability, through the SDK. Only in policy.wasm: it calls the waPC host.
#[cfg(target_arch = "wasm32")]
pub struct HostResolver;

#[cfg(target_arch = "wasm32")]
impl DigestResolver for HostResolver {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        kubewarden_policy_sdk::host_capabilities::oci::get_manifest_digest(image)
            .map(|response| response.digest)
            .map_err(|error| error.to_string())
    }
}
