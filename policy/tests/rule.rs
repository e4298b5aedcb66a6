//! The rule over real AdmissionRequest shapes: every kind, every container list and image volumes, exemptions,
//! requireTag, allowExistingViolations, subresources, operations, malformed requests and mutate mode.

use std::cell::RefCell;
use std::collections::HashMap;

use require_digest::resolver::{DigestResolver, TableResolver};
use require_digest::settings::Settings;
use require_digest::validation::{MAX_LISTED, Verdict, validate_request};
use rstest::rstest;
use serde_json::{Value, json};

const UNPINNED: &str = "nginx:1.27";

fn hex(len: usize) -> String {
    "0123456789abcdef".chars().cycle().take(len).collect()
}

fn pinned(image: &str) -> String {
    format!("{image}@sha256:{}", hex(64))
}

/// Where each kind keeps its pod spec, as the dotted path the messages show.
fn pod_spec_path(kind: &str) -> &'static str {
    match kind {
        "Pod" => "spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        "PodTemplate" => "template.spec",
        _ => "spec.template.spec",
    }
}

/// An object of `kind` named "web" with `pod_spec` where that kind keeps it, and, like Kubewarden's own fixtures,
/// without apiVersion or kind: the rule must take the kind from the request.
fn workload(kind: &str, pod_spec: Value) -> Value {
    let mut object = json!({"metadata": {"name": "web", "namespace": "default"}});
    let mut at = &mut object;
    for key in pod_spec_path(kind).split('.') {
        at = at
            .as_object_mut()
            .unwrap()
            .entry(key)
            .or_insert_with(|| json!({}));
    }
    *at = pod_spec;
    object
}

fn request(kind: &str, operation: &str, object: Value, old_object: Value) -> Value {
    json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": kind},
        "resource": {"group": "", "version": "v1", "resource": "whatever"},
        "operation": operation,
        "name": "web",
        "namespace": "default",
        "object": object,
        "oldObject": old_object,
        "userInfo": {"username": "alice"},
    })
}

fn create(kind: &str, pod_spec: Value) -> Value {
    request(kind, "CREATE", workload(kind, pod_spec), Value::Null)
}

fn judge(request: &Value, settings: &Settings) -> Verdict {
    validate_request(request, settings, &TableResolver::default())
}

fn rejection(verdict: Verdict) -> String {
    match verdict {
        Verdict::Reject { message, .. } => message,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn acceptance_warnings(verdict: Verdict) -> Vec<String> {
    match verdict {
        Verdict::Accept { warnings } => warnings,
        other => panic!("expected an acceptance, got {other:?}"),
    }
}

/// A pod spec with one image site of the given list; `name` names the container or volume.
fn pod_spec_with(list: &str, name: &str, image: &str) -> Value {
    match list {
        "volumes" => {
            json!({"volumes": [{"name": name, "image": {"reference": image, "pullPolicy": "IfNotPresent"}}]})
        }
        _ => json!({list: [{"name": name, "image": image}]}),
    }
}

fn site_label(list: &str) -> &'static str {
    match list {
        "containers" => "container",
        "initContainers" => "init container",
        "ephemeralContainers" => "ephemeral container",
        _ => "image volume",
    }
}

const KINDS: [&str; 9] = [
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

#[rstest]
fn every_kind_and_image_site_rejects_an_unpinned_image(
    #[values(
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "PodTemplate"
    )]
    kind: &str,
    #[values("containers", "initContainers", "ephemeralContainers", "volumes")] list: &str,
) {
    let message = rejection(judge(
        &create(kind, pod_spec_with(list, "x", UNPINNED)),
        &Settings::default(),
    ));
    let path = pod_spec_path(kind);
    let label = site_label(list);
    assert_eq!(
        message,
        format!(
            "{kind} web: {label} \"x\" ({path}.{list}[0]) image \"nginx:1.27\" is not pinned by a digest"
        )
    );
}

