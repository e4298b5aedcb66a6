//! [`Json`]: a JSON value as the rule reads it, with its strings and keys borrowed from the text it was read from.
//!
//! The rule only looks things up in the fields the payload reader keeps; it never needs a `serde_json::Value`'s sorted
//! map, nor a copy of each key and string, and building, searching and dropping those `Value`s was a fifth of the
//! guest's call. A `Json` is a list of `(key, value)` pairs that borrow from the payload.
//!
//! The same value as the `serde_json::Value` a parse gives: [`Json::from_value`] and [`Json::to_value`] go between the
//! two, and the payload tests hold the fast reader's view (as `payload::read_fast` gives it, a `Value`) equal to
//! serde_json's read. A repeated key is kept as often as it is written, and [`Json::get`] finds its last value, as a
//! `Value` holds it.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// A JSON value, shaped as `serde_json::Value` is, but borrowing (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    /// Borrowed unless it had escapes.
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// In the order written, repeated keys included.
    Object(Vec<(&'a str, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// A view of `value`, borrowing its strings and keys.
    pub fn from_value(value: &'a Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(bool) => Json::Bool(*bool),
            Value::Number(number) => Json::Number(number.clone()),
            Value::String(string) => Json::String(Cow::Borrowed(string)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.as_str(), Json::from_value(value)))
                    .collect(),
            ),
        }
    }

    /// The `serde_json::Value` a parse of the same text gives (for a repeated key, its last value).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(bool) => Value::Bool(*bool),
            Json::Number(number) => Value::Number(number.clone()),
            Json::String(string) => Value::String(string.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(fields) => {
                // Inserted one by one: collecting would sort the pairs first, and a stable sort would pull a
                // large sort routine into policy.wasm.
                let mut object = Map::new();
                for (key, value) in fields {
                    object.insert(key.to_string(), value.to_value());
                }
                Value::Object(object)
            }
        }
    }

    /// The value of field `key`, if this is an object that has it (its last value, if it is repeated).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(fields) => fields
                .iter()
                .rev()
                .find(|(field, _)| *field == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(string) => Some(string),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// "a string", "a list"...: the JSON type of the value, for messages (as [`json_type`] says it of a `Value`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }
}

/// "a string", "a list"...: the JSON type of a value, for messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    #[rstest]
    #[case::scalars(json!([null, true, 1, -0.5, "text"]))]
    #[case::nested(json!({"a": {"b": [{"c": "d"}, []]}, "e": {}}))]
    #[case::big_number(json!({"n": u64::MAX}))]
    fn a_value_comes_back_as_it_was(#[case] value: Value) {
        let view = Json::from_value(&value);
        assert_eq!(view.to_value(), value);
    }

    #[test]
    fn a_repeated_key_reads_as_its_last_value_as_in_a_value() {
        let view = Json::Object(vec![
            ("image", Json::String("first".into())),
            ("name", Json::Null),
            ("image", Json::String("last".into())),
        ]);
        assert_eq!(view.get("image").and_then(Json::as_str), Some("last"));
        assert_eq!(view.to_value(), json!({"image": "last", "name": null}));
    }

    #[rstest]
    #[case::null(json!(null))]
    #[case::boolean(json!(false))]
    #[case::number(json!(1))]
    #[case::string(json!(""))]
    #[case::list(json!([]))]
    #[case::object(json!({}))]
    fn its_type_is_named_as_a_value_s(#[case] value: Value) {
        assert_eq!(Json::from_value(&value).type_name(), json_type(&value));
    }
}
