//! The violation format round-trips: whatever the rule writes about an image site, `violation::parse_line` (what
//! host-harness reads to place a violation on its line) gives back the same site, path, image and reason.

use proptest::prelude::*;
use require_digest::json::Json;
use require_digest::resolver::TableResolver;
use require_digest::settings::Settings;
use require_digest::validation::{Verdict, validate_request};
use require_digest::violation::{
    MAX_LISTED, ViolationLine, is_more_line, parse_line, push_site, with_subject,
};
use require_digest::workload::{SiteKind, image_sites, pod_spec_location};
use rstest::rstest;
use serde_json::{Value, json};

/// An object of `kind` whose pod spec holds one site of `site` with the given name and image.
fn object_with(kind: &str, site: SiteKind, name: Option<&str>, image: Option<&str>) -> Value {
    let mut entry = serde_json::Map::new();
    if let Some(name) = name {
        entry.insert("name".into(), json!(name));
    }
    let list = match site {
        SiteKind::ImageVolume => {
            entry.insert("image".into(), json!({ "reference": image }));
            "volumes"
        }
        SiteKind::Container => "containers",
        SiteKind::InitContainer => "initContainers",
        SiteKind::EphemeralContainer => "ephemeralContainers",
    };
    if site != SiteKind::ImageVolume {
        entry.insert("image".into(), json!(image));
    }
    let mut pod_spec = json!({ list: [Value::Object(entry)] });
    for key in pod_spec_location(kind)
        .expect("a workload kind")
        .iter()
        .rev()
    {
        pod_spec = json!({ *key: pod_spec });
    }
    pod_spec
}

fn round_trip(kind: &str, site: SiteKind, name: Option<&str>, image: Option<&str>, reason: &str) {
    let object = object_with(kind, site, name, image);
    let object = Json::from_value(&object);
    let sites =
        image_sites(&object, pod_spec_location(kind).unwrap()).expect("a well-formed pod spec");
    let site_found = &sites[0];
    let subject = format!("{kind} web-1.example");
    let mut site_line = String::new();
    push_site(&mut site_line, site_found);
    site_line.push_str(reason);
    let line = with_subject(&subject, vec![site_line]).remove(0);
    let parsed = parse_line(&line).unwrap_or_else(|| panic!("unreadable: {line}"));
    assert_eq!(
        parsed,
        ViolationLine {
            subject,
            site,
            name: name.map(str::to_string),
            path: site_found.path(),
            image: image.filter(|image| !image.is_empty()).map(str::to_string),
            reason: reason.to_string(),
        },
        "{line}"
    );
    assert_eq!(parsed.image_pointer(), site_found.image_pointer(), "{line}");
}

fn site_kind() -> impl Strategy<Value = SiteKind> {
    prop::sample::select(SiteKind::ALL.to_vec())
}

fn workload_kind() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["Pod", "Deployment", "CronJob", "PodTemplate", "Job"])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_site_line_reads_back_as_written(
        kind in workload_kind(),
        site in site_kind(),
        name in proptest::option::of(any::<String>()),
        image in proptest::option::of(any::<String>()),
        reason in any::<String>(),
    ) {
        round_trip(kind, site, name.as_deref(), image.as_deref(), &reason);
    }
}

#[rstest]
#[case::container_with_quotes_and_parens(
    "Deployment",
    SiteKind::Container,
    Some("a \"(spec.x[0])\" b"),
    Some("nginx:1.27")
)]
#[case::init_container_whose_label_ends_like_container(
    "Job",
    SiteKind::InitContainer,
    Some("migrate"),
    Some("app:1")
)]
#[case::ephemeral_container_without_a_name(
    "Pod",
    SiteKind::EphemeralContainer,
    None,
    Some("busybox")
)]
#[case::image_volume(
    "CronJob",
    SiteKind::ImageVolume,
    Some("ext"),
    Some("ghcr.io/acme/ext:1")
)]
#[case::container_with_no_image("Deployment", SiteKind::Container, Some("app"), None)]
#[case::image_with_escapes("Pod", SiteKind::Container, Some("app"), Some("tab\there \\ \u{200b}"))]
fn named_site_lines_read_back(
    #[case] kind: &str,
    #[case] site: SiteKind,
    #[case] name: Option<&str>,
    #[case] image: Option<&str>,
) {
    round_trip(kind, site, name, image, "is not pinned by a digest");
}