#[rstest]
fn every_kind_and_image_site_accepts_a_pinned_image(
    #[values(
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "PodTemplate"
    )]
    kind: &str,
    #[values("containers", "initContainers", "ephemeralContainers", "volumes")] list: &str,
    #[values("nginx:1.27", "nginx", "registry.example.com:5000/team/app:v1")] image: &str,
) {
    let warnings = acceptance_warnings(judge(
        &create(kind, pod_spec_with(list, "x", &pinned(image))),
        &Settings::default(),
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn one_rejection_lists_every_violation_one_per_line_in_order() {
    let pod_spec = json!({
        "initContainers": [{"name": "setup", "image": "busybox"}],
        "containers": [
            {"name": "app", "image": pinned("registry.example.com/app:1")},
            {"name": "sidecar", "image": "envoyproxy/envoy:v1.30"},
            {"name": "broken", "image": "Envoy"},
        ],
        "ephemeralContainers": [{"name": "debugger", "image": format!("busybox@sha256:{}", hex(63))}],
        "volumes": [
            {"name": "config", "configMap": {"name": "web"}},
            {"name": "models", "image": {"reference": "registry.example.com/models:v3"}},
        ],
    });
    let message = rejection(judge(&create("Deployment", pod_spec), &Settings::default()));
    assert_eq!(
        message.lines().collect::<Vec<_>>(),
        [
            r#"Deployment web: container "sidecar" (spec.template.spec.containers[1]) image "envoyproxy/envoy:v1.30" is not pinned by a digest"#,
            r#"Deployment web: container "broken" (spec.template.spec.containers[2]) image "Envoy" is invalid: repository name must be lowercase ("Envoy")"#,
            r#"Deployment web: init container "setup" (spec.template.spec.initContainers[0]) image "busybox" is not pinned by a digest"#,
            r#"Deployment web: ephemeral container "debugger" (spec.template.spec.ephemeralContainers[0]) image "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" is invalid: sha256 digest must be 64 lowercase hex characters, found 63"#,
            r#"Deployment web: image volume "models" (spec.template.spec.volumes[1]) image "registry.example.com/models:v3" is not pinned by a digest"#,
        ]
    );
}

#[rstest]
#[case::missing_image(json!({"containers": [{"name": "app"}]}), r#"Pod web: container "app" (spec.containers[0]) has no image"#)]
#[case::null_image(json!({"containers": [{"name": "app", "image": null}]}), r#"Pod web: container "app" (spec.containers[0]) has no image"#)]
#[case::empty_image(json!({"containers": [{"name": "app", "image": ""}]}), r#"Pod web: container "app" (spec.containers[0]) has an empty image"#)]
#[case::image_volume_without_reference(
    json!({"volumes": [{"name": "data", "image": {"pullPolicy": "Always"}}]}),
    r#"Pod web: image volume "data" (spec.volumes[0]) has no image"#
)]
#[case::unnamed_container(json!({"containers": [{"image": "nginx"}]}), r#"Pod web: container (spec.containers[0]) image "nginx" is not pinned by a digest"#)]
#[case::whitespace_around_image(
    json!({"containers": [{"name": "app", "image": format!(" {}", pinned("nginx"))}]}),
    &format!(r#"Pod web: container "app" (spec.containers[0]) image " {}" is invalid: image reference has leading or trailing whitespace"#, pinned("nginx"))
)]
#[case::newline_cannot_forge_a_line(
    json!({"containers": [{"name": "a\"\nPod web: ok", "image": "nginx\nPod web: fine"}]}),
    r#"Pod web: container "a\"\nPod web: ok" (spec.containers[0]) image "nginx\nPod web: fine" is invalid: repository name must be lowercase ("nginx\nPod web")"#
)]
fn missing_empty_and_odd_images_are_violations(#[case] pod_spec: Value, #[case] expected: &str) {
    assert_eq!(
        rejection(judge(&create("Pod", pod_spec), &Settings::default())),
        expected
    );
}

#[test]
fn volumes_of_other_types_and_empty_pod_specs_have_nothing_to_check() {
    let pod_spec = json!({"containers": [], "volumes": [{"name": "c", "configMap": {"name": "x"}}, {"name": "e", "emptyDir": {}}]});
    assert!(acceptance_warnings(judge(&create("Pod", pod_spec), &Settings::default())).is_empty());
    for kind in KINDS {
        let no_spec = request(
            kind,
            "CREATE",
            json!({"metadata": {"name": "web"}}),
            Value::Null,
        );
        assert!(
            acceptance_warnings(judge(&no_spec, &Settings::default())).is_empty(),
            "{kind}"
        );
    }
}

/// The cap's edges: up to MAX_LISTED violations are all listed and nothing more is said; from one past it, the first
/// MAX_LISTED are listed and a last line counts the rest.
#[rstest]
#[case::one_below_the_cap(MAX_LISTED - 1, None)]
#[case::at_the_cap(MAX_LISTED, None)]
#[case::one_past_the_cap(MAX_LISTED + 1, Some("Pod web: … and 1 more"))]
#[case::far_past_the_cap(250, Some("Pod web: … and 230 more"))]
fn too_many_violations_are_capped_with_a_count(
    #[case] violations: usize,
    #[case] count_line: Option<&str>,
) {
    let containers: Vec<Value> = (0..violations)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
        .collect();
    let message = rejection(judge(
        &create("Pod", json!({"containers": containers})),
        &Settings::default(),
    ));
    let lines: Vec<&str> = message.lines().collect();
    let listed = violations.min(MAX_LISTED);
    let expected: Vec<String> = (0..listed)
        .map(|i| {
            format!(
                r#"Pod web: container "c{i}" (spec.containers[{i}]) image "nginx" is not pinned by a digest"#
            )
        })
        .chain(count_line.map(str::to_owned))
        .collect();
    assert_eq!(lines, expected);
}

