//! The pruned payload reader (`payload::read` with `payload::PAYLOAD`) against the whole parse it replaced: the same
//! errors for malformed input (but for the faults in dropped fields it does not look for), and the same verdict for
//! every request.

use std::collections::HashMap;
use std::path::PathBuf;

use proptest::prelude::*;
use require_digest::entry;
use require_digest::payload::{self, PAYLOAD, Shape};
use require_digest::resolver::TableResolver;
use require_digest::settings::Settings;
use require_digest::validation::{Verdict, validate_request};
use rstest::rstest;
use serde_json::{Value, json};

/// The verdict the policy gave before pruning: the whole payload parsed into a `Value`, then the rule.
fn whole_verdict(payload: &[u8], resolver: &TableResolver) -> Verdict {
    let mut whole: Value = match serde_json::from_slice(payload) {
        Ok(value) => value,
        Err(error) => return Verdict::reject(format!("malformed validation payload: {error}")),
    };
    if !whole.is_object() {
        return entry::verdict(payload, resolver);
    }
    let settings = match Settings::from_json(whole.get("settings").unwrap_or(&Value::Null)) {
        Ok(settings) => settings,
        Err(error) => return Verdict::reject(format!("invalid settings: {error}")),
    };
    match whole.get_mut("request").map(Value::take) {
        None | Some(Value::Null) => {
            Verdict::reject("malformed admission request: request is missing")
        }
        Some(request) => validate_request(&request, &settings, resolver),
    }
}

/// Both readers agree on `json`: the same value when the shape keeps everything, the same error otherwise. (The same
/// error, not always the same column: in a skipped string serde_json reports a control character one column later.)
fn assert_same_outcome(json: &[u8]) {
    let without_position = |error: serde_json::Error| {
        let message = error.to_string();
        match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        }
    };
    let whole = serde_json::from_slice::<Value>(json).map_err(without_position);
    let pruned = payload::read(json, PAYLOAD).map_err(without_position);
    assert_eq!(
        whole.as_ref().err(),
        pruned.as_ref().err(),
        "input: {:?}",
        String::from_utf8_lossy(json)
    );
    assert_eq!(
        payload::read(json, Shape::Whole).map_err(without_position),
        whole,
        "Shape::Whole is a whole parse"
    );
}

#[rstest]
#[case::invalid_utf8_in_a_dropped_string(b"{\"request\": {\"junk\": \"\xff\xfe\"}}".to_vec())]
#[case::invalid_utf8_in_a_dropped_key(b"{\"request\": {\"\xc3\x28\": 1}}".to_vec())]
#[case::bad_escape_in_a_dropped_string(br#"{"request": {"junk": "\q"}}"#.to_vec())]
#[case::control_character_in_a_dropped_string(b"{\"request\": {\"junk\": \"a\x01b\"}}".to_vec())]
#[case::trailing_characters(br#"{"request": {}} x"#.to_vec())]
#[case::truncated(br#"{"request": {"object": {"spec": {"containers": [{"image": "a""#.to_vec())]
#[case::missing_colon_in_a_dropped_object(br#"{"request": {"userInfo": {"username" "x"}}}"#.to_vec())]
#[case::trailing_comma(br#"{"request": {"operation": "CREATE",}}"#.to_vec())]
#[case::not_json_at_all(b"\x00\x01\x02".to_vec())]
#[case::empty(Vec::new())]
fn malformed_payloads_fail_with_the_whole_parse_error(#[case] json: Vec<u8>) {
    assert!(serde_json::from_slice::<Value>(&json).is_err());
    assert_same_outcome(&json);
}

const PINNED_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const PINNED: &str =
    "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What the pruned read does not look for in a field it drops (see payload.rs): the verdict is the one on the payload
