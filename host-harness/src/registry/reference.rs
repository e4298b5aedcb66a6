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

/// Checks that `digest` is `ALGORITHM:HEX` with a supported algorithm and the right number of lowercase hex digits
/// (the OCI image spec's registered algorithms).
pub fn validate_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "{digest:?} is not ALGORITHM:HEX (e.g. sha256:<64 hex digits>)"
        ));
    };
    let expected_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "{digest:?} uses an unsupported digest algorithm (use sha256, sha384 or sha512)"
            ));
        }
    };
    if hex.len() != expected_len
        || !hex
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format!(
            "{digest:?} is not {algorithm}:<{expected_len} lowercase hex digits>"
        ));
    }
    Ok(())
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
    fn digests_must_be_a_known_algorithm_with_full_lowercase_hex() {
        assert!(validate_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(validate_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        for bad in [
            "sha256".to_string(),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "g".repeat(64)),
            format!("md5:{}", "a".repeat(32)),
        ] {
            assert!(validate_digest(&bad).is_err(), "{bad}");
        }
    }
}
