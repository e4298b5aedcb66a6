//! The registry capability against real registries on loopback (started by e2e/registry.sh): every digest the
//! resolver reports is the one the registry itself serves, auth from a Docker config works and never leaks the
//! password, and every failure (wrong password, no credentials, missing image or tag, a stopped or silent registry,
//! plain HTTP without --insecure-registry) is a clear error naming the image and the registry.

#[macro_use]
mod registry_support;
mod watchdog;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use host_harness::host::capabilities::{Capabilities, CapabilityKey};
use host_harness::registry::{
    DigestSource, RegistryOptions, RegistryResolver, RegistrySpec, ResolveError,
};
use sha2::Digest as _;

use registry_support::{AUTH_IMAGE, OPEN_IMAGES, Registries};

fn resolver(options: RegistryOptions) -> RegistryResolver {
    // A registry that never answers is left only by the resolver's timeout, the thing under test.
    watchdog::arm();
    RegistryResolver::new(options).expect("resolver")
}

fn insecure(registries: &[&str]) -> RegistryOptions {
    RegistryOptions {
        insecure_registries: registries
            .iter()
            .map(|registry| registry.to_string())
            .collect(),
        ..RegistryOptions::default()
    }
}

fn with_docker_config(registries: &Registries, docker_config: PathBuf) -> RegistryResolver {
    resolver(RegistryOptions {
        docker_config: Some(docker_config),
        ..insecure(&[&registries.auth])
    })
}

fn write_docker_config(
    dir: &tempfile::TempDir,
    registry: &str,
    user: &str,
    password: &str,
) -> PathBuf {
    use base64::Engine as _;
    let path = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        &path,
        format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    path
}

#[test]
fn every_digest_is_the_registrys_docker_content_digest() {
    let registries = registries_or_skip!();
    let resolver = resolver(insecure(&[&registries.open]));
    let mut seen = Vec::new();
    for (image, media_type) in OPEN_IMAGES {
        let head = registry_support::head_manifest(&registries.open, image, None);
        assert_eq!(
            head.content_type.as_deref(),
            Some(*media_type),
            "{image}: the seeded kind"
        );
        let served = head.digest.expect("Docker-Content-Digest");
        let reported = resolver
            .digest(&format!("{}/{image}", registries.open))
            .unwrap();
        assert_eq!(reported, served, "{image}");
        seen.push(reported);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        OPEN_IMAGES.len(),
        "every seeded image has its own digest: {seen:?}"
    );
}

#[test]
fn a_multi_arch_index_resolves_to_the_index_digest_not_a_platform_manifest() {
    let registries = registries_or_skip!();
    for index in ["demo/multi:1.0", "demo/dockerlist:1.0"] {
        let digest = resolver(insecure(&[&registries.open]))
            .digest(&format!("{}/{index}", registries.open))
            .unwrap();
        let index_bytes = registry_support::get_manifest(&registries.open, index);
        assert_eq!(
            digest,
            format!("sha256:{:x}", sha2::Sha256::digest(&index_bytes)),
            "{index}"
        );
        let index_json: serde_json::Value = serde_json::from_slice(&index_bytes).unwrap();
        let platforms = index_json["manifests"].as_array().unwrap();
        assert_eq!(platforms.len(), 2, "{index}: two platforms");
        for platform in platforms {
            assert_ne!(platform["digest"].as_str().unwrap(), digest, "{index}");
        }
    }
}

