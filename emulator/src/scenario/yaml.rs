//! CloudFormation templates in YAML (and JSON) -> the JSON template form the resolver reads.
//!
//! CloudFormation reads YAML templates with the short-form tags of its intrinsic functions
//! (`!Ref X` is `{"Ref": "X"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub …` is
//! `{"Fn::Sub": …}`, …) as the "Intrinsic function reference" describes them
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html>;
//! `!GetStackOutput` and `!Transform` are documented short forms too,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html>).
//!
//! The parser is `saphyr-parser`: a maintained, YAML 1.2-compliant event parser that reports every
//! tag and every node's position (line and column), so this module can map tags to functions,
//! warn on duplicate keys (the last value wins, as in CloudFormation), reject aliases, and tell where each value of the template came from
//! ([`SourceMap`]). Plain scalars are typed as YAML 1.1 (the version CloudFormation's template
//! format page names, and the one its CLI and linter read with): `yes`/`no`/`on`/`off` are
//! booleans, `0777` is octal, and timestamps (which CloudFormation does not support) stay strings
//! — so `AWSTemplateFormatVersion: 2010-09-09` is the string `"2010-09-09"`.
//!
//! Nothing here panics on any input: syntax errors come back as [`ScenarioErrors`] with the line
//! and column, in CloudFormation's words (`Template format error: YAML not well-formed. (line L,
//! column C)`), followed by the parser's reason.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::error::{ErrorKind, ScenarioError, ScenarioErrors};

/// How deep collections may nest (serde_json's own limit): deeper documents are refused rather
/// than risk the stack of the recursive passes that follow.
pub const MAX_DEPTH: usize = 128;

/// The short-form tags CloudFormation reads, and the function each one stands for.
pub const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("FindInMap", "Fn::FindInMap"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("Transform", "Fn::Transform"),
    ("GetStackOutput", "Fn::GetStackOutput"),
    // Rule functions (the `Rules` section).
    ("Contains", "Fn::Contains"),
    ("EachMemberEquals", "Fn::EachMemberEquals"),
    ("EachMemberIn", "Fn::EachMemberIn"),
    ("RefAll", "Fn::RefAll"),
    ("ValueOf", "Fn::ValueOf"),
    ("ValueOfAll", "Fn::ValueOfAll"),
];

/// Where each node of a document starts, by the path the resolver uses in its messages
/// (`Resources.Alb.Properties.Subnets[0]`, `Outputs.X.Value.Fn::GetAtt`): 1-based line and column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    positions: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    /// The position of exactly this path.
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.positions.get(path).copied()
    }

    /// The position of `path`, or of the nearest node that encloses it (the resolver's paths
    /// may go deeper than the document, e.g. into a function's evaluated argument).
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(at) = self.positions.get(p) {
                return Some(*at);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// How many nodes it knows.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether it knows no node.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    fn insert(&mut self, path: &str, at: (usize, usize)) {
        self.positions.entry(path.to_string()).or_insert(at);
    }
}

/// A parsed document: its JSON form and where its nodes were.
#[derive(Clone, Debug)]
pub struct Document {
    /// The JSON form (short forms expanded to `Ref` / `Fn::…`).
    pub value: Value,
    /// Node positions.
    pub locations: SourceMap,
    /// `JSON` or `YAML`.
    pub format: &'static str,
    /// What CloudFormation accepts but a reader should know (duplicate keys).
    pub warnings: Vec<String>,
}

fn at_text(file: &str, pos: (usize, usize)) -> String {
    at(file, Some(pos))
}

/// `file:line:column`, the location form error messages use.
pub fn at(file: &str, pos: Option<(usize, usize)>) -> String {
    match pos {
        Some((line, col)) => format!("{file}:{line}:{col}"),
        None => file.to_string(),
    }
}

fn error(
    file: &str,
    pos: Option<(usize, usize)>,
    format: &'static str,
    reason: String,
) -> ScenarioError {
    ScenarioError {
        file: at(file, pos),
        logical_id: None,
        path: String::new(),
        kind: ErrorKind::Syntax { format, reason },
    }
}

/// Whether text is JSON rather than YAML: CloudFormation accepts both; a JSON template is an
/// object, so its first character (after a byte-order mark and white space) is `{`.
pub fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
}

/// Parses a template or scenario in JSON or YAML (chosen by its first character).
pub fn parse(text: &str, file: &str) -> Result<Document, ScenarioErrors> {
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        // Nothing to parse: say so, in the format the file's name announces.
        let format = if file.to_ascii_lowercase().ends_with(".json") {
            "JSON"
        } else {
            "YAML"
        };
        return Err(ScenarioErrors(vec![error(
            file,
            None,
            format,
            "Template format error: the file is empty".into(),
        )]));
    }
    if looks_like_json(text) {
        parse_json(text, file)
    } else {
        parse_yaml(text, file)
    }
}