/// The lines the rule really writes, not only what `site_line` writes: every line of a real rejection reads back.
#[test]
fn every_line_of_a_real_rejection_reads_back() {
    let request = json!({
        "operation": "CREATE",
        "kind": { "group": "apps", "version": "v1", "kind": "Deployment" },
        "object": {
            "metadata": { "name": "web" },
            "spec": { "template": { "spec": {
                "initContainers": [{ "name": "migrate", "image": "app:1.0" }],
                "containers": [
                    { "name": "app", "image": "nginx@sha256:abc" },
                    { "name": "no-image" },
                ],
                "volumes": [{ "name": "ext", "image": { "reference": "ext:latest" } }],
            } } },
        },
    });
    let verdict = validate_request(&request, &Settings::default(), &TableResolver::default());
    let Verdict::Reject { message, .. } = verdict else {
        panic!("rejected: {verdict:?}");
    };
    let pointers: Vec<String> = message
        .lines()
        .map(|line| {
            parse_line(line)
                .unwrap_or_else(|| panic!("unreadable: {line}"))
                .image_pointer()
        })
        .collect();
    assert_eq!(
        pointers,
        [
            "/spec/template/spec/containers/0/image",
            "/spec/template/spec/containers/1/image",
            "/spec/template/spec/initContainers/0/image",
            "/spec/template/spec/volumes/0/image/reference",
        ],
        "{message}"
    );
}

#[rstest]
#[case::a_malformed_object(
    "Deployment web: spec.template.spec.containers must be a list, found a string"
)]
#[case::the_cap_line("Deployment web: … and 3 more")]
#[case::another_policys_message("image nginx is not allowed")]
#[case::a_path_with_spaces("Pod x: container \"a\" (spec containers) image \"b\" bad")]
fn other_lines_are_not_violation_lines(#[case] line: &str) {
    assert_eq!(parse_line(line), None);
}

/// In mutate mode, a failed lookup is told apart from what is wrong with the object as written: `pin` leaves the
/// latter as is and fails on the former.
#[test]
fn failed_lookups_are_told_apart_from_the_rest() {
    let request = json!({
        "operation": "CREATE",
        "kind": { "group": "", "version": "v1", "kind": "Pod" },
        "object": {
            "metadata": { "name": "p" },
            "spec": { "containers": [
                { "name": "resolves", "image": "app:1.0" },
                { "name": "missing", "image": "app:9.9" },
                { "name": "patch-only" },
                { "name": "unrendered", "image": "$IMAGE" },
                { "name": "bad-digest", "image": "app@sha256:abc" },
            ] },
        },
    });
    let settings = Settings::from_json(&json!({ "resolveTags": true })).unwrap();
    let resolver =
        TableResolver::new([("app:1.0".to_string(), format!("sha256:{}", "a".repeat(64)))].into());
    let Verdict::Reject { message, .. } = validate_request(&request, &settings, &resolver) else {
        panic!("rejected");
    };
    let failed: Vec<(String, bool)> = message
        .lines()
        .map(|line| {
            let parsed = parse_line(line).unwrap_or_else(|| panic!("unreadable: {line}"));
            (parsed.path.clone(), parsed.is_failed_lookup())
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("spec.containers[1]".to_string(), true),
            ("spec.containers[2]".to_string(), false),
            ("spec.containers[3]".to_string(), false),
            ("spec.containers[4]".to_string(), false),
        ],
        "{message}"
    );
    let Verdict::Reject { message, .. } =
        validate_request(&request, &settings, &FixedDigest("md5:00"))
    else {
        panic!("rejected");
    };
    let first = parse_line(message.lines().next().unwrap()).unwrap();
    assert!(
        first
            .reason
            .starts_with("was resolved to an unacceptable digest")
            && first.is_failed_lookup(),
        "{message}"
    );
}

/// Answers every image with the same digest, however malformed.
struct FixedDigest(&'static str);

impl require_digest::resolver::DigestResolver for FixedDigest {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Ok(self.0.to_string())
    }
}

#[test]
fn the_cap_line_is_recognised_and_nothing_else_is() {
    let lines: Vec<String> = (0..MAX_LISTED + 3).map(|i| format!("line {i}")).collect();
    let capped = with_subject("Deployment web", lines);
    assert_eq!(capped.last().unwrap(), "Deployment web: … and 3 more");
    assert!(is_more_line(capped.last().unwrap()));
    assert!(capped[..MAX_LISTED].iter().all(|line| !is_more_line(line)));
    for other in [
        "Deployment web: … and  more",
        "Deployment web: … and 3 more!",
        "Deployment web: container \"a\" (spec.containers[0]) has no image",
    ] {
        assert!(!is_more_line(other), "{other}");
    }
}