#[test]
fn the_capability_answers_in_the_sdk_shape_through_the_capability_table() {
    let registries = registries_or_skip!();
    let args = RegistrySpec {
        options: RegistryOptions {
            insecure_registries: vec![registries.open.clone()],
            ..RegistryOptions::default()
        },
        ..RegistrySpec::default()
    };
    let mut capabilities = Capabilities::new();
    args.register(&mut capabilities).unwrap();
    let key = CapabilityKey {
        binding: "kubewarden".into(),
        namespace: "oci".into(),
        operation: "v1/manifest_digest".into(),
    };
    let capability = capabilities
        .get(&key)
        .expect("registered under kubewarden/oci/v1/manifest_digest");

    let payload = serde_json::to_vec(&format!("{}/demo/app:1.0", registries.open)).unwrap();
    let answer: serde_json::Value =
        serde_json::from_slice(&capability.call(&payload).unwrap()).unwrap();
    let served = registry_support::served_digest(&registries.open, "demo/app:1.0", None);
    assert_eq!(answer, serde_json::json!({ "digest": served }));

    let payload = serde_json::to_vec(&format!("{}/demo/app:9.9", registries.open)).unwrap();
    let error = capability.call(&payload).unwrap_err();
    assert!(
        error.starts_with(&format!(
            "{}/demo/app:9.9: not found in registry",
            registries.open
        )),
        "{error}"
    );
}

#[test]
fn resolutions_are_cached_for_the_run_even_under_concurrent_callers() {
    let registries = registries_or_skip!();
    let resolver = Arc::new(resolver(insecure(&[&registries.open])));
    let image = format!("{}/demo/app:1.1", registries.open);
    let digests: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| scope.spawn(|| resolver.digest(&image).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    assert!(digests.iter().all(|digest| *digest == digests[0]));
    assert_eq!(
        resolver.registry_requests(),
        1,
        "16 concurrent callers, one request"
    );

    resolver.digest(&image).unwrap();
    resolver
        .digest(&format!("{}/demo/app:1.0", registries.open))
        .unwrap();
    assert_eq!(
        resolver.registry_requests(),
        2,
        "only the new image asked the registry"
    );

    // Failures are cached too: a run does not hammer a registry that already said no.
    let missing = format!("{}/demo/app:9.9", registries.open);
    let first = resolver.digest(&missing).unwrap_err();
    assert_eq!(resolver.digest(&missing).unwrap_err(), first);
    assert_eq!(resolver.registry_requests(), 3);
}

#[test]
fn a_pinned_image_is_returned_as_is_without_any_network() {
    let nothing_listens = free_port();
    let resolver = resolver(insecure(&[&nothing_listens]));
    let digest = format!("sha256:{}", "ab".repeat(32));
    assert_eq!(
        resolver
            .digest(&format!("{nothing_listens}/demo/app:1.0@{digest}"))
            .unwrap(),
        digest
    );
    assert_eq!(
        resolver
            .digest(&format!("{nothing_listens}/demo/app@{digest}"))
            .unwrap(),
        digest
    );
    assert_eq!(resolver.registry_requests(), 0);
}

#[test]
fn credentials_from_a_docker_config_work_and_the_password_never_shows() {
    let registries = registries_or_skip!();
    let auth = Some((registries.user.as_str(), registries.password.as_str()));
    let served = registry_support::served_digest(&registries.auth, AUTH_IMAGE, auth);

    let resolver = with_docker_config(registries, registries.docker_config.clone());
    assert_eq!(
        resolver
            .digest(&format!("{}/{AUTH_IMAGE}", registries.auth))
            .unwrap(),
        served
    );

    // The same through $DOCKER_CONFIG is covered by the CLI tests (the environment is process-wide).
    // Errors and debug output made with the credentials loaded must not carry the password.
    let missing = resolver
        .digest(&format!("{}/private/app:9.9", registries.auth))
        .unwrap_err();
    assert!(
        matches!(missing, ResolveError::NotFound { .. }),
        "{missing}"
    );
    for text in [
        missing.to_string(),
        format!("{missing:?}"),
        format!("{resolver:?}"),
    ] {
        assert!(
            !text.contains(&registries.password),
            "password leaked: {text}"
        );
    }
}

#[test]
fn a_wrong_password_is_a_clear_error_without_the_password() {
    let registries = registries_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let wrong_password = "wr0ng-pa55word-1234";
    let config = write_docker_config(&dir, &registries.auth, &registries.user, wrong_password);
    let error = with_docker_config(registries, config.clone())
        .digest(&format!("{}/{AUTH_IMAGE}", registries.auth))
        .unwrap_err();
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "{}/{AUTH_IMAGE}: registry {} rejected the credentials for it from the Docker config {}",
            registries.auth,
            registries.auth,
            config.display()
        )
    );
    assert!(!format!("{error:?}").contains(wrong_password));
}