/// Parses JSON; positions come from a second, YAML pass over the same text (JSON is YAML), so
/// errors found later can still name a line.
pub fn parse_json(text: &str, file: &str) -> Result<Document, ScenarioErrors> {
    let body = text.trim_start_matches('\u{feff}');
    let value: Value = serde_json::from_str(body).map_err(|e| {
        let pos = (e.line() > 0).then(|| (e.line(), e.column().max(1)));
        ScenarioErrors(vec![error(
            file,
            pos,
            "JSON",
            format!("Template format error: JSON not well-formed. {e}"),
        )])
    })?;
    // serde_json keeps the last of duplicate keys (CloudFormation's outcome); the YAML pass
    // names them.
    let (locations, warnings) = Builder::run(body, file)
        .map(|d| (d.locations, d.warnings))
        .unwrap_or_default();
    Ok(Document {
        value,
        locations,
        format: "JSON",
        warnings,
    })
}

/// Parses YAML with CloudFormation's tags.
pub fn parse_yaml(text: &str, file: &str) -> Result<Document, ScenarioErrors> {
    Builder::run(text, file)
}

/// Parses a template: the document must be a mapping (CloudFormation: "unsupported structure").
pub fn parse_template(
    text: &str,
    file: &str,
) -> Result<(Map<String, Value>, SourceMap), ScenarioErrors> {
    let doc = parse(text, file)?;
    match doc.value {
        Value::Object(map) => Ok((map, doc.locations)),
        _ => Err(ScenarioErrors(vec![error(
            file,
            None,
            doc.format,
            "Template format error: unsupported structure. (a template is a mapping of sections: Resources, Parameters, Outputs, …)".into(),
        )])),
    }
}

/// A template as [`parse_template`] reads it: the document and its nodes' positions.
#[derive(Debug)]
pub struct Template {
    /// The document (short forms expanded to `Ref` / `Fn::…`).
    pub doc: Map<String, Value>,
    /// Node positions.
    pub locations: SourceMap,
}

/// Templates parsed lately, by their text, the last used at the back; at most `max_entries`
/// of them and `max_bytes` of their text.
struct RecentTemplates {
    recent: Mutex<VecDeque<(Box<str>, Arc<Template>)>>,
    max_entries: usize,
    max_bytes: usize,
}

impl RecentTemplates {
    const fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
            max_entries,
            max_bytes,
        }
    }

    fn parse(&self, text: &str, file: &str) -> Result<Arc<Template>, ScenarioErrors> {
        let recent = || self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut r = recent();
            if let Some(i) = r.iter().position(|(t, _)| **t == *text) {
                let entry = r.remove(i).expect("a found entry");
                let template = entry.1.clone();
                r.push_back(entry);
                return Ok(template);
            }
        }
        // Parsed outside the lock: another thread's template is not held up by this one.
        let (doc, locations) = parse_template(text, file)?;
        let template = Arc::new(Template { doc, locations });
        if text.len() <= self.max_bytes {
            let mut r = recent();
            if !r.iter().any(|(t, _)| **t == *text) {
                r.push_back((text.into(), template.clone()));
                let mut bytes: usize = r.iter().map(|(t, _)| t.len()).sum();
                while r.len() > self.max_entries || bytes > self.max_bytes {
                    let Some((t, _)) = r.pop_front() else { break };
                    bytes -= t.len();
                }
            }
        }
        Ok(template)
    }
}

/// [`parse_template`], shared: the same text is parsed once while it stays among the last 16
/// templates parsed (1 MiB of text in all).
///
/// A stack's template is read by CreateStack's checks, by the deploy of every stack after it (a
/// deploy loads the stacks before it again), by DescribeStacks' output descriptions and by
/// `serve --stack`'s check; each used to parse it again. A parse's result depends on the text
/// alone (`file` only names it in errors, and errors are not kept).
pub fn parse_template_shared(text: &str, file: &str) -> Result<Arc<Template>, ScenarioErrors> {
    static RECENT: RecentTemplates = RecentTemplates::new(16, 1 << 20);
    RECENT.parse(text, file)
}

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

enum Container {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        /// Where the pending key is.
        key_at: (usize, usize),
        seen: HashMap<String, (usize, usize)>,
    },
}

struct Frame {
    container: Container,
    tag: Option<Tag>,
    path: String,
    at: (usize, usize),
    /// A collection used as a mapping key (refused when it ends).
    is_key: bool,
}

struct Builder<'f> {
    file: &'f str,
    stack: Vec<Frame>,
    root: Option<Value>,
    locations: SourceMap,
    errors: Vec<ScenarioError>,
    warnings: Vec<String>,
    documents: usize,
}