/// without that field, and a mutation, which needs the object whole, is refused naming the fault.
#[rstest]
#[case::lone_surrogate_in_a_dropped_string(r#""\ud800""#, "hex escape")]
// Found by fuzz/ (validate_bytes): a key in a dropped object is skipped as its values are.
#[case::lone_surrogate_in_a_dropped_key(r#"{"\udcc5e": "report"}"#, "surrogate")]
#[case::number_out_of_range_in_a_dropped_field("1e400", "number out of range")]
#[case::dropped_nesting_past_the_depth_limit(&format!("{}1{}", "[".repeat(200), "]".repeat(200)), "recursion limit exceeded")]
fn faults_in_dropped_fields_do_not_change_the_verdict(
    #[case] junk: &str,
    #[case] whole_error: &str,
) {
    let pod = |image: &str, junk: Option<&str>| {
        let junk = junk.map_or(String::new(), |junk| format!(r#""junk": {junk}, "#));
        format!(
            r#"{{"settings": {{"resolveTags": true}}, "request": {{{junk}"operation": "CREATE", "kind": {{"kind": "Pod"}},
            "object": {{"spec": {{"containers": [{{"name": "app", "image": "{image}"}}]}}}}}}}}"#
        )
    };
    let whole = serde_json::from_slice::<Value>(pod(PINNED, Some(junk)).as_bytes()).unwrap_err();
    assert!(whole.to_string().contains(whole_error), "{whole}");

    let resolver = TableResolver::default();
    for image in [PINNED, "nginx:1.27"] {
        let expected = entry::verdict(pod(image, None).as_bytes(), &resolver);
        assert_eq!(
            entry::verdict(pod(image, Some(junk)).as_bytes(), &resolver),
            expected
        );
    }
    // resolveTags with a resolvable tag: the mutation needs the whole object, which cannot be read.
    let resolver = TableResolver::new(HashMap::from([(
        "nginx:1.27".to_string(),
        PINNED_DIGEST.to_string(),
    )]));
    assert!(matches!(
        entry::verdict(pod("nginx:1.27", None).as_bytes(), &resolver),
        Verdict::Mutate { .. }
    ));
    match entry::verdict(pod("nginx:1.27", Some(junk)).as_bytes(), &resolver) {
        Verdict::Reject { message, .. } => assert!(message.contains(whole_error), "{message}"),
        other => panic!("a mutation of an object that cannot be read whole: {other:?}"),
    }
}

#[test]
fn only_the_fields_the_rule_reads_are_kept_each_whole_with_its_type() {
    let payload = json!({
        "settings": {"exemptImages": ["a/*"]},
        "junk": [1, 2, 3],
        "request": {
            "uid": "1", "operation": "CREATE", "kind": {"kind": "Deployment", "group": "apps"}, "name": "web",
            "userInfo": {"username": "me"},
            "object": {
                "metadata": {"name": "web", "labels": {"a": "b"}},
                "spec": {"replicas": 2, "template": {"metadata": {}, "spec": {
                    "containers": [{"name": "app", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}, "not an object"],
                    "initContainers": {"not": "a list"},
                    "volumes": [{"name": "v", "image": {"reference": "r", "pullPolicy": "Always"}, "emptyDir": {}}],
                    "nodeSelector": {"a": "b"}
                }}}
            },
            "oldObject": null
        }
    });
    let pruned = payload::read(payload.to_string().as_bytes(), PAYLOAD).unwrap();
    assert_eq!(
        pruned,
        json!({
            "settings": {"exemptImages": ["a/*"]},
            "request": {
                "operation": "CREATE", "kind": {"kind": "Deployment"}, "name": "web",
                "object": {
                    "metadata": {"name": "web"},
                    "spec": {"template": {"spec": {
                        "containers": [{"name": "app", "image": "nginx"}, "not an object"],
                        "initContainers": {"not": "a list"},
                        "volumes": [{"name": "v", "image": {"reference": "r", "pullPolicy": "Always"}}]
                    }}}
                },
                "oldObject": null
            }
        })
    );
}

#[test]
fn duplicate_keys_keep_the_last_value_as_a_whole_parse_does() {
    let json = br#"{"request": {"object": {"spec": {"containers": [{"image": "a:1@sha256:x", "image": "b:2"}]},
        "spec": {"containers": [{"name": "c", "image": "d:3", "junk": 1, "image": "e:4"}]}}}}"#;
    let pruned = payload::read(json, PAYLOAD).unwrap();
    assert_eq!(
        pruned["request"]["object"]["spec"]["containers"],
        json!([{"name": "c", "image": "e:4"}])
    );
    assert_same_outcome(json);
}

/// Every request file of the fixtures and of bench/requests, with every settings the fixtures use.
fn fixture_payloads() -> Vec<(String, Vec<u8>, TableResolver)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/fixtures/requests/expected.json")).unwrap(),
    )
    .unwrap();
    let mut settings_used = vec![json!({})];
    let mut digests = HashMap::new();
    for case in expected["cases"].as_array().unwrap() {
        if !settings_used.contains(&case["settings"]) {
            settings_used.push(case["settings"].clone());
        }
        for (image, digest) in case["digests"].as_object().into_iter().flatten() {
            digests.insert(image.clone(), digest.as_str().unwrap().to_owned());
        }
    }
    let mut payloads = Vec::new();
    for dir in ["tests/fixtures/requests", "bench/requests"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == "expected.json" {
                continue;
            }
            let request: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for settings in &settings_used {
                let payload = json!({"request": request, "settings": settings});
                payloads.push((
                    format!("{} with {settings}", path.display()),
                    payload.to_string().into_bytes(),
                    TableResolver::new(digests.clone()),
                ));
            }
        }
    }
    assert!(payloads.len() > 100, "{} payloads", payloads.len());
    payloads
}