#[test]
fn no_credentials_for_a_registry_that_needs_them_is_a_clear_error() {
    let registries = registries_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let config = write_docker_config(&dir, "other.example:5000", "someone", "irrelevant");
    let error = with_docker_config(registries, config.clone())
        .digest(&format!("{}/{AUTH_IMAGE}", registries.auth))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "{}/{AUTH_IMAGE}: registry {} requires authentication, and there are no credentials for it in the Docker config {}",
            registries.auth,
            registries.auth,
            config.display()
        )
    );
}

#[test]
fn a_missing_tag_or_repository_is_a_clear_error() {
    let registries = registries_or_skip!();
    let resolver = resolver(insecure(&[&registries.open]));
    let error = resolver
        .digest(&format!("{}/demo/app:9.9", registries.open))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "{0}/demo/app:9.9: not found in registry {0}: no tag 9.9 in repository demo/app (manifest unknown)",
            registries.open
        )
    );
    let error = resolver
        .digest(&format!("{}/no/such/repo:1", registries.open))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "{0}/no/such/repo:1: not found in registry {0}: ",
            registries.open
        )),
        "{error}"
    );
    assert!(error.contains("no/such/repo"), "{error}");
}

#[test]
fn a_stopped_registry_is_a_connection_refused_error_naming_it() {
    // A registry of its own, so stopping it disturbs no other test.
    let state_dir = tempfile::tempdir().unwrap();
    let Some(registries) = registry_support::start_own(&state_dir.path().join("state")) else {
        return; // skipped on purpose (REQUIRE_DIGEST_SKIP_REGISTRY=1), and said so
    };
    let image = format!("{}/demo/app:1.0", registries.open);
    assert!(
        resolver(insecure(&[&registries.open]))
            .digest(&image)
            .is_ok(),
        "works while running"
    );

    registry_support::stop(&registries.state_dir);
    // The refusal itself, not a timeout after retries: how soon it comes is not asserted (no test times).
    let error = resolver(insecure(&[&registries.open]))
        .digest(&image)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{image}: connection refused by registry {} (is it running?)",
            registries.open
        )
    );
}

#[test]
fn a_registry_that_never_answers_hits_the_timeout() {
    // A listener that accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let registry = listener.local_addr().unwrap().to_string();
    let resolver = resolver(RegistryOptions {
        total_timeout: Duration::from_millis(500),
        ..insecure(&[&registry])
    });
    // The listener never answers: only the timeout ends the lookup, so its error is the outcome to assert.
    let error = resolver
        .digest(&format!("{registry}/demo/app:1.0"))
        .unwrap_err();
    assert!(matches!(error, ResolveError::Timeout { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "{registry}/demo/app:1.0: registry {registry} did not answer within 0.5s ("
        )),
        "{message}"
    );
    drop(listener);
}

#[test]
fn plain_http_without_insecure_registry_says_which_flag_is_missing() {
    let registries = registries_or_skip!();
    let error = resolver(RegistryOptions::default())
        .digest(&format!("{}/demo/app:1.0", registries.open))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("cannot reach registry {}", registries.open)),
        "{error}"
    );
    assert!(
        error.ends_with(&format!(
            "(if {0} serves plain HTTP, pass --insecure-registry {0})",
            registries.open
        )),
        "{error}"
    );
}