impl<'f> Builder<'f> {
    fn run(text: &str, file: &'f str) -> Result<Document, ScenarioErrors> {
        let mut b = Builder {
            file,
            stack: Vec::new(),
            root: None,
            locations: SourceMap::default(),
            errors: Vec::new(),
            warnings: Vec::new(),
            documents: 0,
        };
        let mut parser = Parser::new_from_str(text);
        while let Some(next) = parser.next_event() {
            match next {
                Ok((event, span)) => {
                    if matches!(event, Event::StreamEnd) {
                        break;
                    }
                    if !b.event(event, &span) {
                        break;
                    }
                }
                Err(e) => {
                    let m = e.marker();
                    let at = (m.line(), m.col() + 1);
                    b.errors.push(error(
                        file,
                        Some(at),
                        "YAML",
                        format!(
                            "Template format error: YAML not well-formed. (line {}, column {}): {}",
                            at.0,
                            at.1,
                            e.info()
                        ),
                    ));
                    break;
                }
            }
        }
        if !b.errors.is_empty() {
            return Err(ScenarioErrors(b.errors));
        }
        Ok(Document {
            value: b.root.unwrap_or(Value::Null),
            locations: b.locations,
            format: "YAML",
            warnings: b.warnings,
        })
    }

    fn fail(&mut self, at: (usize, usize), reason: String) {
        self.errors.push(error(
            self.file,
            Some(at),
            "YAML",
            format!(
                "Template format error: YAML not well-formed. (line {}, column {}): {reason}",
                at.0, at.1
            ),
        ));
    }

    /// Whether the next node is a mapping key.
    fn next_is_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                container: Container::Map { key: None, .. },
                ..
            })
        )
    }

    /// The path of the node that starts now.
    fn child_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(f) => match &f.container {
                Container::Seq(items) => format!("{}[{}]", f.path, items.len()),
                Container::Map { key: Some(k), .. } if f.path.is_empty() => k.clone(),
                Container::Map { key: Some(k), .. } => format!("{}.{k}", f.path),
                Container::Map { key: None, .. } => f.path.clone(),
            },
        }
    }

    /// Handles one event; `false` stops the parse (an error that makes the rest meaningless).
    fn event(&mut self, event: Event<'_>, span: &Span) -> bool {
        let at = pos(span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => true,
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        at,
                        "a template is one YAML document (found a second one)".into(),
                    );
                    return false;
                }
                true
            }
            Event::Alias(_) => {
                // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>
                // (earlier revisions): aliases and hash merges are not supported. CloudFormation's
                // answer to CreateStack/CreateChangeSet, as users quote it
                // (aws/serverless-application-model#228, seeebiii/aws-cloudformation-templates#1):
                // "Template error: YAML aliases are not allowed in CloudFormation templates".
                self.fail(
                    at,
                    "YAML aliases (*name) are not allowed in CloudFormation templates".into(),
                );
                self.complete(Value::Null, None, at, String::new());
                true
            }
            Event::Scalar(text, style, _anchor, tag) => {
                let is_key = self.next_is_key();
                let path = self.child_path();
                if is_key {
                    if let Some(t) = &tag
                        && !is_core(t, "str")
                        && !is_non_specific(t)
                    {
                        self.fail(at, format!("a mapping key cannot carry the tag {t}"));
                    }
                    self.key(text.to_string(), at);
                    return true;
                }
                self.locations.insert(&path, at);
                let value = match scalar(&text, style, tag.as_deref()) {
                    Ok(v) => v,
                    Err(reason) => {
                        self.fail(at, reason);
                        Value::Null
                    }
                };
                self.complete(value, tag.map(|t| t.into_owned()), at, path);
                true
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                let (Event::SequenceStart(_, tag) | Event::MappingStart(_, tag)) = event else {
                    return true;
                };
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(
                        at,
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                    );
                    return false;
                }
                let is_key = self.next_is_key();
                let path = self.child_path();
                // A block collection starts on the line after its key: point at the key.
                let at = match self.stack.last() {
                    Some(Frame {
                        container:
                            Container::Map {
                                key: Some(_),
                                key_at,
                                ..
                            },
                        ..
                    }) if key_at.0 < at.0 => *key_at,
                    _ => at,
                };
                if !is_key {
                    self.locations.insert(&path, at);
                }
                let container = if is_seq {
                    Container::Seq(Vec::new())
                } else {
                    Container::Map {
                        map: Map::new(),
                        key: None,
                        key_at: (0, 0),
                        seen: HashMap::new(),
                    }
                };
                self.stack.push(Frame {
                    container,
                    tag: tag.map(|t| t.into_owned()),
                    path,
                    at,
                    is_key,
                });
                true
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return true;
                };
                if frame.is_key {
                    self.fail(
                        frame.at,
                        "mapping keys must be plain strings, not collections".into(),
                    );
                    self.key(String::new(), frame.at);
                    return true;
                }
                let value = match frame.container {
                    Container::Seq(items) => Value::Array(items),
                    Container::Map { map, .. } => Value::Object(map),
                };
                self.complete(value, frame.tag, frame.at, frame.path);
                true
            }
        }
    }

    /// A mapping key was read.
    fn key(&mut self, key: String, at: (usize, usize)) {
        let mut problem = None;
        let mut warning = None;
        if let Some(Frame {
            container:
                Container::Map {
                    key: slot,
                    key_at,
                    seen,
                    ..
                },
            ..
        }) = self.stack.last_mut()
        {
            *key_at = at;
            if key == "<<" {
                problem = Some(
                    "YAML hash merges (<<) are not supported in CloudFormation templates"
                        .to_string(),
                );
            } else if let Some(first) = seen.get(&key) {
                // CloudFormation deploys such templates, the last value winning, for YAML and
                // JSON alike (PyYAML and cfn-lint read them so too: cfn-lint issue 35,
                // <https://github.com/aws-cloudformation/cfn-lint/issues/35>; verified against
                // CloudFormation in <https://github.com/go-to-k/cdk-real-drift/pull/1133>).
                warning = Some(format!(
                    "{}: duplicate key {key:?} (first at line {}, column {}): the last value wins, as in CloudFormation",
                    at_text(self.file, at),
                    first.0,
                    first.1
                ));
            } else {
                seen.insert(key.clone(), at);
            }
            *slot = Some(key);
        }
        if let Some(p) = problem {
            self.fail(at, p);
        }
        if let Some(w) = warning {
            tracing::warn!("{w}");
            self.warnings.push(w);
        }
    }

    /// A node is complete: apply its tag and put it into its parent.
    fn complete(&mut self, value: Value, tag: Option<Tag>, at: (usize, usize), path: String) {
        let value = match tag {
            None => value,
            Some(t) => match apply_tag(&t, value) {
                Ok((v, function)) => {
                    if let Some(f) = function {
                        let inner = if path.is_empty() {
                            f.to_string()
                        } else {
                            format!("{path}.{f}")
                        };
                        self.locations.insert(&inner, at);
                    }
                    v
                }
                Err(reason) => {
                    self.fail(at, reason);
                    Value::Null
                }
            },
        };
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(frame) => match &mut frame.container {
                Container::Seq(items) => items.push(value),
                Container::Map { map, key, .. } => {
                    if let Some(k) = key.take() {
                        map.insert(k, value);
                    }
                }
            },
        }
    }
}