#[test]
fn every_fixture_request_gets_the_verdict_of_a_whole_parse() {
    let mut mutations = 0;
    for (name, payload, resolver) in fixture_payloads() {
        let verdict = entry::verdict(&payload, &resolver);
        mutations += usize::from(matches!(verdict, Verdict::Mutate { .. }));
        assert_eq!(verdict, whole_verdict(&payload, &resolver), "{name}");
    }
    assert!(
        mutations > 0,
        "the mutate path (a whole second read) is covered"
    );
}

/// A mutation carries the whole object, fields the rule never reads included.
#[test]
fn a_mutated_object_is_the_whole_object_with_its_images_pinned() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let resolver = TableResolver::new(HashMap::from([("nginx:1.27".to_owned(), digest.clone())]));
    let payload = json!({
        "settings": {"resolveTags": true},
        "request": {"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {
            "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
        }}
    });
    let Verdict::Mutate { object, .. } = entry::verdict(payload.to_string().as_bytes(), &resolver)
    else {
        panic!("a mutation")
    };
    assert_eq!(
        object,
        json!({
            "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": format!("nginx:1.27@{digest}"), "ports": [{"containerPort": 80}]}]}
        })
    );
}

/// JSON values of every type, nested, with keys the rule reads among others.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "request",
        "settings",
        "object",
        "oldObject",
        "operation",
        "kind",
        "subResource",
        "name",
        "metadata",
        "generateName",
        "spec",
        "template",
        "jobTemplate",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "image",
        "reference",
        "resources",
        "labels",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "CREATE",
            "UPDATE",
            "Pod",
            "Deployment",
            "CronJob",
            "nginx:1.27",
            "",
            "é\u{1F600}"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|fields| Value::Object(
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_fail_or_parse_as_a_whole_parse_does(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_same_outcome(&bytes);
    }

    #[test]
    fn arbitrary_json_gets_the_verdict_of_a_whole_parse(request in any_json(), settings in any_json()) {
        let resolver = TableResolver::default();
        for payload in [
            json!({"request": request, "settings": settings}),
            json!({"request": request, "settings": {}}),
            json!({"settings": {}, "request": {"operation": "CREATE", "kind": {"kind": "Deployment"}, "object": request}}),
        ] {
            let bytes = payload.to_string().into_bytes();
            assert_same_outcome(&bytes);
            prop_assert_eq!(entry::verdict(&bytes, &resolver), whole_verdict(&bytes, &resolver));
        }
    }
}

/// The fast path (`payload::read_fast`) gives what a whole parse gives, pruned, or leaves the payload to it. (The
/// whole parse without serde_json's depth limit, as a skipped value has none.)
fn assert_fast_path_agrees(json: &[u8]) -> Option<Value> {
    let fast = payload::read_fast(json, PAYLOAD)?;
    let text = String::from_utf8_lossy(json);
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    deserializer.disable_recursion_limit();
    let whole = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|value: Value| deserializer.end().map(|()| value));
    match whole {
        Ok(value) => assert_eq!(fast, payload::keep(value, PAYLOAD), "input: {text}"),
        Err(error) => panic!("the fast path read what serde_json refuses ({error}): {text}"),
    }
    Some(fast)
}

/// Which reader reads a payload.
#[derive(Debug, PartialEq)]
enum Reader {
    Fast,
    Whole,
}

