//! The one property reader of the resource converters (resources.rs, apigw.rs, apigwv2.rs,
//! lattice.rs, ec2.rs, nlb.rs, events.rs, openapi.rs): typed reads of a resource's
//! `Properties` (or of an object inside them), each recording its error under the property's
//! path in CloudFormation's spelling (`Properties.Listeners[0].Port`).
//!
//! One set of rules for every converter:
//! - A string property takes any scalar as its text (`Port: 80` reads as `"80"`), in a list or
//!   not: CloudFormation hands every value to the resource's handler as a string (cfn-lint made
//!   its type check lenient for that reason: aws-cloudformation/cfn-lint#2103, #547). An object
//!   or a list where a string belongs is `expected a string, found …`.
//! - A boolean property takes `true`/`false` or their text; anything else is
//!   `expected a boolean, found …`.
//! - A list of strings takes a single string as a list of one; a list of objects reports every
//!   item that is not an object (nothing is dropped silently).
//! - An error about the whole object (key `""`) is at the object's own path, with no trailing
//!   dot (`Properties.ResourceConfigurationDefinition: …`).
//! - A required property that is absent is `required property X is missing`; present but null
//!   reads as absent without that error (the template said something, even if empty).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{ErrorKind, type_name};
use super::template::ResolvedResource;

/// One error inside a resource: property path and kind.
pub(crate) type PropError = (String, ErrorKind);

/// Reads one object's properties, recording errors under its path.
pub(crate) struct Props<'a> {
    /// The object read.
    pub(crate) map: &'a Map<String, Value>,
    /// Its path (`Properties`, `Properties.Listeners[0]`; empty for a free-standing object).
    pub(crate) path: String,
    /// Where the errors go.
    pub(crate) errors: &'a mut Vec<PropError>,
}

impl<'a> Props<'a> {
    /// A reader of `map` at `path`.
    pub(crate) fn new(
        map: &'a Map<String, Value>,
        path: impl Into<String>,
        errors: &'a mut Vec<PropError>,
    ) -> Self {
        Props {
            map,
            path: path.into(),
            errors,
        }
    }

    /// A reader of a resource's `Properties`.
    pub(crate) fn of(r: &'a ResolvedResource, errors: &'a mut Vec<PropError>) -> Self {
        Self::new(&r.properties, "Properties", errors)
    }

    /// The path of `key` (the object's own path for `""`).
    pub(crate) fn at(&self, key: &str) -> String {
        path_at(&self.path, key)
    }

    /// Records an error at `key`.
    pub(crate) fn fail(&mut self, key: &str, kind: ErrorKind) {
        let path = self.at(key);
        self.errors.push((path, kind));
    }

    /// Records an `Invalid` error at `key`.
    pub(crate) fn invalid(&mut self, key: &str, reason: impl Into<String>) {
        self.fail(
            key,
            ErrorKind::Invalid {
                reason: reason.into(),
            },
        );
    }

    /// Records that the required `key` is missing.
    pub(crate) fn missing(&mut self, key: &str) {
        self.missing_as(key, key);
    }

    /// Records that `key` is missing, naming it `name` (`ResourceRecords (or AliasTarget)`).
    pub(crate) fn missing_as(&mut self, key: &str, name: &str) {
        self.fail(
            key,
            ErrorKind::Missing {
                name: name.to_string(),
            },
        );
    }

    /// Records that `key` holds `found` where `expected` belongs.
    pub(crate) fn wrong(&mut self, key: &str, expected: &'static str, found: &Value) {
        self.fail(
            key,
            ErrorKind::WrongType {
                expected,
                found: type_name(found),
            },
        );
    }