fn is_core(tag: &Tag, name: &str) -> bool {
    tag.is_yaml_core_schema() && tag.suffix == name
}

/// The non-specific tag `!` (YAML 1.2, 6.9.1): the node is a string, a sequence or a mapping
/// by its kind. PyYAML (cfn-lint, the AWS CLI) reads `! "Ref": X` as the key `Ref`; the parser
/// gives it as an empty handle with the suffix `!`.
fn is_non_specific(tag: &Tag) -> bool {
    (tag.handle.is_empty() && tag.suffix == "!") || (tag.handle == "!" && tag.suffix.is_empty())
}

/// Applies a collection's or a scalar's tag; returns the value and the function it became.
fn apply_tag(tag: &Tag, value: Value) -> Result<(Value, Option<&'static str>), String> {
    if tag.is_yaml_core_schema() {
        let ok = match tag.suffix.as_str() {
            "map" => value.is_object(),
            "seq" => value.is_array(),
            // Scalars were typed by `scalar` already.
            "str" | "int" | "float" | "bool" | "null" => !value.is_object() && !value.is_array(),
            other => {
                return Err(format!(
                    "the tag !!{other} is not supported in CloudFormation templates (binary, omap, pairs, set and timestamp are not)"
                ));
            }
        };
        return if ok {
            Ok((value, None))
        } else {
            Err(format!("the tag !!{} does not fit this node", tag.suffix))
        };
    }
    if is_non_specific(tag) {
        // The non-specific tag `!`: a plain string (scalars) or the collection itself.
        return Ok((value, None));
    }
    if tag.handle != "!" {
        return Err(format!("unknown tag {tag}"));
    }
    let Some((_, function)) = SHORT_FORMS.iter().find(|(short, _)| *short == tag.suffix) else {
        return Err(format!(
            "unknown tag !{} (CloudFormation's short forms: {})",
            tag.suffix,
            SHORT_FORMS
                .iter()
                .map(|(s, _)| format!("!{s}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let arg = match (*function, value) {
        // `!GetAtt Resource.Attribute`: the logical id ends at the first dot
        // (attributes such as `Endpoint.Address` keep theirs).
        ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
            Some((id, attr)) => {
                Value::Array(vec![Value::String(id.into()), Value::String(attr.into())])
            }
            None => Value::String(s),
        },
        (_, v) => v,
    };
    let mut map = Map::new();
    map.insert(function.to_string(), arg);
    Ok((Value::Object(map), Some(function)))
}

/// YAML 1.1's implicit types, as PyYAML's resolver (which CloudFormation's CLI and cfn-lint use)
/// writes them; timestamps are left out (CloudFormation does not support the tag).
///
/// PyYAML writes each as a regular expression; they are matched here byte by byte, each
/// function's comment giving the expression it matches (the tests hold the expressions as the
/// oracle, `resolver_matches_pyyaml_expressions`). Compiling the four expressions took about
/// half a millisecond of every start; a template's scalars are matched in a few nanoseconds.
///
/// `^(?:~|null|Null|NULL|)$`
fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// `^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`
fn is_bool(text: &str) -> bool {
    matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `text` without one leading `-` or `+`, and whether it had one.
fn unsigned(text: &[u8]) -> (bool, &[u8]) {
    match text {
        [b'-' | b'+', rest @ ..] => (true, rest),
        _ => (false, text),
    }
}

/// One or more bytes, each `ok`.
fn all1(text: &[u8], ok: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.iter().all(|&b| ok(b))
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// How many `:[0-5]?[0-9]` follow a leading `[0-9][0-9_]*` (`first` narrows its first digit)
/// in `text`, if that is all `text` is: `Some(0)` for plain digits, more for base 60.
fn base60_parts(text: &[u8], first: fn(u8) -> bool) -> Option<usize> {
    let mut parts = text.split(|&b| b == b':');
    let head = parts.next().unwrap_or_default();
    if !(head.first().is_some_and(|&b| first(b)) && head.iter().all(|&b| digit_or_underscore(b))) {
        return None;
    }
    let mut sixties = 0;
    for part in parts {
        let ok = match part {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return None;
        }
        sixties += 1;
    }
    Some(sixties)
}

/// `^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`
fn is_int(text: &str) -> bool {
    let (_, t) = unsigned(text.as_bytes());
    match t {
        [b'0', b'b', rest @ ..] => all1(rest, |b| matches!(b, b'0' | b'1' | b'_')),
        [b'0', b'x', rest @ ..] => all1(rest, |b| b.is_ascii_hexdigit() || b == b'_'),
        [b'0'] => true,
        [b'0', rest @ ..] => all1(rest, |b| matches!(b, b'0'..=b'7' | b'_')),
        _ => {
            // Decimal, or base 60: `[1-9][0-9_]*` with any number of `:[0-5]?[0-9]`.
            base60_parts(t, |b| matches!(b, b'1'..=b'9')).is_some()
        }
    }
}

/// `[0-9_]*` (`[0-9_]+` when `nonempty`) then an optional `[eE][-+][0-9]+`.
fn fraction_and_exponent(text: &[u8], nonempty: bool) -> bool {
    let (fraction, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    (!nonempty || !fraction.is_empty())
        && fraction.iter().all(|&b| digit_or_underscore(b))
        && exponent.is_none_or(|e| match e {
            [b'-' | b'+', digits @ ..] => all1(digits, |b| b.is_ascii_digit()),
            _ => false,
        })
}

/// `^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`
fn is_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (signed, t) = unsigned(text.as_bytes());
    if matches!(t, b".inf" | b".Inf" | b".INF") {
        return true;
    }
    if let [b'.', rest @ ..] = t {
        // `\.[0-9_]+…` takes no sign.
        return !signed && fraction_and_exponent(rest, true);
    }
    let Some(dot) = t.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (whole, fraction) = (&t[..dot], &t[dot + 1..]);
    match base60_parts(whole, |b| b.is_ascii_digit()) {
        Some(0) => fraction_and_exponent(fraction, false),
        // Base 60 takes no exponent.
        Some(_) => fraction.iter().all(|&b| digit_or_underscore(b)),
        None => false,
    }
}

fn boolean(text: &str) -> Option<bool> {
    if !is_bool(text) {
        return None;
    }
    Some(matches!(
        text.to_ascii_lowercase().as_str(),
        "yes" | "true" | "on"
    ))
}

/// The value of a YAML 1.1 integer (binary, octal `0…`, decimal, hex, base 60).
fn integer(text: &str) -> Option<Value> {
    if !is_int(text) {
        return None;
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let magnitude: Option<i128> = if let Some(b) = digits.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else if let Some(h) = digits.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if digits.contains(':') {
        digits.split(':').try_fold(0i128, |acc, part| {
            acc.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)
        })
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()
    } else {
        digits.parse::<i128>().ok()
    };
    let n = magnitude.map(|m| if negative { -m } else { m })?;
    if let Ok(i) = i64::try_from(n) {
        Some(Value::from(i))
    } else if let Ok(u) = u64::try_from(n) {
        Some(Value::from(u))
    } else {
        // Too large for JSON numbers here: keep the text.
        Some(Value::String(text.to_string()))
    }
}

fn float(text: &str) -> Option<Value> {
    if !is_float(text) {
        return None;
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let n = if clean.contains(':') {
        let negative = clean.starts_with('-');
        let body = clean.trim_start_matches(['-', '+']);
        let mut parts = body.split(':').collect::<Vec<_>>();
        let last: f64 = parts.pop()?.parse().ok()?;
        let whole = parts
            .iter()
            .try_fold(0f64, |acc, p| Some(acc * 60.0 + p.parse::<f64>().ok()?))?;
        let v = whole * 60.0 + last;
        if negative { -v } else { v }
    } else {
        clean.parse::<f64>().ok()?
    };
    // Infinity and NaN have no JSON form: they stay text.
    Some(
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
    )
}

/// Types a scalar: plain scalars by YAML 1.1's implicit rules, quoted and block scalars are
/// strings, `!!type` tags force their type, CloudFormation's `!Function` tags take the text.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let string = || Value::String(text.to_string());
    if tag.is_some_and(is_non_specific) {
        // PyYAML resolves a `!`-tagged scalar as a plain one, whatever its quotes: `! 30` and
        // `! "30"` are both 30.
        return scalar(text, ScalarStyle::Plain, None);
    }
    match tag {
        Some(t) if t.is_yaml_core_schema() => match t.suffix.as_str() {
            "str" => Ok(string()),
            "null" if is_null(text) => Ok(Value::Null),
            "bool" => boolean(text)
                .map(Value::Bool)
                .ok_or_else(|| format!("{text:?} is not a !!bool")),
            "int" => integer(text).ok_or_else(|| format!("{text:?} is not an !!int")),
            "float" => float(text)
                .or_else(|| integer(text))
                .ok_or_else(|| format!("{text:?} is not a !!float")),
            "null" => Err(format!("{text:?} is not a !!null")),
            // Collections' tags and unsupported ones are judged by `apply_tag`.
            _ => Ok(string()),
        },
        Some(_) => Ok(string()),
        None if style != ScalarStyle::Plain => Ok(string()),
        None => Ok(if is_null(text) {
            Value::Null
        } else if let Some(b) = boolean(text) {
            Value::Bool(b)
        } else if let Some(i) = integer(text) {
            i
        } else if let Some(f) = float(text) {
            f
        } else {
            string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> Value {
        parse_yaml(text, "t.yaml")
            .unwrap_or_else(|e| panic!("{e}"))
            .value
    }

    fn yaml_err(text: &str) -> String {
        parse_yaml(text, "t.yaml").unwrap_err().to_string()
    }

    #[test]
    fn short_forms_become_functions() {
        let v = yaml(
            "A: !Ref X\nB: !GetAtt Db.Endpoint.Address\nC: !GetAtt [R, Arn]\nD: !Sub '${AWS::Region}-x'\nE: !Sub\n  - '${V}'\n  - V: !Ref Y\nF: !Select [0, !GetAZs '']\nG: !If [C1, !Ref AWS::NoValue, x]\nH: !Condition C2\nI: !GetAZs\nJ: !Base64 123\nK: !GetStackOutput\n  StackName: s\n  OutputName: o\n",
        );
        assert_eq!(v["A"], json!({"Ref": "X"}));
        assert_eq!(v["B"], json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]}));
        assert_eq!(v["C"], json!({"Fn::GetAtt": ["R", "Arn"]}));
        assert_eq!(v["D"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(v["E"], json!({"Fn::Sub": ["${V}", {"V": {"Ref": "Y"}}]}));
        assert_eq!(v["F"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(
            v["G"],
            json!({"Fn::If": ["C1", {"Ref": "AWS::NoValue"}, "x"]})
        );
        assert_eq!(v["H"], json!({"Condition": "C2"}));
        assert_eq!(v["I"], json!({"Fn::GetAZs": ""}));
        // A tagged scalar keeps its text: `!Base64 123` encodes the string "123".
        assert_eq!(v["J"], json!({"Fn::Base64": "123"}));
        assert_eq!(
            v["K"],
            json!({"Fn::GetStackOutput": {"StackName": "s", "OutputName": "o"}})
        );
    }

    #[test]
    fn plain_scalars_follow_yaml_1_1() {
        let v = yaml(
            "v: 2010-09-09\nb1: yes\nb2: Off\nn: ~\ne:\ni: 443\no: 0777\nacct: 012345678901\nx: 0x1F\nf: 1.5\nq: 'yes'\ns: 60:30\nbig: 123456789012345678901234567890\ninf: .inf\n",
        );
        assert_eq!(v["v"], "2010-09-09");
        assert_eq!(v["b1"], true);
        assert_eq!(v["b2"], false);
        assert_eq!(v["n"], Value::Null);
        assert_eq!(v["e"], Value::Null);
        assert_eq!(v["i"], 443);
        assert_eq!(v["o"], 511);
        // Account ids with a leading zero and an 8 or 9 are not octal: they stay text.
        assert_eq!(v["acct"], "012345678901");
        assert_eq!(v["x"], 31);
        assert_eq!(v["f"], 1.5);
        assert_eq!(v["q"], "yes");
        assert_eq!(v["s"], 3630);
        assert_eq!(v["big"], "123456789012345678901234567890");
        assert_eq!(v["inf"], ".inf");
    }

    #[test]
    fn core_tags_force_types() {
        let v = yaml("a: !!str 443\nb: !!int '12'\nc: !!bool 'true'\nd: !!float 2\n");
        assert_eq!(v, json!({"a": "443", "b": 12, "c": true, "d": 2}));
        assert!(yaml_err("a: !!binary aGVsbG8=\n").contains("!!binary"));
        assert!(yaml_err("a: !!timestamp 2001-12-14\n").contains("!!timestamp"));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = yaml_err("Resources:\n  A:\n    Type: x\n   Properties: {}\n");
        assert!(
            e.contains("t.yaml:4:") && e.contains("YAML not well-formed. (line 4"),
            "{e}"
        );
        let e = yaml_err("A: !Reff X\n");
        assert!(
            e.contains("unknown tag !Reff") && e.contains("t.yaml:1:4"),
            "{e}"
        );
        assert!(yaml_err("a: &x 1\nb: *x\n").contains("aliases"));
        assert!(yaml_err("a: {b: 1}\nc:\n  <<: {d: 2}\n").contains("hash merges"));
        assert!(yaml_err("a: 1\n---\nb: 2\n").contains("one YAML document"));
        assert!(yaml_err("? [a, b]\n: c\n").contains("mapping keys"));
    }

    /// CloudFormation deploys a template with a duplicate key, the last value winning
    /// (cfn-lint issue 35; cdk-real-drift pull 1133 verified it against CloudFormation).
    #[test]
    fn duplicate_keys_warn_and_the_last_value_wins_in_yaml_and_json() {
        let d = parse("A: 1\nB: 2\nA: 3\n", "t.yaml").unwrap();
        assert_eq!(d.value, json!({"A": 3, "B": 2}));
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0]
                .starts_with("t.yaml:3:1: duplicate key \"A\" (first at line 1, column 1)"),
            "{:?}",
            d.warnings
        );
        let d = parse("{\"A\": 1, \"B\": 2, \"A\": 3}", "t.json").unwrap();
        assert_eq!(d.value, json!({"A": 3, "B": 2}));
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(200) + &"]".repeat(200);
        assert!(yaml_err(&text).contains("deeper than"));
    }

    #[test]
    fn positions_follow_the_resolver_paths() {
        let d = parse_yaml(
            "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      VpcId: !Ref Vpc\n      Tags:\n        - Key: a\n",
            "t.yaml",
        )
        .unwrap();
        let m = &d.locations;
        assert_eq!(m.get("Resources.Sg.Properties.VpcId"), Some((5, 14)));
        assert_eq!(m.get("Resources.Sg.Properties.VpcId.Ref"), Some((5, 14)));
        assert_eq!(m.get("Resources.Sg.Properties.Tags[0].Key"), Some((7, 16)));
        assert_eq!(
            m.locate("Resources.Sg.Properties.VpcId.Ref[0]"),
            Some((5, 14))
        );
        assert_eq!(m.locate("Nope"), None);
    }

    #[test]
    fn json_is_read_as_json_with_positions() {
        let d = parse(
            "{\n  \"Resources\": {\n    \"A\": {\"Type\": \"T\"}\n  }\n}",
            "t.json",
        )
        .unwrap();
        assert_eq!(d.format, "JSON");
        assert_eq!(d.value["Resources"]["A"]["Type"], "T");
        assert_eq!(d.locations.get("Resources.A.Type"), Some((3, 19)));
        let e = parse("{\"a\": }", "t.json").unwrap_err().to_string();
        assert!(e.contains("t.json:1:"), "{e}");
    }

    #[test]
    fn templates_must_be_mappings() {
        let e = parse_template("- a\n- b\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported structure"), "{e}");
        assert!(parse_template("", "t.yaml").is_err());
    }

    #[test]
    fn recent_templates_are_parsed_once_within_their_bounds() {
        let recent = RecentTemplates::new(2, 64);
        let (a, b, c) = ("A: 1\n", "B: 2\n", "C: 3\n");
        let first = recent.parse(a, "a.yaml").unwrap();
        assert_eq!(first.doc, *yaml(a).as_object().unwrap());
        // The same text, under any name: the same parse.
        assert!(Arc::ptr_eq(&first, &recent.parse(a, "other.yaml").unwrap()));
        // Two kept: using A again keeps it over B when C arrives.
        let second = recent.parse(b, "b.yaml").unwrap();
        recent.parse(a, "a.yaml").unwrap();
        recent.parse(c, "c.yaml").unwrap();
        assert!(Arc::ptr_eq(&first, &recent.parse(a, "a.yaml").unwrap()));
        assert!(!Arc::ptr_eq(&second, &recent.parse(b, "b.yaml").unwrap()));
        // A text over the byte budget is parsed each time and evicts nothing.
        let big = format!("Big: {}\n", "x".repeat(64));
        let kept = recent.parse(b, "b.yaml").unwrap();
        let once = recent.parse(&big, "big.yaml").unwrap();
        assert!(!Arc::ptr_eq(
            &once,
            &recent.parse(&big, "big.yaml").unwrap()
        ));
        assert!(Arc::ptr_eq(&kept, &recent.parse(b, "b.yaml").unwrap()));
        // Errors are not kept: each read reports its own file.
        let e = recent.parse("- a\n", "one.yaml").unwrap_err().to_string();
        assert!(e.contains("one.yaml"), "{e}");
        let e = recent.parse("- a\n", "two.yaml").unwrap_err().to_string();
        assert!(e.contains("two.yaml"), "{e}");
    }
}

#[cfg(test)]
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn on_random_text(text in "\\PC{0,200}") {
            let _ = parse(&text, "fuzz");
        }

        #[test]
        fn on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text, "fuzz");
        }

        #[test]
        fn on_yaml_shaped_text(text in "([ \\t\\n:,\\-\\[\\]{}!&*?|>'\"#%@`~.0-9a-zA-Z]|!Ref |!GetAtt |!!str |<<: |--- ){0,80}") {
            let _ = parse(&text, "fuzz");
        }
    }
}

/// The resolver's byte-wise matchers against PyYAML's own expressions
/// (<https://github.com/yaml/pyyaml/blob/main/lib/yaml/resolver.py>), compiled here as the oracle.
#[cfg(test)]
mod resolver_matches_pyyaml_expressions {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    const BOOL: &str =
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$";
    const INT: &str = r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$";
    const FLOAT: &str = r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$";
    const NULL: &str = r"^(?:~|null|Null|NULL|)$";

    /// An expression, the matcher that replaces it, and the type's name.
    type Oracle = (Regex, fn(&str) -> bool, &'static str);

    static ORACLES: std::sync::LazyLock<[Oracle; 4]> = std::sync::LazyLock::new(|| {
        [
            (Regex::new(BOOL).unwrap(), is_bool, "bool"),
            (Regex::new(INT).unwrap(), is_int, "int"),
            (Regex::new(FLOAT).unwrap(), is_float, "float"),
            (Regex::new(NULL).unwrap(), is_null, "null"),
        ]
    });

    fn agree(text: &str) {
        for (regex, matcher, name) in ORACLES.iter() {
            assert_eq!(matcher(text), regex.is_match(text), "{name} on {text:?}");
        }
    }

    #[test]
    fn on_the_edges_of_each_form() {
        for text in [
            "",
            "~",
            "null",
            "NULL",
            "nULL",
            "yes",
            "YES",
            "yEs",
            "on",
            "Off",
            "y",
            "n",
            "0",
            "-0",
            "+0",
            "00",
            "07",
            "08",
            "0_7",
            "0b",
            "0b1",
            "0b2",
            "-0b1_0",
            "0x",
            "0xFf_",
            "0xg",
            "1",
            "-1",
            "1_000",
            "_1",
            "1:0",
            "1:60",
            "1:59",
            "1:5",
            "1:",
            ":1",
            "1::2",
            "190:20:30",
            "0:30",
            "1:0:",
            "1.",
            "1.5",
            "-1.5e+3",
            "1.5e3",
            "1.5E-3",
            "1e+3",
            ".5",
            "-.5",
            "._",
            ".",
            "..",
            "1.2.3",
            ".inf",
            "-.inf",
            "+.Inf",
            ".INF",
            ".nan",
            "-.nan",
            ".NaN",
            "1:30.5",
            "1:30.5e+1",
            "-1:30.",
            "1:60.0",
            "0:30.0",
            "1_:3.",
            "10.0.0.0/16",
            "443",
            "+",
            "-",
            "+.",
            "1.e+1",
            "1.e1",
            "1.5e+",
            "١",
            "1٠",
        ] {
            agree(text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        #[test]
        fn on_scalar_shaped_text(text in "[-+0-9_.:eEbxXaAfFinNIlLuUoOsStTyY~]{0,10}") {
            agree(&text);
        }

        #[test]
        fn on_any_text(text in "\\PC{0,12}") {
            agree(&text);
        }
    }
}