#[rstest]
#[case::compact(r#"{"request":{"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"b"}]}}},"settings":{}}"#, Reader::Fast)]
#[case::whitespace_everywhere(
    " {\n\t\"request\" :\r{ \"operation\" : \"CREATE\" , \"object\" : { } } , \"settings\" : { \"a\" : [ 1 , 2 ] } } \n",
    Reader::Fast
)]
#[case::empty_containers(
    r#"{"request":{"x":{},"y":[],"object":{"spec":{"containers":[]}}}}"#,
    Reader::Fast
)]
#[case::every_literal_and_number_dropped(
    r#"{"request":{"x":[true,false,null,0,-0,12,-3.25,1e5,2E-3,4.5e+6,-0.0e0]}}"#,
    Reader::Fast
)]
#[case::escapes_in_a_dropped_string(
    r#"{"request":{"x":"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\uD83D\uDE00"}}"#,
    Reader::Fast
)]
#[case::escape_in_a_kept_string(
    r#"{"request":{"operation":"CRE\u0041TE","name":"a\"b"}}"#,
    Reader::Fast
)]
#[case::kept_values_of_other_types(r#"{"request":{"name":5,"operation":null,"kind":{"kind":"Pod","n":[1.5,{"a":true}]},"object":"x"}}"#, Reader::Fast)]
#[case::non_ascii_text(
    r#"{"request":{"name":"é😀","x":"日本語","object":{"metadata":{"name":"ünïcode"}}}}"#,
    Reader::Fast
)]
#[case::duplicate_kept_keys(r#"{"request":{"name":"a","name":"b","object":{"spec":{"containers":[{"image":"c","image":"d"}]}}}}"#, Reader::Fast)]
#[case::nested_dropped_values(r#"{"request":{"x":[[[{"a":[{"b":{}}]}]],{"c":[[],{}]}],"object":{"spec":{"y":{"z":[1,[2,[3]]]}}}}}"#, Reader::Fast)]
#[case::not_an_object(r#"["request",{"a":1}]"#, Reader::Fast)]
#[case::a_string_of_seven_eight_and_nine_bytes(
    r#"{"request":{"a":"1234567","b":"12345678","c":"123456789","name":"12345678"}}"#,
    Reader::Fast
)]
#[case::settings_of_every_type(
    r#"{"settings":{"a":[1,2.5,-0,1e2,true,false,null,{"b":"c","d":[]}],"e":{}}}"#,
    Reader::Fast
)]
#[case::an_escaped_key(r#"{"request":{"n\u0061me":"a"}}"#, Reader::Whole)]
#[case::an_escaped_key_in_kept_settings(r#"{"settings":{"d\u0065":1}}"#, Reader::Whole)]
#[case::dropped_nesting_past_a_hundred(&format!(r#"{{"request":{{"x":{}1{}}}}}"#, "[".repeat(120), "]".repeat(120)), Reader::Fast)]
#[case::dropped_nesting_across_words_of_the_skip_stack(&format!(r#"{{"request":{{"x":{}1{},"name":"n"}}}}"#, "[{\"a\":".repeat(130), "}]".repeat(130)), Reader::Fast)]
#[case::dropped_nesting_with_a_bracket_mismatch_past_128(&format!(r#"{{"request":{{"x":{}1{}}}}}}}"#, "[".repeat(129), "]".repeat(128)), Reader::Whole)]
#[case::kept_nesting_past_a_hundred(&format!(r#"{{"settings":{}1{}}}"#, "[".repeat(120), "]".repeat(120)), Reader::Whole)]
#[case::trailing_comma_in_an_object(r#"{"request":{"x":1,}}"#, Reader::Whole)]
#[case::trailing_comma_in_a_dropped_list(r#"{"request":{"x":[1,]}}"#, Reader::Whole)]
#[case::trailing_comma_in_a_kept_list(
    r#"{"request":{"object":{"spec":{"containers":[{},]}}}}"#,
    Reader::Whole
)]
#[case::missing_comma(r#"{"request":{"x":1 "y":2}}"#, Reader::Whole)]
#[case::missing_colon(r#"{"request":{"x" 1}}"#, Reader::Whole)]
#[case::mismatched_brackets(r#"{"request":{"x":[1}}}"#, Reader::Whole)]
#[case::unclosed_object(r#"{"request":{"x":1}"#, Reader::Whole)]
#[case::key_not_a_string(r#"{"request":{x:1}}"#, Reader::Whole)]
#[case::leading_zero(r#"{"request":{"x":01}}"#, Reader::Whole)]
#[case::bare_minus(r#"{"request":{"x":-}}"#, Reader::Whole)]
#[case::no_digit_after_the_point(r#"{"request":{"x":1.}}"#, Reader::Whole)]
#[case::no_digit_in_the_exponent(r#"{"request":{"x":1e+}}"#, Reader::Whole)]
#[case::a_misspelt_literal(r#"{"request":{"x":nul}}"#, Reader::Whole)]
#[case::a_literal_run_on(r#"{"request":{"x":truex}}"#, Reader::Whole)]
#[case::an_unknown_escape(r#"{"request":{"x":"\q"}}"#, Reader::Whole)]
#[case::a_short_unicode_escape(r#"{"request":{"x":"\u12"}}"#, Reader::Whole)]
#[case::a_control_character("{\"request\":{\"x\":\"a\tb\"}}", Reader::Whole)]
#[case::a_control_character_after_eight_bytes(
    "{\"request\":{\"x\":\"12345678\x01\"}}",
    Reader::Whole
)]
#[case::an_unterminated_string(r#"{"request":{"x":"abc"#, Reader::Whole)]
#[case::trailing_characters(r#"{"request":{}} {}"#, Reader::Whole)]
#[case::a_lone_surrogate_in_a_kept_string(r#"{"request":{"name":"\ud800"}}"#, Reader::Whole)]
#[case::a_kept_number_out_of_range(r#"{"request":{"name":1e400}}"#, Reader::Whole)]
fn the_fast_path_reads_what_it_can_and_leaves_the_rest_to_the_whole_parse(
    #[case] json: &str,
    #[case] reader: Reader,
) {
    let fast = assert_fast_path_agrees(json.as_bytes());
    let taken = if fast.is_some() {
        Reader::Fast
    } else {
        Reader::Whole
    };
    assert_eq!(taken, reader, "input: {json}");
}

