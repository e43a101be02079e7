//! What a target receives: the matched event, `Input`, `InputPath` or an `InputTransformer`
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html>).
//!
//! Substitution follows what AWS delivered in LocalStack's recorded
//! `test_events_inputs.snapshot.json`:
//! - a placeholder outside a JSON string is replaced by the value as JSON (`<id>` -> `"abc"`,
//!   `<payload>` -> `{"a":1}`), a missing value by `null`;
//! - inside a JSON string (`"users/<id>"`, and every placeholder of a quoted text template) a
//!   string goes in as its text, an object or list as JSON with its quotes dropped
//!   (`{acc_id:0a787ecb-4015,sf_id:baz}`, `[ACTIVE,INACTIVE]`), a missing value as nothing;
//! - the reserved `<aws.events.rule-arn>`, `<aws.events.rule-name>`,
//!   `<aws.events.event.ingestion-time>`, `<aws.events.event>` (the envelope without `detail`,
//!   `detail-type` as `detailType`) and `<aws.events.event.json>` (the whole event).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// At most 100 variables in `InputPathsMap` (API_InputTransformer.html).
pub const MAX_VARIABLES: usize = 100;
/// `InputTemplate`: "Maximum length of 8192".
pub const MAX_TEMPLATE_LENGTH: usize = 8192;
/// `InputPath` and each `InputPathsMap` value: "Maximum length of 256".
pub const MAX_PATH_LENGTH: usize = 256;

/// The reserved variables (no `InputPathsMap` key may take these names).
pub const RESERVED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

/// How a target's input is made.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetInput {
    /// The matched event as is.
    Event,
    /// `Input`: constant JSON text.
    Constant(String),
    /// `InputPath`: part of the event.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer(InputTransformer),
}

/// `InputTransformer`.
#[derive(Clone, Debug, PartialEq)]
pub struct InputTransformer {
    /// `InputPathsMap`: variable -> path.
    pub paths: BTreeMap<String, JsonPath>,
    /// `InputTemplate`.
    pub template: String,
}

/// Why a target's input settings are refused (PutTargets' `ValidationException` messages as
/// LocalStack recorded them from AWS).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// More than one of Input, InputPath, InputTransformer.
    #[error(
        "Only one of Input, InputPath, or InputTransformer must be provided for target {target}."
    )]
    MoreThanOne {
        /// The target id.
        target: String,
    },
    /// The template names a variable the map does not define.
    #[error("InputTemplate for target {target} contains invalid placeholder {name}.")]
    UnknownPlaceholder {
        /// The target id.
        target: String,
        /// The placeholder.
        name: String,
    },
    /// A path is not the JSONPath subset EventBridge takes.
    #[error("{what} for target {target} is not a valid JSON path: {path}")]
    BadPath {
        /// The target id.
        target: String,
        /// `InputPath` or `InputPathsMap`.
        what: &'static str,
        /// The path.
        path: String,
    },
    /// A budget (variables, template length) is exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// A variable takes a reserved name.
    #[error("InputPathsMap for target {target} contains reserved variable {name}.")]
    Reserved {
        /// The target id.
        target: String,
        /// The name.
        name: String,
    },
    /// `Input` is not valid JSON.
    #[error("Input for target {target} is not valid JSON.")]
    BadInput {
        /// The target id.
        target: String,
    },
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Any,
}

/// The JSONPath subset EventBridge evaluates: `$`, `.key`, `['key']`, `[n]`, `.*` / `[*]`.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
    text: String,
}