#[rstest]
#[case::metadata_name(json!({"metadata": {"name": "from-metadata"}}), "web", "Pod from-metadata:")]
#[case::request_name_when_metadata_has_none(json!({"metadata": {}}), "from-request", "Pod from-request:")]
#[case::generate_name_for_pods_of_a_replicaset(json!({"metadata": {"generateName": "web-5d4f8-"}}), "", "Pod web-5d4f8-:")]
#[case::nothing_at_all(json!({}), "", "Pod (unnamed):")]
fn the_object_is_named_as_people_know_it(
    #[case] mut object: Value,
    #[case] request_name: &str,
    #[case] prefix: &str,
) {
    object["spec"] = json!({"containers": [{"name": "app", "image": "nginx"}]});
    let mut request = request("Pod", "CREATE", object, Value::Null);
    request["name"] = json!(request_name);
    assert!(rejection(judge(&request, &Settings::default())).starts_with(prefix));
}

fn exempting(patterns: &[&str]) -> Settings {
    Settings {
        exempt_images: patterns.iter().map(|p| p.to_string()).collect(),
        ..Settings::default()
    }
}

#[rstest]
#[case::written_form("registry.example.com/team/app:1", "registry.example.com/*")]
#[case::normalized_official_image("nginx:1.27", "docker.io/library/nginx:*")]
#[case::normalized_user_image("user/app:2", "docker.io/user/*")]
#[case::legacy_domain_normalized("index.docker.io/library/redis:7", "docker.io/library/redis:*")]
#[case::question_mark("registry.example.com/app:v1", "registry.example.com/app:v?")]
#[case::wildcard_registry_label("eu.registry.example.com/app:1", "*.registry.example.com/*")]
#[case::exact_name("busybox", "busybox")]
fn exempt_images_are_accepted_with_a_warning_naming_the_pattern(
    #[case] image: &str,
    #[case] pattern: &str,
) {
    let settings = exempting(&["unrelated.example.org/*", pattern]);
    let warnings = acceptance_warnings(judge(
        &create("Deployment", pod_spec_with("containers", "app", image)),
        &settings,
    ));
    assert_eq!(
        warnings,
        [format!(
            "Deployment web: container \"app\" (spec.template.spec.containers[0]) image {image:?} is exempt by pattern {pattern:?}"
        )]
    );
}

#[rstest]
#[case::registry_prefix_bypass("registry.example.com.evil.io/x:1", "registry.example.com/*")]
#[case::registry_star_cannot_cross_into_the_path(
    "evil.io/a.registry.example.com/x:1",
    "*.registry.example.com/*"
)]
#[case::bare_star_stays_in_the_first_segment("nginx.evil.io/x:1", "nginx*")]
#[case::question_mark_is_not_a_slash("registry.example.com/ab:1", "registry.example.com?ab:1")]
#[case::other_tag("nginx:1.28", "docker.io/library/nginx:1.27")]
#[case::unparseable_image_is_never_exempt(
    "registry.example.com/Team/app:1",
    "registry.example.com/*"
)]
fn exemptions_cannot_be_stretched(#[case] image: &str, #[case] pattern: &str) {
    let settings = exempting(&[pattern]);
    let message = rejection(judge(
        &create("Pod", pod_spec_with("containers", "app", image)),
        &settings,
    ));
    assert!(
        message.starts_with(&format!(
            "Pod web: container \"app\" (spec.containers[0]) image {image:?} is "
        )),
        "{message}"
    );
}

#[rstest]
#[case::digest_only(&pinned("nginx"), Some(r#"image "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" has no tag (requireTag: write it as name:tag@digest)"#))]
#[case::tag_and_digest(&pinned("nginx:1.27"), None)]
#[case::unpinned_without_tag_is_first_of_all_unpinned(
    "nginx",
    Some(r#"image "nginx" is not pinned by a digest"#)
)]
fn require_tag(#[case] image: &str, #[case] violation: Option<&str>) {
    let settings = Settings {
        require_tag: true,
        ..Settings::default()
    };
    let verdict = judge(
        &create("Pod", pod_spec_with("containers", "app", image)),
        &settings,
    );
    match violation {
        Some(violation) => assert_eq!(
            rejection(verdict),
            format!("Pod web: container \"app\" (spec.containers[0]) {violation}")
        ),
        None => assert!(acceptance_warnings(verdict).is_empty()),
    }
}

fn update(kind: &str, new_spec: Value, old_spec: Value) -> Value {
    request(
        kind,
        "UPDATE",
        workload(kind, new_spec),
        workload(kind, old_spec),
    )
}

fn allowing_existing() -> Settings {
    Settings {
        allow_existing_violations: true,
        ..Settings::default()
    }
}

#[test]
fn allow_existing_violations_tolerates_an_unchanged_image_with_a_warning() {
    let old = json!({"containers": [{"name": "app", "image": "nginx:1.27"}], "volumes": [{"name": "m", "image": {"reference": "models:v1"}}]});
    let new = json!({"containers": [{"name": "app", "image": "nginx:1.27", "env": [{"name": "X", "value": "edited"}]}], "volumes": [{"name": "m", "image": {"reference": "models:v1"}}]});
    let warnings =
        acceptance_warnings(judge(&update("Deployment", new, old), &allowing_existing()));
    assert_eq!(
        warnings,
        [
            r#"Deployment web: container "app" (spec.template.spec.containers[0]) image "nginx:1.27" is not pinned by a digest; tolerated: the old object has the same image (allowExistingViolations)"#,
            r#"Deployment web: image volume "m" (spec.template.spec.volumes[0]) image "models:v1" is not pinned by a digest; tolerated: the old object has the same image (allowExistingViolations)"#,
        ]
    );
}