/// UTF-8 is checked where the fast path meets a byte past ASCII, which only a string may hold.
#[rstest]
#[case::two_three_and_four_byte_characters(
    b"{\"request\":{\"x\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"name\":\"\xc3\xa9\"}}",
    Reader::Fast
)]
#[case::a_stray_continuation_byte(b"{\"request\":{\"x\":\"a\x80\"}}", Reader::Whole)]
#[case::an_overlong_encoding(b"{\"request\":{\"x\":\"\xc0\xaf\"}}", Reader::Whole)]
#[case::an_encoded_surrogate(b"{\"request\":{\"x\":\"\xed\xa0\x80\"}}", Reader::Whole)]
#[case::past_the_last_code_point(b"{\"request\":{\"x\":\"\xf4\x90\x80\x80\"}}", Reader::Whole)]
#[case::a_character_cut_short(b"{\"request\":{\"x\":\"\xe2\x82\"}}", Reader::Whole)]
#[case::a_character_cut_short_in_a_key(b"{\"request\":{\"\xe2\x82\":1}}", Reader::Whole)]
#[case::outside_a_string(b"{\"request\":{\"x\":\xc3\xa9}}", Reader::Whole)]
fn the_fast_path_checks_utf8_as_serde_json_does(#[case] json: &[u8], #[case] reader: Reader) {
    let taken = match assert_fast_path_agrees(json) {
        Some(_) => Reader::Fast,
        None => Reader::Whole,
    };
    assert_eq!(taken, reader, "input: {}", String::from_utf8_lossy(json));
    assert_same_outcome(json);
}

#[test]
fn the_fast_path_reads_every_fixture_payload() {
    for (name, payload, _) in fixture_payloads() {
        assert!(assert_fast_path_agrees(&payload).is_some(), "{name}");
    }
}

/// A real payload with one byte inserted, replaced or removed: mostly broken JSON, of every kind.
fn edited_payload() -> impl Strategy<Value = Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bench/requests/deployment-three-containers.json"
    );
    let request: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let payload = json!({"request": request, "settings": {"exemptImages": ["a/*"]}})
        .to_string()
        .into_bytes();
    let length = payload.len();
    let byte = prop::sample::select(b"\"\\{}[],: \t\n0123-+.eEtfnu\x01\xc3a".to_vec());
    (0..length, 0..3u8, byte).prop_map(move |(at, edit, byte)| {
        let mut edited = payload.clone();
        match edit {
            0 => edited.insert(at, byte),
            1 => edited[at] = byte,
            _ => drop(edited.remove(at)),
        }
        edited
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn an_edited_payload_reads_as_serde_json_reads_it(json in edited_payload()) {
        assert_fast_path_agrees(&json);
    }

    #[test]
    fn arbitrary_json_text_reads_as_serde_json_reads_it(value in any_json(), pretty in any::<bool>()) {
        let payload = json!({"request": {"object": value.clone(), "x": value}, "settings": {}});
        let text = if pretty { serde_json::to_string_pretty(&payload) } else { serde_json::to_string(&payload) };
        let text = text.unwrap();
        prop_assert!(assert_fast_path_agrees(text.as_bytes()).is_some(), "{}", text);
    }
}