#[test]
fn the_offline_map_contacts_no_registry() {
    // A "registry" that would notice any connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let registry = listener.local_addr().unwrap().to_string();
    let digest = format!("sha256:{}", "5e".repeat(32));
    let mut map = tempfile::NamedTempFile::new().unwrap();
    writeln!(map, "{registry}/demo/app:1.0: {digest}").unwrap();

    let args = RegistrySpec {
        digests: Some(map.path().to_path_buf()),
        ..RegistrySpec::default()
    };
    let source: Arc<dyn DigestSource> = args.digest_source().unwrap();
    assert_eq!(
        source.digest(&format!("{registry}/demo/app:1.0")).unwrap(),
        digest
    );
    let error = source
        .digest(&format!("{registry}/demo/app:1.1"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "{registry}/demo/app:1.1: not in the offline digest map {} (with --digests no registry is contacted)",
            map.path().display()
        )
    );
    assert!(
        matches!(listener.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the registry"
    );
}

fn free_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A waPC guest that asks the host for `image`'s digest through `kubewarden`/`oci`/`v1/manifest_digest`, the way
/// the SDK's `get_manifest_digest` does, and answers `{"accepted": true, "mutated_object": <the host's answer>}`;
/// a host error becomes its guest error.
fn digest_asking_guest(image: &str) -> String {
    // Every byte hex-escaped: no quoting trouble in WAT strings.
    let wat_bytes = |text: &str| {
        text.bytes()
            .map(|byte| format!("\\{byte:02x}"))
            .collect::<String>()
    };
    let payload = serde_json::to_string(image).unwrap();
    let prefix = r#"{"accepted":true,"mutated_object":"#;
    format!(
        r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\"v1\"")
  (data (i32.const 100) "kubewarden")
  (data (i32.const 116) "oci")
  (data (i32.const 132) "v1/manifest_digest")
  (data (i32.const 200) "{payload_bytes}")
  (data (i32.const 8192) "{prefix_bytes}")
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (local $len i32)
    (call $guest_request (i32.const 1024) (i32.const 4096))
    ;; "protocol_version" is the only operation name 16 bytes long.
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eqz (call $host_call (i32.const 100) (i32.const 10) (i32.const 116) (i32.const 3)
                                  (i32.const 132) (i32.const 18) (i32.const 200) (i32.const {payload_len})))
      (then
        (local.set $len (call $host_error_len))
        (call $host_error (i32.const 8192))
        (call $guest_error (i32.const 8192) (local.get $len))
        (return (i32.const 0))))
    (local.set $len (call $host_response_len))
    (call $host_response (i32.const {answer_at}))
    (i32.store8 (i32.add (i32.const {answer_at}) (local.get $len)) (i32.const 125)) ;; the closing brace
    (call $guest_response (i32.const 8192) (i32.add (i32.const {prefix_len_plus_brace}) (local.get $len)))
    (i32.const 1)))"#,
        payload_bytes = wat_bytes(&payload),
        payload_len = payload.len(),
        prefix_bytes = wat_bytes(prefix),
        answer_at = 8192 + prefix.len(),
        prefix_len_plus_brace = prefix.len() + 1,
    )
}

#[test]
fn a_policy_gets_the_digest_through_the_real_wapc_host() {
    use host_harness::host::{HostOptions, PolicyHost};
    let registries = registries_or_skip!();
    let args = RegistrySpec {
        options: RegistryOptions {
            insecure_registries: vec![registries.open.clone()],
            ..RegistryOptions::default()
        },
        ..RegistrySpec::default()
    };
    let host_for = |image: &str| {
        let mut capabilities = Capabilities::new();
        args.register(&mut capabilities).unwrap();
        let options = HostOptions {
            cache: false,
            capabilities,
            ..HostOptions::default()
        };
        PolicyHost::from_bytes(digest_asking_guest(image).as_bytes(), options)
            .expect("the guest loads")
    };
    let request = serde_json::json!({"uid": "1", "operation": "CREATE"});

    let image = format!("{}/demo/multi:1.0", registries.open);
    let verdict = host_for(&image)
        .validate(&request, &serde_json::json!({}))
        .unwrap();
    let served = registry_support::served_digest(&registries.open, "demo/multi:1.0", None);
    assert_eq!(
        verdict.mutated_object,
        Some(serde_json::json!({ "digest": served }))
    );

    let missing = format!("{}/demo/multi:9.9", registries.open);
    let error = host_for(&missing)
        .validate(&request, &serde_json::json!({}))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "{missing}: not found in registry {}",
            registries.open
        )),
        "{error}"
    );
}