/// A container of the old object without an image tolerates nothing, but does not make the rest of the old object
/// unreadable (found by fuzz/: admission_request, whose oracle read it the other way).
#[rstest]
#[case::missing_image(json!({"name": "broken"}))]
#[case::null_image(json!({"name": "broken", "image": null}))]
#[case::empty_image(json!({"name": "broken", "image": ""}))]
fn allow_existing_violations_reads_past_an_old_container_without_an_image(
    #[case] imageless: Value,
) {
    let old = json!({"containers": [imageless], "initContainers": [{"name": "sidecar", "image": "nginx"}]});
    let new = json!({"containers": [], "initContainers": [{"name": "sidecar", "image": "nginx"}]});
    let warnings = acceptance_warnings(judge(
        &update("StatefulSet", new, old),
        &allowing_existing(),
    ));
    assert_eq!(
        warnings,
        [
            r#"StatefulSet web: init container "sidecar" (spec.template.spec.initContainers[0]) image "nginx" is not pinned by a digest; tolerated: the old object has the same image (allowExistingViolations)"#
        ]
    );
}

/// Each case differs from an old object in one respect only, the one it names. The old object tolerates its own image
/// in its own container (the first judgement below), so the rejection that follows can only come from that difference:
/// an old object the rule could not read, which tolerates nothing, would fail the first judgement instead of passing
/// the case by accident.
#[rstest]
#[case::changed_image(json!({"containers": [{"name": "app", "image": "nginx:1.26"}]}))]
#[case::other_container_name(json!({"containers": [{"name": "web", "image": "nginx:1.27"}]}))]
#[case::other_container_list(json!({"initContainers": [{"name": "app", "image": "nginx:1.27"}]}))]
#[case::other_container_list_ephemeral(json!({"ephemeralContainers": [{"name": "app", "image": "nginx:1.27"}]}))]
fn allow_existing_violations_tolerates_only_the_same_image_in_the_same_container(
    #[case] old: Value,
) {
    let itself = acceptance_warnings(judge(
        &update("Pod", old.clone(), old.clone()),
        &allowing_existing(),
    ));
    assert_eq!(
        itself.len(),
        1,
        "the old object tolerates itself: {itself:?}"
    );
    assert!(
        itself[0].ends_with("(allowExistingViolations)"),
        "{itself:?}"
    );

    let new = json!({"containers": [{"name": "app", "image": "nginx:1.27"}]});
    let message = rejection(judge(&update("Pod", new, old), &allowing_existing()));
    assert_eq!(
        message,
        r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" is not pinned by a digest"#
    );
}

