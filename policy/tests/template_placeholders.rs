//! Images that are unrendered template placeholders: rejected like any invalid reference, with a message that says
//! what to do (render the template) instead of the grammar's complaint about a `$` or a `{`.

use require_digest::resolver::TableResolver;
use require_digest::settings::Settings;
use require_digest::validation::{Verdict, template_placeholder, validate_request};
use rstest::rstest;
use serde_json::json;

fn verdict_for(image: &str) -> Verdict {
    let request = json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "name": "web",
        "namespace": "default",
        "object": {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app", "image": image}]}},
        "userInfo": {"username": "alice"},
    });
    validate_request(&request, &Settings::default(), &TableResolver::default())
}

#[rstest]
#[case::envsubst_whole_image("${IMAGE}", "${IMAGE}")]
#[case::envsubst_inside_a_reference("${REGISTRY}/app:${TAG}", "${REGISTRY}")]
#[case::shell_variable("$IMAGE_URL", "$IMAGE_URL")]
#[case::shell_variable_with_a_tag("registry.example.com/app:$TAG", "$TAG")]
#[case::helm_expression("{{ .Values.image }}", "{{ .Values.image }}")]
#[case::angle_bracket_placeholder("<PROJECT_ID>/app", "<PROJECT_ID>")]
fn an_unrendered_image_is_rejected_and_told_to_render(
    #[case] image: &str,
    #[case] placeholder: &str,
) {
    assert_eq!(template_placeholder(image), Some(placeholder));
    let Verdict::Reject { message, .. } = verdict_for(image) else {
        panic!("{image} must be rejected");
    };
    assert!(
        message.contains(&format!(
            "looks unrendered (it holds the placeholder `{placeholder}`)"
        )) && message.contains("render the template first"),
        "{message}"
    );
}

#[rstest]
#[case::plain_tag("nginx:1.27")]
#[case::invalid_but_no_placeholder("Nginx:1.27")]
#[case::dollar_not_followed_by_a_name("nginx:$1")]
#[case::unclosed_brace("nginx:${TAG")]
fn no_placeholder_no_render_advice(#[case] image: &str) {
    assert_eq!(template_placeholder(image), None);
    if let Verdict::Reject { message, .. } = verdict_for(image) {
        assert!(!message.contains("render the template"), "{message}");
    }
}