    /// The raw value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Whether the object holds `key` (even as null).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A scalar as a string property reads it.
    fn scalar_text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// An optional string.
    pub(crate) fn opt_str(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match Self::scalar_text(v) {
                Some(s) => Some(s),
                None => {
                    self.wrong(key, "a string", v);
                    None
                }
            },
        }
    }

    /// A required string.
    pub(crate) fn str(&mut self, key: &str) -> Option<String> {
        let v = self.opt_str(key);
        if v.is_none() && !self.has(key) {
            self.missing(key);
        }
        v
    }

    /// An optional non-negative integer (a number or its text).
    pub(crate) fn opt_u32(&mut self, key: &str) -> Option<u32> {
        let s = self.opt_str(key)?;
        match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.invalid(key, format!("{s:?} is not a non-negative integer"));
                None
            }
        }
    }

    /// An optional boolean (`true`/`false` or their text).
    pub(crate) fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
            Some(other) => {
                self.wrong(key, "a boolean", other);
                None
            }
        }
    }

    /// A list of strings (a single string is a list of one).
    pub(crate) fn str_list(&mut self, key: &str) -> Vec<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match Self::scalar_text(v) {
                        Some(s) => out.push(s),
                        None => self.wrong(&format!("{key}[{i}]"), "a string", v),
                    }
                }
                out
            }
            Some(other) => {
                self.wrong(key, "a list of strings", other);
                Vec::new()
            }
        }
    }

    /// An optional nested object, with its path.
    pub(crate) fn object(&mut self, key: &str) -> Option<(String, &'a Map<String, Value>)> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some((self.at(key), m)),
            Some(other) => {
                self.wrong(key, "an object", other);
                None
            }
        }
    }

    /// A list of nested objects, each with its path.
    pub(crate) fn objects(&mut self, key: &str) -> Vec<(String, &'a Map<String, Value>)> {
        match self.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    let at = format!("{key}[{i}]");
                    match v {
                        Value::Object(m) => out.push((self.at(&at), m)),
                        other => self.wrong(&at, "an object", other),
                    }
                }
                out
            }
            Some(other) => {
                self.wrong(key, "a list of objects", other);
                Vec::new()
            }
        }
    }

    /// A map of string values (`RequestTemplates`, `ResponseParameters`).
    pub(crate) fn string_map(&mut self, key: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some((path, m)) = self.object(key) {
            let mut c = self.child(path, m);
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    other => c.wrong(k, "a string", other),
                }
            }
        }
        out
    }

    /// A JSON document (a policy) given as an object or as its text: `None` when absent. Text
    /// that is not a JSON object is `invalid` (the service's own words); another type is
    /// `expected {expected}, found …`.
    pub(crate) fn json_document(
        &mut self,
        key: &str,
        invalid: &str,
        expected: &'static str,
    ) -> Option<Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(doc @ Value::Object(_)) => Some(doc.clone()),
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(doc @ Value::Object(_)) => Some(doc),
                _ => {
                    self.invalid(key, invalid);
                    None
                }
            },
            Some(other) => {
                self.wrong(key, expected, other);
                None
            }
        }
    }

    /// A reader of a nested object (from [`Props::object`] or [`Props::objects`]) that records
    /// into the same errors.
    pub(crate) fn child<'b>(&'b mut self, path: String, map: &'a Map<String, Value>) -> Props<'b>
    where
        'a: 'b,
    {
        Props {
            map,
            path,
            errors: self.errors,
        }
    }
}

/// What a converter names a resource by: its logical id, its `Ref` value and a reader of its
/// `Fn::GetAtt` attributes (each as text, empty when absent).
pub(crate) fn names(r: &ResolvedResource) -> (String, String, impl Fn(&str) -> String + '_) {
    (r.logical_id.clone(), reference(r), move |k: &str| {
        attr(r, k)
    })
}