/// Without a name there is no telling which old container a new one is, so nothing is tolerated, not even the very
/// same object: the named twin of the same object is tolerated, so only the missing name can make the difference.
#[test]
fn allow_existing_violations_never_tolerates_an_unnamed_container() {
    let named = json!({"containers": [{"name": "app", "image": "nginx:1.27"}]});
    acceptance_warnings(judge(
        &update("Pod", named.clone(), named),
        &allowing_existing(),
    ));
    let unnamed = json!({"containers": [{"image": "nginx:1.27"}]});
    let message = rejection(judge(
        &update("Pod", unnamed.clone(), unnamed),
        &allowing_existing(),
    ));
    assert!(
        message.ends_with(r#"image "nginx:1.27" is not pinned by a digest"#),
        "{message}"
    );
}

#[test]
fn allow_existing_violations_only_applies_to_updates_with_the_setting() {
    let spec = json!({"containers": [{"name": "app", "image": "nginx:1.27"}]});
    // Without the setting.
    rejection(judge(
        &update("Pod", spec.clone(), spec.clone()),
        &Settings::default(),
    ));
    // On CREATE, even with an oldObject present.
    let create = request(
        "Pod",
        "CREATE",
        workload("Pod", spec.clone()),
        workload("Pod", spec.clone()),
    );
    rejection(judge(&create, &allowing_existing()));
    // With an oldObject that cannot be read, nothing is tolerated.
    let unreadable = request(
        "Pod",
        "UPDATE",
        workload("Pod", spec.clone()),
        json!({"spec": {"containers": "nope"}}),
    );
    rejection(judge(&unreadable, &allowing_existing()));
    // A new violation next to a tolerated one still rejects, listing only the new one.
    let new = json!({"containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "new", "image": "redis"}]});
    let verdict = judge(&update("Pod", new, spec), &allowing_existing());
    let Verdict::Reject { message, warnings } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(
        message,
        r#"Pod web: container "new" (spec.containers[1]) image "redis" is not pinned by a digest"#
    );
    assert_eq!(warnings.len(), 1);
}

fn with_sub_resource(mut request: Value, sub_resource: &str) -> Value {
    request["resource"] = json!({"group": "", "version": "v1", "resource": "pods"});
    request["subResource"] = json!(sub_resource);
    request
}

#[test]
fn kubectl_debug_is_checked_like_a_pod() {
    let old = json!({"containers": [{"name": "app", "image": pinned("nginx:1.27")}]});
    let new = json!({
        "containers": [{"name": "app", "image": pinned("nginx:1.27")}],
        "ephemeralContainers": [{"name": "debugger-x7k2p", "image": "busybox", "targetContainerName": "app"}],
    });
    let request = with_sub_resource(update("Pod", new, old.clone()), "ephemeralcontainers");
    assert_eq!(
        rejection(judge(&request, &Settings::default())),
        r#"Pod web: ephemeral container "debugger-x7k2p" (spec.ephemeralContainers[0]) image "busybox" is not pinned by a digest"#
    );
    let pinned_debugger = json!({
        "containers": [{"name": "app", "image": pinned("nginx:1.27")}],
        "ephemeralContainers": [{"name": "debugger-x7k2p", "image": pinned("busybox:1.36")}],
    });
    let request = with_sub_resource(update("Pod", pinned_debugger, old), "ephemeralcontainers");
    assert!(acceptance_warnings(judge(&request, &Settings::default())).is_empty());
}

#[rstest]
#[case::status("status")]
#[case::binding("binding")]
#[case::resize("resize")]
fn subresources_that_cannot_change_images_are_accepted(#[case] sub_resource: &str) {
    let spec = json!({"containers": [{"name": "app", "image": "nginx"}]});
    let request = with_sub_resource(update("Pod", spec.clone(), spec), sub_resource);
    assert!(acceptance_warnings(judge(&request, &Settings::default())).is_empty());
}

#[rstest]
#[case::delete("DELETE")]
#[case::connect("CONNECT")]
fn deletions_and_connections_are_accepted(#[case] operation: &str) {
    let old = workload(
        "Pod",
        json!({"containers": [{"name": "app", "image": "nginx"}]}),
    );
    assert!(
        acceptance_warnings(judge(
            &request("Pod", operation, Value::Null, old),
            &Settings::default()
        ))
        .is_empty()
    );
}

#[rstest]
#[case::patch(
    "PATCH",
    r#"operation "PATCH" is unknown to this policy, which rejects what it cannot judge"#
)]
#[case::lowercase(
    "create",
    r#"operation "create" is unknown to this policy, which rejects what it cannot judge"#
)]
#[case::empty(
    "",
    r#"operation "" is unknown to this policy, which rejects what it cannot judge"#
)]
fn unknown_operations_are_rejected(#[case] operation: &str, #[case] message: &str) {
    let object = workload(
        "Pod",
        json!({"containers": [{"name": "app", "image": pinned("nginx")}]}),
    );
    assert_eq!(
        rejection(judge(
            &request("Pod", operation, object, Value::Null),
            &Settings::default()
        )),
        message
    );
}

