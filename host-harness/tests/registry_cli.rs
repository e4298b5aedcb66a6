//! `host-harness digest IMAGE…` as a user runs it, against real registries on loopback (started by
//! e2e/registry.sh): `IMAGE DIGEST` lines in the order given, exit 0 when all resolve and 2 when any fails (the
//! others still printed), credentials from `--docker-config` or `$DOCKER_CONFIG` with the password in no output,
//! and `--digests` with no registry at all.

#[macro_use]
mod registry_support;

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Command, Output};

use registry_support::{AUTH_IMAGE, Registries};

fn harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-harness"));
    // No credentials from the machine running the tests.
    command.env(
        "DOCKER_CONFIG",
        std::env::temp_dir().join("require-digest-no-docker-config"),
    );
    command
}

fn digest(registries: &Registries, extra: &[&str], images: &[String]) -> Output {
    harness()
        .arg("digest")
        .args([
            "--insecure-registry",
            &registries.open,
            "--insecure-registry",
            &registries.auth,
        ])
        .args(extra)
        .args(images)
        .output()
        .expect("run host-harness")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prints_image_and_digest_per_line_in_the_order_given() {
    let registries = registries_or_skip!();
    let images: Vec<String> = [
        "demo/multi:1.0",
        "demo/app:1.0",
        "demo/docker:1.0",
        "demo/app:1.1",
    ]
    .iter()
    .map(|image| format!("{}/{image}", registries.open))
    .collect();
    let output = digest(registries, &[], &images);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    let expected: String = images
        .iter()
        .map(|image| {
            let repository_and_tag = image.split_once('/').unwrap().1;
            format!(
                "{image} {}\n",
                registry_support::served_digest(&registries.open, repository_and_tag, None)
            )
        })
        .collect();
    assert_eq!(text(&output.stdout), expected);
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn any_failure_exits_2_and_still_prints_the_others() {
    let registries = registries_or_skip!();
    let good = format!("{}/demo/app:1.0", registries.open);
    let missing = format!("{}/demo/app:9.9", registries.open);
    let malformed = "Not/A:Valid:Image".to_string();
    let output = digest(
        registries,
        &[],
        &[missing.clone(), good.clone(), malformed.clone()],
    );
    assert_eq!(output.status.code(), Some(2));
    let served = registry_support::served_digest(&registries.open, "demo/app:1.0", None);
    assert_eq!(text(&output.stdout), format!("{good} {served}\n"));
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "error: {missing}: not found in registry {}",
            registries.open
        )),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("error: {malformed}: not a valid image reference")),
        "{stderr}"
    );
}

#[test]
fn auth_from_docker_config_flag_or_environment_with_the_password_in_no_output() {
    let registries = registries_or_skip!();
    let image = format!("{}/{AUTH_IMAGE}", registries.auth);
    let served = registry_support::served_digest(
        &registries.auth,
        AUTH_IMAGE,
        Some((registries.user.as_str(), registries.password.as_str())),
    );
    let config_flag = registries.docker_config.to_str().unwrap();

    let by_flag = digest(
        registries,
        &["--docker-config", config_flag],
        std::slice::from_ref(&image),
    );
    let config_dir = registries.docker_config.parent().unwrap();
    let by_environment = harness()
        .env("DOCKER_CONFIG", config_dir)
        .args(["digest", "--insecure-registry", &registries.auth, &image])
        .output()
        .unwrap();
    // registry.sh writes docker-config.json; $DOCKER_CONFIG names a directory holding config.json.
    std::fs::copy(&registries.docker_config, config_dir.join("config.json")).unwrap();
    let by_environment_retry = harness()
        .env("DOCKER_CONFIG", config_dir)
        .args(["digest", "--insecure-registry", &registries.auth, &image])
        .output()
        .unwrap();
    let anonymous = digest(registries, &[], std::slice::from_ref(&image));
    let missing = digest(
        registries,
        &["--docker-config", config_flag],
        &[format!("{}/private/app:9.9", registries.auth)],
    );

    assert_eq!(by_flag.status.code(), Some(0), "{}", text(&by_flag.stderr));
    assert_eq!(text(&by_flag.stdout), format!("{image} {served}\n"));
    // Before config.json existed: no credentials, and the message says where it looked.
    assert_eq!(by_environment.status.code(), Some(2));
    assert!(text(&by_environment.stderr).contains(&format!(
        "{}, which does not exist",
        config_dir.join("config.json").display()
    )));
    assert_eq!(
        by_environment_retry.status.code(),
        Some(0),
        "{}",
        text(&by_environment_retry.stderr)
    );
    assert_eq!(
        text(&by_environment_retry.stdout),
        format!("{image} {served}\n")
    );
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(
        text(&anonymous.stderr).contains("requires authentication"),
        "{}",
        text(&anonymous.stderr)
    );
    assert_eq!(missing.status.code(), Some(2));

    for output in [
        &by_flag,
        &by_environment,
        &by_environment_retry,
        &anonymous,
        &missing,
    ] {
        for stream in [&output.stdout, &output.stderr] {
            assert!(
                !text(stream).contains(&registries.password),
                "password leaked: {}",
                text(stream)
            );
        }
    }
}