impl JsonPath {
    /// Parses a path; `None` when it is not in the subset.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_PATH_LENGTH {
            return None;
        }
        let rest = text.strip_prefix('$')?;
        let b = rest.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                        j += 1;
                    }
                    let key = &rest[start..j];
                    if key.is_empty() {
                        return None;
                    }
                    steps.push(if key == "*" {
                        Step::Any
                    } else {
                        Step::Key(key.to_string())
                    });
                    i = j;
                }
                b'[' => {
                    let end = rest[i..].find(']')? + i;
                    let inner = rest[i + 1..end].trim();
                    steps.push(if inner == "*" {
                        Step::Any
                    } else if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        Step::Key(q.to_string())
                    } else {
                        Step::Index(inner.parse().ok()?)
                    });
                    i = end + 1;
                }
                _ => return None,
            }
        }
        Some(Self {
            steps,
            text: text.to_string(),
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value at the path (a wildcard collects a list), or `None`.
    pub fn select(&self, v: &Value) -> Option<Value> {
        let mut current = vec![v.clone()];
        let mut multi = false;
        for step in &self.steps {
            let mut next = Vec::new();
            for c in &current {
                match (step, c) {
                    (Step::Key(k), Value::Object(m)) => next.extend(m.get(k).cloned()),
                    (Step::Index(n), Value::Array(a)) => next.extend(a.get(*n).cloned()),
                    (Step::Any, Value::Array(a)) => next.extend(a.iter().cloned()),
                    (Step::Any, Value::Object(m)) => next.extend(m.values().cloned()),
                    _ => {}
                }
            }
            if *step == Step::Any {
                multi = true;
            }
            current = next;
        }
        if multi {
            Some(Value::Array(current))
        } else {
            current.into_iter().next()
        }
    }
}

/// The placeholders of a template: `<name>` where name has no spaces, quotes or angle brackets.
fn placeholders(template: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let b = template.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<'
            && let Some(len) = template[i + 1..].find('>')
        {
            let name = &template[i + 1..i + 1 + len];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| !c.is_whitespace() && c != '<' && c != '"')
            {
                out.push((i, i + len + 2, name));
                i += len + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

impl TargetInput {
    /// Reads a target's `Input`/`InputPath`/`InputTransformer` (PutTargets' checks).
    pub fn from_target(target_id: &str, target: &Value) -> Result<Self, InputError> {
        let input = target.get("Input").and_then(Value::as_str);
        let path = target.get("InputPath").and_then(Value::as_str);
        let tr = target.get("InputTransformer").filter(|v| v.is_object());
        let count = [input.is_some(), path.is_some(), tr.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        if count > 1 {
            return Err(InputError::MoreThanOne {
                target: target_id.to_string(),
            });
        }
        if let Some(input) = input {
            serde_json::from_str::<Value>(input).map_err(|_| InputError::BadInput {
                target: target_id.to_string(),
            })?;
            return Ok(Self::Constant(input.to_string()));
        }
        if let Some(p) = path {
            return JsonPath::parse(p)
                .map(Self::Path)
                .ok_or_else(|| InputError::BadPath {
                    target: target_id.to_string(),
                    what: "InputPath",
                    path: p.to_string(),
                });
        }
        let Some(tr) = tr else {
            return Ok(Self::Event);
        };
        let template = tr
            .get("InputTemplate")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if template.len() > MAX_TEMPLATE_LENGTH {
            return Err(InputError::TooLarge(format!(
                "InputTemplate for target {target_id} is longer than {MAX_TEMPLATE_LENGTH} characters."
            )));
        }
        let mut paths = BTreeMap::new();
        if let Some(map) = tr.get("InputPathsMap").and_then(Value::as_object) {
            if map.len() > MAX_VARIABLES {
                return Err(InputError::TooLarge(format!(
                    "InputPathsMap for target {target_id} has more than {MAX_VARIABLES} entries."
                )));
            }
            for (k, v) in map {
                if RESERVED.contains(&k.as_str()) {
                    return Err(InputError::Reserved {
                        target: target_id.to_string(),
                        name: k.clone(),
                    });
                }
                let text = v.as_str().unwrap_or_default();
                let p = JsonPath::parse(text).ok_or_else(|| InputError::BadPath {
                    target: target_id.to_string(),
                    what: "InputPathsMap",
                    path: text.to_string(),
                })?;
                paths.insert(k.clone(), p);
            }
        }
        for (_, _, name) in placeholders(&template) {
            if !paths.contains_key(name) && !RESERVED.contains(&name) {
                return Err(InputError::UnknownPlaceholder {
                    target: target_id.to_string(),
                    name: name.to_string(),
                });
            }
        }
        Ok(Self::Transformer(InputTransformer { paths, template }))
    }

    /// The text the target receives for `event`.
    pub fn render(&self, event: &Value, rule_arn: &str, rule_name: &str) -> String {
        match self {
            TargetInput::Event => event.to_string(),
            TargetInput::Constant(text) => text.clone(),
            TargetInput::Path(p) => p.select(event).unwrap_or(Value::Null).to_string(),
            TargetInput::Transformer(t) => t.render(event, rule_arn, rule_name),
        }
    }

    /// [`Self::render`], or `None` when an input transformer's result is not something AWS
    /// delivers (the event is not sent to the target): an object or array value placed inside
    /// a quoted string of a JSON template, or outside quotes in a text template — AWS's recorded
    /// `test_input_transformer_nested_keys_replacement` and `..._not_valid` cases.
    pub fn try_render(&self, event: &Value, rule_arn: &str, rule_name: &str) -> Option<String> {
        match self {
            TargetInput::Transformer(t) => t.render_checked(event, rule_arn, rule_name),
            other => Some(other.render(event, rule_arn, rule_name)),
        }
    }
}

/// `<aws.events.event>`: the envelope without `detail`, `detail-type` as `detailType`.
fn envelope(event: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = event.as_object() {
        for (k, v) in m {
            match k.as_str() {
                "detail" => {}
                "detail-type" => {
                    out.insert("detailType".into(), v.clone());
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// JSON text with its double quotes dropped (how AWS writes a non-string inside a string).
fn unquoted(v: &Value) -> String {
    v.to_string().replace('"', "")
}

impl InputTransformer {
    fn value(&self, name: &str, event: &Value, rule_arn: &str, rule_name: &str) -> Option<Value> {
        match name {
            "aws.events.rule-arn" => Some(json!(rule_arn)),
            "aws.events.rule-name" => Some(json!(rule_name)),
            "aws.events.event.ingestion-time" => event.get("time").cloned(),
            "aws.events.event" => Some(envelope(event)),
            "aws.events.event.json" => Some(event.clone()),
            other => self.paths.get(other).and_then(|p| p.select(event)),
        }
    }

    /// Fills the template: each placeholder by the rules in the module doc, according to whether
    /// it stands inside a JSON string.
    pub fn render(&self, event: &Value, rule_arn: &str, rule_name: &str) -> String {
        self.fill(event, rule_arn, rule_name).0
    }

    /// [`Self::render`], `None` when the result is not delivered ([`TargetInput::try_render`]).
    pub fn render_checked(&self, event: &Value, rule_arn: &str, rule_name: &str) -> Option<String> {
        let (text, structured_misplaced) = self.fill(event, rule_arn, rule_name);
        (!structured_misplaced).then_some(text)
    }

    /// The filled template, and whether an object or array value stands where AWS does not
    /// deliver it (inside a string of a JSON template, outside quotes in a text template).
    fn fill(&self, event: &Value, rule_arn: &str, rule_name: &str) -> (String, bool) {
        let json_template = matches!(
            self.template.trim_start().as_bytes().first(),
            Some(b'{' | b'[')
        );
        let mut misplaced = false;
        let t = &self.template;
        let mut out = String::with_capacity(t.len());
        let mut in_string = false;
        let mut escaped = false;
        let mut last = 0;
        let holes = placeholders(t);
        let mut next_hole = holes.iter().peekable();
        let bytes = t.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if let Some(&&(start, end, name)) = next_hole.peek()
                && start == i
            {
                out.push_str(&t[last..i]);
                let v = self.value(name, event, rule_arn, rule_name);
                if matches!(v, Some(Value::Object(_) | Value::Array(_)))
                    && in_string == json_template
                {
                    misplaced = true;
                }
                if in_string {
                    match v {
                        Some(Value::String(s)) => {
                            out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""))
                        }
                        Some(Value::Null) | None => {}
                        Some(other) => out.push_str(&unquoted(&other)),
                    }
                } else {
                    out.push_str(&v.unwrap_or(Value::Null).to_string());
                }
                next_hole.next();
                i = end;
                last = end;
                continue;
            }
            let c = bytes[i];
            if escaped {
                escaped = false;
            } else if c == b'\\' && in_string {
                escaped = true;
            } else if c == b'"' {
                in_string = !in_string;
            }
            i += 1;
        }
        out.push_str(&t[last..]);
        (out, misplaced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({"version": "0", "id": "e1", "detail-type": "core.update-account-command",
               "source": "core.update-account-command", "account": "111111111111",
               "time": "2022-07-13T13:48:01Z", "region": "us-east-1", "resources": [],
               "detail": {"command": "update-account", "valid": true,
                          "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
                          "listmulti": ["ACTIVE", "INACTIVE"]}})
    }

    fn transformer(template: &str) -> TargetInput {
        TargetInput::from_target(
            "t1",
            &json!({"InputTransformer": {"InputPathsMap": {
                "userId": "$.detail.payload.acc_id", "payload": "$.detail.payload",
                "command": "$.detail.command", "valid": "$.detail.valid",
                "listmulti": "$.detail.listmulti", "missing": "$.detail.nothing"},
                "InputTemplate": template}}),
        )
        .unwrap()
    }

    const RULE: &str = "arn:aws:events:us-east-1:111111111111:rule/r1";

    enum Expect {
        Json(&'static str),
        Text(&'static str),
        Dropped,
    }

    /// Every outcome LocalStack recorded against AWS for
    /// `test_input_transformer_nested_keys_replacement` (the SQS target's body; a case with no
    /// message is an event AWS did not deliver) and `..._not_valid` (all not delivered), with
    /// its `SPECIAL_EVENT_DETAIL` and paths map.
    #[test]
    fn aws_recorded_input_transformer_cases() {
        let event = json!({"version": "0", "id": "e1", "detail-type": "core.update-account-command",
            "source": "core.update-account-command", "account": "111111111111",
            "time": "2022-07-13T13:48:01Z", "region": "us-east-1", "resources": [],
            "detail": {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
                       "listsingle": ["HIGH"], "listmulti": ["ACTIVE", "INACTIVE"], "valid": true}});
        let cases: &[(&str, Expect)] = &[
            (
                "{\"method\": \"PUT\", \"path\": \"users-service/users/<userId>\", \"bod\": <payload>}",
                Expect::Json(
                    r#"{"method": "PUT", "path": "users-service/users/0a787ecb-4015", "bod": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}"#,
                ),
            ),
            (
                "\"Payload of <payload> with path users-service/users/<userId> and <userId>\"",
                Expect::Text(
                    "\"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015\"",
                ),
            ),
            (
                "{\"method\": \"PUT\", \"path\": \"users-service/users/<userId>\", \"id\": <userId>, \"body\": <payload>}",
                Expect::Json(
                    r#"{"method": "PUT", "path": "users-service/users/0a787ecb-4015", "id": "0a787ecb-4015", "body": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}"#,
                ),
            ),
            (
                "{\"method\": \"PUT\", \"path\": \"users-service/users/<userId>\", \"bod\": [<userId>, \"hardcoded\"]}",
                Expect::Json(
                    r#"{"method": "PUT", "path": "users-service/users/0a787ecb-4015", "bod": ["0a787ecb-4015", "hardcoded"]}"#,
                ),
            ),
            (
                "{\"method\": \"PUT\", \"nested\": {\"level1\": {\"level2\": {\"level3\": \"users-service/users/<userId>\"} } }, \"bod\": \"<userId>\"}",
                Expect::Json(
                    r#"{"method": "PUT", "nested": {"level1": {"level2": {"level3": "users-service/users/0a787ecb-4015"}}}, "bod": "0a787ecb-4015"}"#,
                ),
            ),
            (
                "\"<listsingle> single list item\"\n\"<listmulti> multiple list items\"\n\"<systemstring> system account id\"\n\"<payload> payload\"\n\"<userId> user id\"",
                Expect::Text(
                    "\"[HIGH] single list item\"\n\"[ACTIVE,INACTIVE] multiple list items\"\n\" system account id\"\n\"{acc_id:0a787ecb-4015,sf_id:baz} payload\"\n\"0a787ecb-4015 user id\"",
                ),
            ),
            (
                "{\"id\" : <userId>}",
                Expect::Json(r#"{"id": "0a787ecb-4015"}"#),
            ),
            (
                "\"<listsingle> single list item\"",
                Expect::Text("\"[HIGH] single list item\""),
            ),
            (
                "\"<listmulti> multiple list items\"",
                Expect::Text("\"[ACTIVE,INACTIVE] multiple list items\""),
            ),
            (
                "{\"singlelistitem\": <listsingle>}",
                Expect::Json(r#"{"singlelistitem": ["HIGH"]}"#),
            ),
            (
                "\"<listsingle> single list item <listmulti> multiple list items <systemstring> system account id <payload> payload <userId> user id\"",
                Expect::Text(
                    "\"[HIGH] single list item [ACTIVE,INACTIVE] multiple list items  system account id {acc_id:0a787ecb-4015,sf_id:baz} payload 0a787ecb-4015 user id\"",
                ),
            ),
            (
                "{\"multi_replacement\": \"users/<userId>/second/<userId>\"}",
                Expect::Json(
                    r#"{"multi_replacement": "users/0a787ecb-4015/second/0a787ecb-4015"}"#,
                ),
            ),
            (
                "{\"id\" : \"<userId>\"}",
                Expect::Json(r#"{"id": "0a787ecb-4015"}"#),
            ),
            (
                "\"Command is <valid>!\"",
                Expect::Text("\"Command is true!\""),
            ),
            ("<listsingle> single list item", Expect::Dropped),
            ("<listmulti> multiple list items", Expect::Dropped),
            (
                "{\"singlelistitem\": \"<listsingle>\", \"multiplelistitems\": \"<listmulti>\"}",
                Expect::Dropped,
            ),
            ("{\"singlelistitem\": \"<listsingle>\"}", Expect::Dropped),
            (
                "{\"not_valid\": \"users-service/users/<payload>\", \"bod\": <payload>}",
                Expect::Dropped,
            ),
            ("{\"payload\": \"<payload>\"}", Expect::Dropped),
        ];
        let mut failures = Vec::new();
        for (template, expect) in cases {
            let input = TargetInput::from_target(
                "t1",
                &json!({"InputTransformer": {"InputPathsMap": {
                    "userId": "$.detail.payload.acc_id", "payload": "$.detail.payload",
                    "systemstring": "$.detail.awsAccountId", "listsingle": "$.detail.listsingle",
                    "listmulti": "$.detail.listmulti", "valid": "$.detail.valid"},
                    "InputTemplate": template}}),
            )
            .unwrap();
            let got = input.try_render(&event, RULE, "r1");
            let ok = match (expect, &got) {
                (Expect::Json(want), Some(body)) => {
                    serde_json::from_str::<Value>(body).ok()
                        == Some(serde_json::from_str::<Value>(want).unwrap())
                }
                (Expect::Text(want), Some(body)) => body == want,
                (Expect::Dropped, None) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!("{template}: got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// LocalStack's recorded `test_input_transformer_nested_keys_replacement` outcomes.
    #[test]
    fn json_templates_substitute_by_position() {
        let r = |t: &str| transformer(t).render(&event(), RULE, "r1");
        assert_eq!(
            serde_json::from_str::<Value>(&r(
                r#"{"method": "PUT", "path": "users-service/users/<userId>", "id": <userId>, "body": <payload>}"#
            ))
            .unwrap(),
            json!({"method": "PUT", "path": "users-service/users/0a787ecb-4015", "id": "0a787ecb-4015", "body": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}})
        );
        assert_eq!(
            r(r#""Payload of <payload> with path users-service/users/<userId> and <userId>""#),
            r#""Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015""#
        );
        assert_eq!(
            r(r#""<listmulti> multiple list items""#),
            r#""[ACTIVE,INACTIVE] multiple list items""#
        );
        assert_eq!(r(r#""Command is <valid>!""#), r#""Command is true!""#);
        assert_eq!(r(r#"{"command": "<missing>"}"#), r#"{"command": ""}"#);
        assert_eq!(
            r(r#"{"multi_replacement": "users/<userId>/second/<userId>"}"#),
            r#"{"multi_replacement": "users/0a787ecb-4015/second/0a787ecb-4015"}"#
        );
    }

    #[test]
    fn reserved_variables() {
        let t = transformer(r#"{"rule": "<aws.events.rule-name>", "e": <aws.events.event>}"#);
        let v: Value = serde_json::from_str(&t.render(&event(), RULE, "r1")).unwrap();
        assert_eq!(v["rule"], "r1");
        assert_eq!(v["e"]["detailType"], "core.update-account-command");
        assert!(v["e"].get("detail").is_none());
    }

    /// LocalStack's recorded PutTargets refusals (`test_events_inputs.snapshot.json`).
    #[test]
    fn put_targets_refusals_are_worded_as_aws() {
        let e = TargetInput::from_target(
            "t1",
            &json!({"InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<notdefinedkey>"}}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "InputTemplate for target t1 contains invalid placeholder notdefinedkey."
        );
        let e = TargetInput::from_target("t1", &json!({"Input": "{}", "InputPath": "$.detail"}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1."
        );
    }

    #[test]
    fn input_path_selects() {
        let t = TargetInput::from_target("t1", &json!({"InputPath": "$.detail.payload"})).unwrap();
        assert_eq!(
            t.render(&event(), RULE, "r1"),
            r#"{"acc_id":"0a787ecb-4015","sf_id":"baz"}"#
        );
        let p = JsonPath::parse("$.detail.listmulti[1]").unwrap();
        assert_eq!(p.select(&event()), Some(json!("INACTIVE")));
    }
}