#[rstest]
#[case::config_map("ConfigMap")]
#[case::service("Service")]
#[case::custom_resource("Workflow")]
#[case::lowercase_pod_is_not_a_pod("pod")]
fn other_kinds_are_accepted(#[case] kind: &str) {
    let object = json!({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
    assert!(
        acceptance_warnings(judge(
            &request(kind, "CREATE", object, Value::Null),
            &Settings::default()
        ))
        .is_empty()
    );
}

#[rstest]
#[case::request_not_an_object(json!("CREATE"), "request must be an object, found a string")]
#[case::missing_operation(json!({"kind": {"kind": "Pod"}, "object": {}}), "request.operation is missing")]
#[case::operation_not_a_string(json!({"operation": 1, "kind": {"kind": "Pod"}, "object": {}}), "request.operation must be a string, found a number")]
#[case::missing_kind(json!({"operation": "CREATE", "object": {}}), "request.kind must be an object with a kind")]
#[case::kind_not_an_object(json!({"operation": "CREATE", "kind": "Pod", "object": {}}), "request.kind must be an object with a kind")]
#[case::kind_kind_not_a_string(json!({"operation": "CREATE", "kind": {"kind": ["Pod"]}, "object": {}}), "request.kind.kind must be a string, found a list")]
#[case::sub_resource_not_a_string(json!({"operation": "UPDATE", "kind": {"kind": "Pod"}, "subResource": 3, "object": {}}), "request.subResource must be a string, found a number")]
#[case::missing_object(json!({"operation": "CREATE", "kind": {"kind": "Pod"}}), "request.object is missing")]
#[case::object_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": "spec: {}"}), "request.object must be an object, found a string")]
#[case::spec_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": []}}), "object spec must be an object, found a list")]
#[case::template_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "Deployment"}, "object": {"spec": {"template": 7}}}), "object spec.template must be an object, found a number")]
#[case::containers_not_a_list(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"containers": {"name": "app"}}}}), "object spec.containers must be a list, found an object")]
#[case::container_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"initContainers": ["nginx"]}}}), "object spec.initContainers[0] must be an object, found a string")]
#[case::image_not_a_string(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"containers": [{"name": "a", "image": ["nginx"]}]}}}), "object spec.containers[0].image must be a string, found a list")]
#[case::name_not_a_string(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"containers": [{"name": true, "image": "nginx"}]}}}), "object spec.containers[0].name must be a string, found a boolean")]
#[case::volumes_not_a_list(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"volumes": "data"}}}), "object spec.volumes must be a list, found a string")]
#[case::volume_image_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"volumes": [{"name": "d", "image": "nginx"}]}}}), "object spec.volumes[0].image must be an object, found a string")]
#[case::volume_reference_not_a_string(json!({"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {"volumes": [{"name": "d", "image": {"reference": 5}}]}}}), "object spec.volumes[0].image.reference must be a string, found a number")]
#[case::cronjob_job_template_not_an_object(json!({"operation": "CREATE", "kind": {"kind": "CronJob"}, "object": {"spec": {"jobTemplate": true}}}), "object spec.jobTemplate must be an object, found a boolean")]
fn malformed_requests_are_rejected_saying_what_is_malformed(
    #[case] request: Value,
    #[case] what: &str,
) {
    assert_eq!(
        rejection(judge(&request, &Settings::default())),
        format!("malformed admission request: {what}")
    );
}

/// A table of digests that also counts how often each image was asked for.
struct CountingTable {
    table: TableResolver,
    asked: RefCell<Vec<String>>,
}

impl CountingTable {
    fn new(digests: &[(&str, &str)]) -> CountingTable {
        let digests: HashMap<String, String> = digests
            .iter()
            .map(|(i, d)| (i.to_string(), d.to_string()))
            .collect();
        CountingTable {
            table: TableResolver::new(digests),
            asked: RefCell::new(Vec::new()),
        }
    }
}

impl DigestResolver for CountingTable {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.asked.borrow_mut().push(image.to_string());
        self.table.manifest_digest(image)
    }
}

fn resolving() -> Settings {
    Settings {
        resolve_tags: true,
        ..Settings::default()
    }
}

#[test]
fn resolve_tags_pins_every_unpinned_image_keeping_the_tag() {
    let nginx_digest = format!("sha256:{}", hex(64));
    let models_digest = format!("sha512:{}", "f".repeat(128));
    let resolver = CountingTable::new(&[
        ("nginx:1.27", &nginx_digest),
        ("registry.example.com/models:v3", &models_digest),
    ]);
    let already_pinned = pinned("envoyproxy/envoy:v1.30");
    let pod_spec = json!({
        "containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "proxy", "image": already_pinned}],
        "initContainers": [{"name": "setup", "image": "nginx:1.27"}],
        "volumes": [{"name": "models", "image": {"reference": "registry.example.com/models:v3"}}],
    });
    let request = create("Deployment", pod_spec);
    let Verdict::Mutate { object, warnings } = validate_request(&request, &resolving(), &resolver)
    else {
        panic!()
    };
    assert!(warnings.is_empty());
    let mut expected = request["object"].clone();
    let spec = &mut expected["spec"]["template"]["spec"];
    spec["containers"][0]["image"] = json!(format!("nginx:1.27@{nginx_digest}"));
    spec["initContainers"][0]["image"] = json!(format!("nginx:1.27@{nginx_digest}"));
    spec["volumes"][0]["image"]["reference"] =
        json!(format!("registry.example.com/models:v3@{models_digest}"));
    assert_eq!(object, expected);
    // The image two containers share is asked for once; the pinned one not at all.
    assert_eq!(
        *resolver.asked.borrow(),
        ["nginx:1.27", "registry.example.com/models:v3"]
    );
}

#[test]
fn resolve_tags_with_nothing_to_resolve_accepts_without_mutation() {
    let request = create(
        "Pod",
        pod_spec_with("containers", "app", &pinned("nginx:1.27")),
    );
    assert!(
        acceptance_warnings(validate_request(
            &request,
            &resolving(),
            &CountingTable::new(&[])
        ))
        .is_empty()
    );
}

#[rstest]
#[case::resolution_fails(
    &[],
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" could not be resolved to a digest: no digest is known for "nginx:1.27""#
)]
#[case::host_answers_uppercase_hex(
    &[("nginx:1.27", "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")],
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" was resolved to an unacceptable digest "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef": sha256 digest must be 64 lowercase hex characters, found uppercase 'A'"#
)]
#[case::host_answers_short_digest(
    &[("nginx:1.27", "sha256:abc")],
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" was resolved to an unacceptable digest "sha256:abc": sha256 digest must be 64 lowercase hex characters, found 3"#
)]
#[case::host_answers_a_disallowed_algorithm(
    &[("nginx:1.27", "md5:0123456789abcdef0123456789abcdef")],
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" was resolved to an unacceptable digest "md5:0123456789abcdef0123456789abcdef": digest algorithm md5 is not allowed (allowed: sha256, sha512)"#
)]
#[case::host_answers_nothing_useful(
    &[("nginx:1.27", "")],
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" was resolved to an unacceptable digest "": digest must be written as algorithm:hex"#
)]
fn resolve_tags_fails_closed(#[case] table: &[(&str, &str)], #[case] message: &str) {
    let request = create("Pod", pod_spec_with("containers", "app", "nginx:1.27"));
    assert_eq!(
        rejection(validate_request(
            &request,
            &resolving(),
            &CountingTable::new(table)
        )),
        message
    );
}

