//! `validate_settings` on arbitrary bytes: always an answer of the SDK's shape; `valid: false` always says why;
//! `valid: true` only for a JSON object (or null) whose every field is known and well-typed, and then the settings
//! the policy reads from it keep the invariants the rule relies on.

#![no_main]

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use libfuzzer_sys::fuzz_target;
use require_digest::entry;
use require_digest::settings::Settings;
use serde_json::Value;

const FIELDS: [&str; 5] = [
    "exemptImages",
    "allowedAlgorithms",
    "requireTag",
    "allowExistingViolations",
    "resolveTags",
];

fuzz_target!(|payload: &[u8]| {
    let answer = entry::validate_settings(payload);
    let value: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    let fields = value.as_object().expect("the answer is an object");
    assert!(
        fields.keys().all(|key| key == "valid" || key == "message"),
        "unknown fields in {value}"
    );
    let response: SettingsValidationResponse =
        serde_json::from_value(value.clone()).expect("the SDK reads the answer");
    if !response.valid {
        let message = response.message.expect("invalid settings say why");
        assert!(!message.is_empty());
        assert!(
            !message.chars().any(char::is_control),
            "message {message:?} holds a control character"
        );
        return;
    }
    assert_eq!(response.message, None, "valid settings carry no message");

    let settings: Value = serde_json::from_slice(payload).expect("valid settings are JSON");
    match &settings {
        Value::Null => {}
        Value::Object(given) => {
            for (field, value) in given {
                assert!(
                    FIELDS.contains(&field.as_str()),
                    "accepted the unknown field {field:?}"
                );
                let well_typed = match field.as_str() {
                    "exemptImages" | "allowedAlgorithms" => {
                        value.is_null()
                            || value
                                .as_array()
                                .is_some_and(|items| items.iter().all(Value::is_string))
                    }
                    _ => value.is_null() || value.is_boolean(),
                };
                assert!(well_typed, "accepted {field} = {value}");
            }
        }
        other => panic!("accepted settings that are {other}"),
    }
    let read =
        Settings::from_json(&settings).expect("what validate_settings accepts, the policy reads");
    assert!(
        !read.allowed_algorithms.is_empty(),
        "no algorithm would ever pass"
    );
    for pattern in &read.exempt_images {
        assert!(
            !pattern.is_empty() && pattern.trim() == pattern,
            "pattern {pattern:?}"
        );
    }
    if let Some(Value::Array(names)) = settings.get("allowedAlgorithms") {
        for name in names {
            assert!(
                read.allowed_algorithms
                    .iter()
                    .any(|a| Some(a.name()) == name.as_str()),
                "allowedAlgorithms {name} was accepted but not kept"
            );
        }
    }
});