#[test]
fn a_wrong_password_exits_2_with_a_clear_message() {
    let registries = registries_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let wrong = "n0t-the-pa55word";
    let auth = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{wrong}", registries.user))
    };
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registries.auth
        ),
    )
    .unwrap();
    let output = digest(
        registries,
        &["--docker-config", config.to_str().unwrap()],
        &[format!("{}/{AUTH_IMAGE}", registries.auth)],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "registry {} rejected the credentials for it from the Docker config {}",
            registries.auth,
            config.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong) && !text(&output.stdout).contains(wrong));
}

#[test]
fn the_digests_map_needs_no_registry() {
    // Nothing may connect here: the map is all there is.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let registry = listener.local_addr().unwrap().to_string();
    let digest_value = format!("sha256:{}", "c0".repeat(32));
    let mut map = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    write!(
        map,
        r#"{{"{registry}/demo/app:1.0": "{digest_value}", "nginx:1.27": "{digest_value}"}}"#
    )
    .unwrap();
    let map_path = map.path().to_str().unwrap();

    let output = harness()
        .args([
            "digest",
            "--digests",
            map_path,
            &format!("{registry}/demo/app:1.0"),
            "docker.io/library/nginx:1.27",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "{registry}/demo/app:1.0 {digest_value}\ndocker.io/library/nginx:1.27 {digest_value}\n"
        )
    );

    let output = harness()
        .args(["digest", "--digests", map_path, "redis:7"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: redis:7: not in the offline digest map {map_path} (with --digests no registry is contacted)\n"
        )
    );
    assert!(
        matches!(listener.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
    );
}

#[test]
fn bad_flags_and_files_are_errors_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let bad_map = dir.path().join("digests.yaml");
    std::fs::write(&bad_map, "nginx:1.27: sha256:tooshort\n").unwrap();
    for (args, expected) in [
        (
            vec![
                "digest",
                "--digests",
                bad_map.to_str().unwrap(),
                "nginx:1.27",
            ],
            "digests.yaml:1: the digest of nginx:1.27",
        ),
        (
            vec![
                "digest",
                "--docker-config",
                "/nonexistent/config.json",
                "nginx:1.27",
            ],
            "/nonexistent/config.json",
        ),
        (
            vec![
                "digest",
                "--insecure-registry",
                "http://127.0.0.1:5000",
                "nginx:1.27",
            ],
            "HOST or HOST:PORT",
        ),
        (vec!["digest"], "<IMAGE>"),
    ] {
        let output = harness().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), "", "{args:?}");
    }
}

#[test]
fn a_stopped_registry_is_named_in_the_error() {
    let nothing_listens = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let image = format!("{nothing_listens}/demo/app:1.0");
    let output = harness()
        .args(["digest", "--insecure-registry", &nothing_listens, &image])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {image}: connection refused by registry {nothing_listens} (is it running?)\n"
        )
    );
}

#[test]
fn without_docker_config_set_credentials_come_from_home() {
    let registries = registries_or_skip!();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".docker")).unwrap();
    std::fs::copy(
        &registries.docker_config,
        home.path().join(".docker/config.json"),
    )
    .unwrap();
    let image = format!("{}/{AUTH_IMAGE}", registries.auth);
    let output = harness()
        .env_remove("DOCKER_CONFIG")
        .env("HOME", home.path())
        .args(["digest", "--insecure-registry", &registries.auth, &image])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let served = registry_support::served_digest(
        &registries.auth,
        AUTH_IMAGE,
        Some((registries.user.as_str(), registries.password.as_str())),
    );
    assert_eq!(text(&output.stdout), format!("{image} {served}\n"));
}