#[test]
fn resolve_tags_still_judges_pinned_exempt_and_tolerated_images() {
    let digest = format!("sha256:{}", hex(64));
    let resolver = CountingTable::new(&[("nginx", &digest), ("redis:7", &digest)]);
    // A badly pinned image is rejected, not re-resolved.
    let bad = create(
        "Pod",
        pod_spec_with("containers", "app", &format!("nginx@sha256:{}", hex(60))),
    );
    assert!(rejection(validate_request(&bad, &resolving(), &resolver)).ends_with("found 60"));
    // requireTag: `nginx` would become `nginx@sha256:…`, still without a tag.
    let settings = Settings {
        require_tag: true,
        ..resolving()
    };
    let untagged = create("Pod", pod_spec_with("containers", "app", "nginx"));
    assert!(
        rejection(validate_request(&untagged, &settings, &resolver))
            .ends_with("has no tag (requireTag: write it as name:tag@digest)")
    );
    // Exempt images are not resolved.
    let settings = Settings {
        exempt_images: vec!["docker.io/library/*".into()],
        ..resolving()
    };
    let exempt = create("Pod", pod_spec_with("containers", "app", "nginx"));
    assert_eq!(
        acceptance_warnings(validate_request(&exempt, &settings, &resolver)).len(),
        1
    );
    // Tolerated images are left as they are; new ones are pinned.
    let settings = Settings {
        allow_existing_violations: true,
        ..resolving()
    };
    let old = json!({"containers": [{"name": "app", "image": "nginx"}]});
    let new = json!({"containers": [{"name": "app", "image": "nginx"}, {"name": "cache", "image": "redis:7"}]});
    let Verdict::Mutate { object, warnings } =
        validate_request(&update("Pod", new, old), &settings, &resolver)
    else {
        panic!()
    };
    assert_eq!(object["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(
        object["spec"]["containers"][1]["image"],
        format!("redis:7@{digest}")
    );
    assert_eq!(warnings.len(), 1);
    assert!(
        !resolver.asked.borrow().contains(&"nginx".to_string()),
        "{:?}",
        resolver.asked.borrow()
    );
}

/// A host whose errors span several lines.
struct MultiLineErrors;

impl DigestResolver for MultiLineErrors {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Err("manifest unknown\nPod web: accepted\r".to_string())
    }
}

#[test]
fn a_host_error_cannot_add_lines_to_the_rejection() {
    let request = create("Pod", pod_spec_with("containers", "app", "nginx:1.27"));
    assert_eq!(
        rejection(validate_request(&request, &resolving(), &MultiLineErrors)),
        r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27" could not be resolved to a digest: manifest unknown\nPod web: accepted\r"#
    );
}

/// The response `entry::validate` writes (absent fields left out) is, to any host that reads it, the SDK's own
/// serialization of the same verdict: an acceptance, one with a warning, a rejection and a mutation.
#[rstest]
#[case::accepted(pinned("nginx"), json!({}), "accept", "{\"accepted\":true}")]
#[case::accepted_with_a_warning("nginx:1.27".to_string(), json!({"exemptImages": ["docker.io/library/nginx:*"]}), "warn", "")]
#[case::rejected("nginx:1.27".to_string(), json!({}), "reject", "")]
#[case::mutated("nginx:1.27".to_string(), json!({"resolveTags": true}), "mutate", "")]
fn responses_read_as_the_sdk_s_own(
    #[case] image: String,
    #[case] settings: Value,
    #[case] verdict: &str,
    #[case] exact: &str,
) {
    use kubewarden_policy_sdk::response::ValidationResponse;
    let payload = json!({"request": create("Pod", pod_spec_with("containers", "app", &image)), "settings": settings})
        .to_string();
    let resolver = TableResolver::new(HashMap::from([(
        "nginx:1.27".to_string(),
        format!("sha256:{}", hex(64)),
    )]));
    let written = require_digest::entry::validate(payload.as_bytes(), &resolver);
    let judged = require_digest::entry::verdict(payload.as_bytes(), &resolver);
    let kind = match &judged {
        Verdict::Accept { warnings } if warnings.is_empty() => "accept",
        Verdict::Accept { .. } => "warn",
        Verdict::Reject { .. } => "reject",
        Verdict::Mutate { .. } => "mutate",
    };
    assert_eq!(kind, verdict, "{judged:?}");
    let (accepted, message, mutated_object, warnings) = match judged {
        Verdict::Accept { warnings } => (true, None, None, warnings),
        Verdict::Mutate { object, warnings } => (true, None, Some(object), warnings),
        Verdict::Reject { message, warnings } => (false, Some(message), None, warnings),
    };
    let sdk = serde_json::to_vec(&ValidationResponse {
        accepted,
        message,
        code: None,
        mutated_object,
        audit_annotations: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
    })
    .unwrap();
    let read = |bytes: &[u8]| {
        let response: ValidationResponse = serde_json::from_slice(bytes).unwrap();
        serde_json::to_value(response).unwrap()
    };
    assert_eq!(read(&written), read(&sdk));
    if !exact.is_empty() {
        assert_eq!(String::from_utf8(written).unwrap(), exact);
    }
}