/// A resource's `Ref` value as text (empty when it has none).
pub(crate) fn reference(r: &ResolvedResource) -> String {
    r.physical
        .reference
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A resource's `Fn::GetAtt` attribute as text (empty when it has none).
pub(crate) fn attr(r: &ResolvedResource, key: &str) -> String {
    r.physical
        .attributes
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An `Invalid` error at `key` of a resource's `Properties` (the whole `Properties` for `""`),
/// for checks made without a reader.
pub(crate) fn invalid_at(key: &str, reason: impl std::fmt::Display) -> PropError {
    (
        path_at("Properties", key),
        ErrorKind::Invalid {
            reason: reason.to_string(),
        },
    )
}

/// The path of `key` inside the object at `path`: the object's own path for `""`, no leading
/// dot at the top.
fn path_at(path: &str, key: &str) -> String {
    match (path.is_empty(), key.is_empty()) {
        (_, true) => path.to_string(),
        (true, false) => key.to_string(),
        (false, false) => format!("{path}.{key}"),
    }
}

/// The strings of a JSON list, others left out (OpenAPI extension lists, read leniently as API
/// Gateway's importer reads them): EventBridge's reader of target lists.
pub(crate) use crate::events::rule::strings;

/// A comma-separated list (`IdentitySource`), items trimmed, empty ones left out.
pub(crate) fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: Value, f: impl FnOnce(&mut Props<'_>)) -> Vec<String> {
        let map = v.as_object().cloned().unwrap_or_default();
        let mut errors = Vec::new();
        f(&mut Props::new(&map, "Properties", &mut errors));
        errors
            .into_iter()
            .map(|(path, kind)| format!("{path}: {kind}"))
            .collect()
    }

    #[test]
    fn scalars_read_as_strings_in_lists_and_alone() {
        let mut got = (None, Vec::new());
        let errors = read(
            json!({"Port": 80, "Ranges": ["80", 443, true, {"x": 1}]}),
            |p| got = (p.opt_str("Port"), p.str_list("Ranges")),
        );
        assert_eq!(got.0.as_deref(), Some("80"));
        assert_eq!(got.1, vec!["80", "443", "true"]);
        assert_eq!(
            errors,
            vec!["Properties.Ranges[3]: expected a string, found an object"]
        );
    }

    #[test]
    fn whole_object_errors_have_no_trailing_dot() {
        let errors = read(json!({"Def": {}}), |p| {
            let (path, m) = p.object("Def").unwrap();
            p.child(path, m).invalid("", "exactly one of A, B");
            p.invalid("", "top");
        });
        assert_eq!(
            errors,
            vec!["Properties.Def: exactly one of A, B", "Properties: top"]
        );
        let mut errors = Vec::new();
        let map = Map::new();
        let mut p = Props::new(&map, "", &mut errors);
        assert_eq!(p.at("FromPort"), "FromPort");
        p.invalid("", "x");
        assert_eq!(errors[0].0, "");
    }

    #[test]
    fn lists_of_objects_report_every_other_item() {
        let mut n = 0;
        let errors = read(json!({"L": [{"a": 1}, "x", null]}), |p| {
            n = p.objects("L").len()
        });
        assert_eq!(n, 1);
        assert_eq!(
            errors,
            vec![
                "Properties.L[1]: expected an object, found string \"x\"",
                "Properties.L[2]: expected an object, found null"
            ]
        );
    }

    #[test]
    fn json_documents_are_objects_or_their_text() {
        let mut got = Vec::new();
        let errors = read(
            json!({"A": {"Version": "2012-10-17"}, "B": "{\"Version\": \"2012-10-17\"}",
                   "C": "not json", "D": "[1]", "E": 5}),
            |p| {
                for key in ["A", "B", "C", "D", "E", "F"] {
                    got.push(p.json_document(key, "Invalid policy document.", "a policy document"));
                }
            },
        );
        let doc = json!({"Version": "2012-10-17"});
        assert_eq!(
            got,
            vec![Some(doc.clone()), Some(doc), None, None, None, None]
        );
        assert_eq!(
            errors,
            vec![
                "Properties.C: Invalid policy document.",
                "Properties.D: Invalid policy document.",
                "Properties.E: expected a policy document, found number 5",
            ]
        );
    }

    #[test]
    fn required_and_typed_reads_name_the_property() {
        let errors = read(
            json!({"Enabled": "yes", "Count": "-1", "Null": null, "M": {"k": 1}}),
            |p| {
                assert_eq!(p.str("Name"), None);
                assert_eq!(p.str("Null"), None);
                assert_eq!(p.opt_bool("Enabled"), None);
                assert_eq!(p.opt_u32("Count"), None);
                assert!(p.string_map("M").is_empty());
            },
        );
        assert_eq!(
            errors,
            vec![
                "Properties.Name: required property Name is missing",
                "Properties.Enabled: expected a boolean, found string \"yes\"",
                "Properties.Count: \"-1\" is not a non-negative integer",
                "Properties.M.k: expected a string, found number 1",
            ]
        );
    }
}
