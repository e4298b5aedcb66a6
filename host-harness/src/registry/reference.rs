//! Image references as the registry capability sees them: parsed and normalized the way Docker does
//! (`nginx` is `docker.io/library/nginx:latest`), by oci-client's own `Reference`, so the harness names images
//! exactly as the client that fetches them does.

use oci_client::Reference;

use super::ResolveError;

/// Parses `image` (as written in a manifest) into a normalized reference.
pub fn parse_image(image: &str) -> Result<Reference, ResolveError> {
    Reference::try_from(image).map_err(|error| ResolveError::InvalidReference {
        image: image.to_string(),
        reason: error.to_string(),
    })
}

/// Checks that `digest` is a well-formed OCI digest, with oci-spec's parser (the image spec's grammar: exact length and
/// lowercase hex for the registered algorithms). It only catches a garbled answer or map entry early, with a message
/// naming it: whether a digest pins an image (the allowed algorithms and the rest of the digest rule) is decided by
/// the policy module alone, which judges every digest the host gives it.
pub fn validate_digest(digest: &str) -> Result<(), String> {
    digest
        .parse::<oci_spec::image::Digest>()
        .map(drop)
        .map_err(|error| format!("{digest:?} is not an OCI digest ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalize_like_docker() {
        for (written, normalized) in [
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.27", "docker.io/library/nginx:1.27"),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
            (
                "index.docker.io/library/nginx:1.27",
                "docker.io/library/nginx:1.27",
            ),
            ("ghcr.io/acme/api", "ghcr.io/acme/api:latest"),
            ("localhost/app:1", "localhost/app:1"),
            ("127.0.0.1:5000/demo/app:1.0", "127.0.0.1:5000/demo/app:1.0"),
        ] {
            assert_eq!(
                parse_image(written).unwrap().whole(),
                normalized,
                "{written}"
            );
        }
    }

    #[test]
    fn malformed_references_are_errors_naming_the_image() {
        for written in ["", "Nginx:1.27", "nginx:", "nginx:1.27@sha256:short", "a b"] {
            let error = parse_image(written).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("{written}: not a valid image reference")),
                "{error}"
            );
        }
    }

    #[test]
    fn digests_must_be_oci_digests_with_full_lowercase_hex_for_registered_algorithms() {
        assert!(validate_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(validate_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        for bad in [
            "sha256".to_string(),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "g".repeat(64)),
            format!("sha256+b64u:{}", "a/".repeat(16)),
        ] {
            assert!(validate_digest(&bad).is_err(), "{bad}");
        }
    }
}