/// tagDigestMismatch: a `name:tag@digest` image's tag is asked for (without the digest), and a tag that points
/// elsewhere, or cannot be resolved, is a warning (warn) or a violation (reject). What is asked is asserted too: an
/// image with no tag, an exempt image and the default (ignore) ask nothing.
#[rstest]
#[case::ignore_asks_nothing("ignore", "nginx:1.27@PINNED", &[("nginx:1.27", "MOVED")], "accept", "", &[])]
#[case::warn_tag_unchanged("warn", "nginx:1.27@PINNED", &[("nginx:1.27", "PINNED")], "accept", "", &["nginx:1.27"])]
#[case::reject_tag_unchanged("reject", "nginx:1.27@PINNED", &[("nginx:1.27", "PINNED")], "accept", "", &["nginx:1.27"])]
#[case::warn_tag_moved(
    "warn", "nginx:1.27@PINNED", &[("nginx:1.27", "MOVED")], "warn",
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27@PINNED" is stale: tag 1.27 points to MOVED, the image pins PINNED"#,
    &["nginx:1.27"]
)]
#[case::reject_tag_moved(
    "reject", "nginx:1.27@PINNED", &[("nginx:1.27", "MOVED")], "reject",
    r#"Pod web: container "app" (spec.containers[0]) image "nginx:1.27@PINNED" is stale: tag 1.27 points to MOVED, the image pins PINNED"#,
    &["nginx:1.27"]
)]
#[case::warn_tag_unresolvable(
    "warn", "registry.example.com/app:4.8.1@PINNED", &[], "warn",
    r#"Pod web: container "app" (spec.containers[0]) image "registry.example.com/app:4.8.1@PINNED" is pinned, but its tag 4.8.1 could not be resolved: no digest is known for "registry.example.com/app:4.8.1""#,
    &["registry.example.com/app:4.8.1"]
)]
#[case::reject_tag_unresolvable(
    "reject", "registry.example.com/app:4.8.1@PINNED", &[], "reject",
    r#"Pod web: container "app" (spec.containers[0]) image "registry.example.com/app:4.8.1@PINNED" is pinned, but its tag 4.8.1 could not be resolved: no digest is known for "registry.example.com/app:4.8.1""#,
    &["registry.example.com/app:4.8.1"]
)]
#[case::digest_only_has_no_tag_to_ask("reject", "nginx@PINNED", &[("nginx", "MOVED")], "accept", "", &[])]
#[case::exempt_images_are_not_asked("reject", "busybox:1.36@PINNED", &[], "exempt", "", &[])]
fn tag_digest_mismatch(
    #[case] mode: &str,
    #[case] image: &str,
    #[case] table: &[(&str, &str)],
    #[case] verdict: &str,
    #[case] line: &str,
    #[case] asked: &[&str],
) {
    let pinned_digest = format!("sha256:{}", hex(64));
    let moved_digest = format!("sha256:{}", "e".repeat(64));
    let spell = |text: &str| {
        text.replace("PINNED", &pinned_digest)
            .replace("MOVED", &moved_digest)
    };
    let table: Vec<(String, String)> = table
        .iter()
        .map(|(image, digest)| (image.to_string(), spell(digest)))
        .collect();
    let table: Vec<(&str, &str)> = table
        .iter()
        .map(|(i, d)| (i.as_str(), d.as_str()))
        .collect();
    let resolver = CountingTable::new(&table);
    let settings = Settings::from_json(
        &json!({"tagDigestMismatch": mode, "exemptImages": ["docker.io/library/busybox:*"]}),
    )
    .unwrap();
    let request = create("Pod", pod_spec_with("containers", "app", &spell(image)));
    let judged = validate_request(&request, &settings, &resolver);
    let line = spell(line);
    match verdict {
        "accept" => assert_eq!(acceptance_warnings(judged), Vec::<String>::new()),
        "warn" => assert_eq!(acceptance_warnings(judged), [line]),
        "exempt" => assert!(acceptance_warnings(judged)[0].contains("is exempt by pattern")),
        _ => assert_eq!(rejection(judged), line),
    }
    assert_eq!(*resolver.asked.borrow(), asked);
}

#[test]
fn tag_digest_mismatch_reject_tolerates_what_the_old_object_had() {
    let pinned_image = pinned("nginx:1.27");
    let resolver = CountingTable::new(&[("nginx:1.27", &format!("sha256:{}", "e".repeat(64)))]);
    let settings = Settings::from_json(
        &json!({"tagDigestMismatch": "reject", "allowExistingViolations": true}),
    )
    .unwrap();
    let spec = json!({"containers": [{"name": "app", "image": pinned_image}]});
    let warnings = acceptance_warnings(validate_request(
        &update("Pod", spec.clone(), spec),
        &settings,
        &resolver,
    ));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].ends_with("the image pins sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; tolerated: the old object has the same image (allowExistingViolations)"),
        "{warnings:?}"
    );
}
