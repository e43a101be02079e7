//! Parsing and validation of a state machine definition.
//!
//! Everything is checked once, up front, and every problem is reported with its JSON
//! pointer, in the shape `CreateStateMachine` uses for `InvalidDefinition`
//! (`SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, `UNREACHABLE_STATE`,
//! `DUPLICATE_STATE_NAME`, `MISSING_END_STATE`, `INVALID_JSON_DESCRIPTION`; codes from
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html>).
//! Field rules come from the state pages of the developer guide, e.g.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html>.

use super::error::{DefinitionError, Diagnostic};
use super::jsonata::{self, Expr};
use super::path::JsonPath;
use super::template::{Tmpl, escape_pointer};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};

/// The query language of the machine or of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    /// `JSONPath` (the default).
    JsonPath,
    /// `JSONata`.
    Jsonata,
}

/// A parsed, validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) block: Block,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) query_language: QueryLanguage,
    pub(crate) comment: Option<String>,
}

impl StateMachine {
    /// The top-level `QueryLanguage` (JSONPath when absent).
    pub fn query_language(&self) -> QueryLanguage {
        self.query_language
    }
    /// The top-level `TimeoutSeconds`.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }
    /// The top-level `Comment`.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }
    /// The `StartAt` state name.
    pub fn start_at(&self) -> &str {
        &self.block.start_at
    }
    /// Number of states, counting nested ones.
    pub fn state_count(&self) -> usize {
        fn count(b: &Block) -> usize {
            b.states
                .values()
                .map(|s| {
                    1 + match &s.kind {
                        Kind::Parallel { branches } => branches.iter().map(count).sum(),
                        Kind::Map(m) => count(&m.processor),
                        _ => 0,
                    }
                })
                .sum()
        }
        count(&self.block)
    }
}

/// `StartAt` + `States`.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
}

/// One state.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) ql: QueryLanguage,
    pub(crate) kind: Kind,
    pub(crate) input_path: OptPath,
    pub(crate) output_path: OptPath,
    pub(crate) result_path: OptPath,
    pub(crate) parameters: Option<Tmpl>,
    pub(crate) result_selector: Option<Tmpl>,
    pub(crate) arguments: Option<Tmpl>,
    pub(crate) output: Option<Tmpl>,
    pub(crate) assign: Option<Tmpl>,
    pub(crate) next: Option<String>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

/// A path field that may be absent (default `$`), `null`, or a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OptPath {
    Default,
    Null,
    Path(JsonPath),
}

/// A numeric field given literally, by reference path, or by JSONata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NumSpec {
    Fixed(f64),
    Path(JsonPath),
    Expr(Expr),
}

/// A string field given literally, by path, or by JSONata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StrSpec {
    Fixed(String),
    Path(JsonPath),
    Expr(Expr),
    /// `ErrorPath`/`CausePath` given as an intrinsic function (`States.Format(...)`).
    Intrinsic(super::intrinsics::Call),
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<NumSpec>,
        heartbeat: Option<NumSpec>,
        credentials: Option<Tmpl>,
    },
    Choice {
        rules: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait {
        seconds: Option<NumSpec>,
        timestamp: Option<StrSpec>,
    },
    Succeed,
    Fail {
        error: Option<StrSpec>,
        cause: Option<StrSpec>,
    },
    Parallel {
        branches: Vec<Block>,
    },
    Map(Box<MapSpec>),
}

#[derive(Debug, Clone)]
pub(crate) struct MapSpec {
    pub(crate) items_path: OptPath,
    pub(crate) items: Option<Tmpl>,
    pub(crate) item_selector: Option<Tmpl>,
    pub(crate) processor: Block,
    pub(crate) max_concurrency: Option<NumSpec>,
    pub(crate) tolerated_count: Option<NumSpec>,
    pub(crate) tolerated_percentage: Option<NumSpec>,
    /// `ProcessorConfig.Mode: DISTRIBUTED`: each item runs as a child execution of a Map Run.
    pub(crate) distributed: Option<Distributed>,
}

/// What a Distributed Map adds to a Map
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
#[derive(Debug, Clone)]
pub(crate) struct Distributed {
    /// `ProcessorConfig.ExecutionType`: the type of the child executions.
    pub(crate) execution_type: super::ExecutionType,
    /// `Label`: names the Map Run and its child executions (else a UUID does).
    pub(crate) label: Option<String>,
    /// `ItemBatcher`.
    pub(crate) batcher: Option<Batcher>,
}

/// `ItemBatcher` (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html>).
#[derive(Debug, Clone)]
pub(crate) struct Batcher {
    pub(crate) max_items: Option<NumSpec>,
    pub(crate) max_bytes: Option<NumSpec>,
    pub(crate) batch_input: Option<Tmpl>,
}

#[derive(Debug, Clone)]
pub(crate) struct ChoiceRule {
    pub(crate) cond: Cond,
    pub(crate) next: String,
    pub(crate) assign: Option<Tmpl>,
    pub(crate) output: Option<Tmpl>,
}

/// A Choice condition.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        variable: JsonPath,
        op: Op,
        operand: Operand,
    },
    Jsonata(Expr),
    /// A literal `true`/`false` Condition.
    Const(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Value(Value),
    Path(JsonPath),
}

/// Comparison operators (without the `Path` suffix, which lives in [`Operand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

/// Retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: f64,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<f64>,
    pub(crate) full_jitter: bool,
}

/// Catch policy.
#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: OptPath,
    pub(crate) output: Option<Tmpl>,
    pub(crate) assign: Option<Tmpl>,
}

// ---------------------------------------------------------------------------------------

struct V {
    diags: Vec<Diagnostic>,
    all_names: HashMap<String, String>,
}

impl V {
    fn schema(&mut self, at: &str, msg: impl Into<String>) {
        self.push("SCHEMA_VALIDATION_FAILED", at, msg);
    }
    fn push(&mut self, code: &'static str, at: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            code,
            message: msg.into(),
            location: if at.is_empty() { "/".into() } else { at.into() },
        });
    }
    /// "The field "<k>" is not supported by Step Functions" for each member of `obj` (at `at`)
    /// not in `allowed`.
    fn only(&mut self, obj: &Map<String, Value>, at: &str, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.schema(
                    &ptr(at, k),
                    format!("The field \"{k}\" is not supported by Step Functions"),
                );
            }
        }
    }
    /// The JSONata expression `src` of field `key` (at `at`), or its diagnostic.
    fn jsonata(&mut self, at: &str, key: &str, src: &str) -> Option<Expr> {
        match Expr::compile(src) {
            Ok(e) => Some(e),
            Err(m) => {
                self.schema(
                    &ptr(at, key),
                    format!("The JSONata expression '{}' is invalid: {m}", src.trim()),
                );
                None
            }
        }
    }
    /// `value`, or the diagnostics found.
    fn finish<T>(self, value: T) -> Result<T, DefinitionError> {
        if self.diags.is_empty() {
            Ok(value)
        } else {
            Err(DefinitionError::Invalid {
                diagnostics: self.diags,
            })
        }
    }
    fn tmpl_errs(&mut self, errs: Vec<(String, String)>) {
        for (at, m) in errs {
            self.schema(&at, m);
        }
    }
}

fn ptr(at: &str, k: &str) -> String {
    format!("{at}/{}", escape_pointer(k))
}

/// Fields each state type accepts, per query language. JSONPath-only fields are rejected
/// in JSONata states and vice versa
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>:
/// "your workflow fields will be reduced from five JSONPath fields ... to only two fields:
/// Arguments and Output").
fn allowed(ty: &str, ql: QueryLanguage) -> Vec<&'static str> {
    use QueryLanguage::*;
    /// Every state's.
    const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
    /// A state that moves on.
    const FLOW: &[&str] = &["Next", "End"];
    /// JSONPath's input and output filters.
    const FILTERS: &[&str] = &["InputPath", "OutputPath"];
    /// JSONPath's result processing (Task, Parallel, Map).
    const RESULT: &[&str] = &["ResultPath", "Parameters", "ResultSelector"];
    /// Error handling and variables (Task, Parallel, Map).
    const HANDLING: &[&str] = &["Retry", "Catch", "Assign"];
    /// A Distributed Map's data sources and sinks.
    const MAP_IO: &[&str] = &["ItemReader", "ItemBatcher", "ResultWriter", "Label"];
    let own: &[&[&str]] = match (ty, ql) {
        ("Pass", JsonPath) => &[
            FLOW,
            FILTERS,
            &["ResultPath", "Parameters", "Result", "Assign"],
        ],
        ("Pass", Jsonata) => &[FLOW, &["Output", "Assign"]],
        ("Task", JsonPath) => &[
            FLOW,
            FILTERS,
            RESULT,
            HANDLING,
            &[
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
                "Credentials",
            ],
        ],
        ("Task", Jsonata) => &[
            FLOW,
            HANDLING,
            &[
                "Arguments",
                "Output",
                "Resource",
                "TimeoutSeconds",
                "HeartbeatSeconds",
                "Credentials",
            ],
        ],
        ("Choice", JsonPath) => &[FILTERS, &["Choices", "Default", "Assign"]],
        ("Choice", Jsonata) => &[&["Choices", "Default", "Output", "Assign"]],
        ("Wait", JsonPath) => &[
            FLOW,
            FILTERS,
            &[
                "Seconds",
                "Timestamp",
                "SecondsPath",
                "TimestampPath",
                "Assign",
            ],
        ],
        ("Wait", Jsonata) => &[FLOW, &["Seconds", "Timestamp", "Output", "Assign"]],
        ("Succeed", JsonPath) => &[FILTERS],
        ("Succeed", Jsonata) => &[&["Output"]],
        ("Fail", JsonPath) => &[&["Error", "Cause", "ErrorPath", "CausePath"]],
        ("Fail", Jsonata) => &[&["Error", "Cause"]],
        ("Parallel", JsonPath) => &[FLOW, FILTERS, RESULT, HANDLING, &["Branches"]],
        ("Parallel", Jsonata) => &[FLOW, HANDLING, &["Arguments", "Output", "Branches"]],
        ("Map", JsonPath) => &[
            FLOW,
            FILTERS,
            RESULT,
            HANDLING,
            MAP_IO,
            &[
                "ItemSelector",
                "ItemsPath",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
            ],
        ],
        ("Map", Jsonata) => &[
            FLOW,
            HANDLING,
            MAP_IO,
            &[
                "Items",
                "ItemSelector",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "ToleratedFailureCount",
                "ToleratedFailurePercentage",
                "Output",
            ],
        ],
        _ => return Vec::new(),
    };
    COMMON
        .iter()
        .chain(own.iter().flat_map(|group| group.iter()))
        .copied()
        .collect()
}

/// Parses and validates a definition.
pub(crate) fn parse(definition: &str) -> Result<StateMachine, DefinitionError> {
    let (top, mut v) = open(definition, "state machine definition")?;
    let top = &top;
    v.only(
        top,
        "",
        &[
            "Comment",
            "StartAt",
            "States",
            "TimeoutSeconds",
            "Version",
            "QueryLanguage",
        ],
    );
    let ql = match top.get("QueryLanguage") {
        None => QueryLanguage::JsonPath,
        Some(Value::String(s)) if s == "JSONPath" => QueryLanguage::JsonPath,
        Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
        Some(_) => {
            v.schema(
                "/QueryLanguage",
                "The value for the field \"QueryLanguage\" must be one of: [JSONPath, JSONata]",
            );
            QueryLanguage::JsonPath
        }
    };
    let timeout_seconds = match top.get("TimeoutSeconds") {
        None => None,
        Some(t) => match positive_int(t) {
            Some(n) if n <= 99_999_999 => Some(n),
            _ => {
                v.schema("/TimeoutSeconds", "The value for the field \"TimeoutSeconds\" must be a positive integer no greater than 99999999");
                None
            }
        },
    };
    let comment = match top.get("Comment") {
        Some(Value::String(s)) => Some(s.clone()),
        None => None,
        Some(_) => {
            v.schema(
                "/Comment",
                "The value for the field \"Comment\" must be a STRING",
            );
            None
        }
    };
    if top.get("Version").is_some_and(|x| !x.is_string()) {
        v.schema(
            "/Version",
            "The value for the field \"Version\" must be a STRING",
        );
    }
    let block = parse_block(&mut v, top, "", ql, false);
    v.finish(StateMachine {
        block,
        timeout_seconds,
        query_language: ql,
        comment,
    })
}

/// What an Express machine may not hold: `.waitForTaskToken` and `.sync` integrations
/// (AWS-recorded: LocalStack test_sfn_api_validation.snapshot.json, ILLEGAL_WFTT, and
/// test_sfn_api_express.snapshot.json; the trailing space of the first message is AWS's).
pub(crate) fn express_diagnostics(b: &Block, at: &str, out: &mut Vec<Diagnostic>) {
    let mut names: Vec<&String> = b.states.keys().collect();
    names.sort();
    for name in names {
        let sat = ptr(&ptr(at, "States"), name);
        match &b.states[name].kind {
            Kind::Task { resource, .. } => {
                let msg = if resource.ends_with(".waitForTaskToken") {
                    Some(
                        "Express state machine does not support '.waitForTaskToken' service integration ",
                    )
                } else if resource.ends_with(".sync") || resource.contains(".sync:") {
                    Some("Express state machine does not support '.sync' service integration")
                } else {
                    None
                };
                if let Some(m) = msg {
                    out.push(Diagnostic {
                        code: "SCHEMA_VALIDATION_FAILED",
                        message: m.to_string(),
                        location: ptr(&sat, "Resource"),
                    });
                }
            }
            Kind::Parallel { branches } => {
                for (i, br) in branches.iter().enumerate() {
                    express_diagnostics(br, &format!("{sat}/Branches/{i}"), out);
                }
            }
            Kind::Map(m) => express_diagnostics(&m.processor, &ptr(&sat, "ItemProcessor"), out),
            _ => {}
        }
    }
}

/// [`express_diagnostics`] for the processors of Distributed Maps whose children are EXPRESS
/// executions (state-map-distributed.html, "ExecutionType"), in a STANDARD machine.
pub(crate) fn express_child_diagnostics(b: &Block, at: &str, out: &mut Vec<Diagnostic>) {
    let mut names: Vec<&String> = b.states.keys().collect();
    names.sort();
    for name in names {
        let sat = ptr(&ptr(at, "States"), name);
        match &b.states[name].kind {
            Kind::Parallel { branches } => {
                for (i, br) in branches.iter().enumerate() {
                    express_child_diagnostics(br, &format!("{sat}/Branches/{i}"), out);
                }
            }
            Kind::Map(m) => {
                let pat = ptr(&sat, "ItemProcessor");
                match &m.distributed {
                    Some(d) if d.execution_type == super::ExecutionType::Express => {
                        express_diagnostics(&m.processor, &pat, out)
                    }
                    _ => express_child_diagnostics(&m.processor, &pat, out),
                }
            }
            _ => {}
        }
    }
}

/// Parses one state on its own (TestState).
pub(crate) fn parse_single_state(definition: &str, name: &str) -> Result<State, DefinitionError> {
    let (obj, mut v) = open(definition, "state definition")?;
    let st = parse_state(&mut v, name, &obj, "", QueryLanguage::JsonPath);
    v.finish(st)
}

/// The JSON object a definition is (`what`: "state machine definition", "state definition"),
/// and the validator that will collect its diagnostics.
fn open(definition: &str, what: &str) -> Result<(Map<String, Value>, V), DefinitionError> {
    let doc: Value =
        serde_json::from_str(definition).map_err(|e| DefinitionError::InvalidJson {
            message: strip_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
        })?;
    let mut v = V {
        diags: Vec::new(),
        all_names: HashMap::new(),
    };
    match doc {
        Value::Object(o) => Ok((o, v)),
        _ => {
            v.schema("", format!("The {what} must be a JSON object"));
            Err(DefinitionError::Invalid {
                diagnostics: v.diags,
            })
        }
    }
}

fn strip_position(m: &str) -> String {
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

fn positive_int(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
        .filter(|n| *n > 0)
}

fn parse_block(
    v: &mut V,
    obj: &Map<String, Value>,
    at: &str,
    ql: QueryLanguage,
    nested: bool,
) -> Block {
    // Missing fields are named together: "These fields are required: [States, StartAt]" at
    // the block (AWS-recorded: LocalStack test_sfn_api_validation.snapshot.json, EMPTY_DICT and
    // INVALID_BASE_NO_STARTAT).
    let missing: Vec<&str> = ["States", "StartAt"]
        .into_iter()
        .filter(|k| !obj.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        v.schema(
            if at.is_empty() { "/" } else { at },
            format!("These fields are required: [{}]", missing.join(", ")),
        );
    }
    let start_at = match obj.get("StartAt") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            v.schema(
                &ptr(at, "StartAt"),
                "The value for the field \"StartAt\" must be a STRING",
            );
            String::new()
        }
        None => String::new(),
    };
    if nested {
        v.only(
            obj,
            at,
            &["Comment", "StartAt", "States", "ProcessorConfig"],
        );
    }
    let mut states = HashMap::new();
    let states_at = ptr(at, "States");
    match obj.get("States") {
        Some(Value::Object(m)) if !m.is_empty() => {
            for (name, sv) in m {
                let sat = ptr(&states_at, name);
                if let Some(prev) = v.all_names.get(name) {
                    let msg = format!("Duplicate State name: {name} (also at {prev})");
                    v.push("DUPLICATE_STATE_NAME", &sat, msg);
                } else {
                    v.all_names.insert(name.clone(), sat.clone());
                }
                if name.is_empty() || name.chars().count() > 80 {
                    v.push(
                        "INVALID_STATE_NAME",
                        &sat,
                        format!("State name '{name}' must be 1 to 80 characters long"),
                    );
                }
                match sv.as_object() {
                    Some(so) => {
                        let st = parse_state(v, name, so, &sat, ql);
                        states.insert(name.clone(), st);
                    }
                    None => v.schema(&sat, "A state must be a JSON object"),
                }
            }
        }
        Some(Value::Object(_)) => v.schema(
            &states_at,
            "The field \"States\" must contain at least one state",
        ),
        Some(_) => v.schema(
            &states_at,
            "The value for the field \"States\" must be an OBJECT",
        ),
        None => {}
    }
    if !start_at.is_empty() && !states.is_empty() && !states.contains_key(&start_at) {
        v.push(
            "MISSING_TRANSITION_TARGET",
            &ptr(at, "StartAt"),
            format!("Missing 'StartAt' target: {start_at}"),
        );
    }
    let block = Block { start_at, states };
    check_graph(v, &block, &states_at);
    block
}

/// Transition targets must exist, every state must be reachable, and some state must end.
fn check_graph(v: &mut V, b: &Block, states_at: &str) {
    let mut names: Vec<&String> = b.states.keys().collect();
    names.sort();
    let mut missing_target = false;
    for name in &names {
        let s = &b.states[*name];
        let sat = ptr(states_at, name);
        for (target, field) in targets(s) {
            if !b.states.contains_key(target) {
                missing_target = true;
                v.push(
                    "MISSING_TRANSITION_TARGET",
                    &format!("{sat}{field}"),
                    format!("Missing 'Next' target: {target}"),
                );
            }
        }
    }
    if b.states.contains_key(&b.start_at) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut q = VecDeque::from([b.start_at.as_str()]);
        while let Some(n) = q.pop_front() {
            if !seen.insert(n) {
                continue;
            }
            if let Some(s) = b.states.get(n) {
                for (t, _) in targets(s) {
                    q.push_back(t);
                }
            }
        }
        for name in &names {
            if !seen.contains(name.as_str()) {
                v.push(
                    "UNREACHABLE_STATE",
                    &ptr(states_at, name),
                    format!("State \"{name}\" is not reachable"),
                );
            }
        }
    }
    let terminal = b.states.values().any(|s| {
        matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
            || (s.next.is_none() && !matches!(s.kind, Kind::Choice { .. }))
    });
    // A dangling Next may have been meant as the end; report only the missing target then.
    if !b.states.is_empty() && !terminal && !missing_target {
        v.push(
            "MISSING_END_STATE",
            states_at,
            "Workflow has no terminal state",
        );
    }
}

fn targets(s: &State) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    if let Some(n) = &s.next {
        out.push((n.as_str(), "/Next".to_string()));
    }
    if let Kind::Choice { rules, default } = &s.kind {
        for (i, r) in rules.iter().enumerate() {
            out.push((r.next.as_str(), format!("/Choices/{i}/Next")));
        }
        if let Some(d) = default {
            out.push((d.as_str(), "/Default".to_string()));
        }
    }
    for (i, c) in s.catch.iter().enumerate() {
        out.push((c.next.as_str(), format!("/Catch/{i}/Next")));
    }
    out
}

fn opt_path(v: &mut V, o: &Map<String, Value>, at: &str, key: &str, reference: bool) -> OptPath {
    match o.get(key) {
        None => OptPath::Default,
        Some(Value::Null) => OptPath::Null,
        Some(Value::String(s)) => {
            let r = if reference {
                JsonPath::parse_reference(s)
            } else {
                JsonPath::parse(s)
            };
            match r {
                Ok(p) => OptPath::Path(p),
                Err(e) => {
                    v.schema(
                        &ptr(at, key),
                        format!(
                            "The value for the field \"{key}\" must be a valid {}: {}",
                            if reference {
                                "reference path"
                            } else {
                                "JSONPath"
                            },
                            e.reason
                        ),
                    );
                    OptPath::Default
                }
            }
        }
        Some(_) => {
            v.schema(
                &ptr(at, key),
                format!("The value for the field \"{key}\" must be a STRING or null"),
            );
            OptPath::Default
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn num_spec(
    v: &mut V,
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    path_key: Option<&str>,
    ql: QueryLanguage,
    positive: bool,
    max: f64,
) -> Option<NumSpec> {
    let lit = o.get(key);
    let path = path_key.and_then(|pk| o.get(pk).map(|p| (pk, p)));
    if lit.is_some() && path.is_some() {
        v.schema(
            at,
            format!(
                "The fields \"{key}\" and \"{}\" are mutually exclusive",
                path_key.unwrap_or("")
            ),
        );
    }
    if let Some(x) = lit {
        if let (QueryLanguage::Jsonata, Some(s)) = (ql, x.as_str())
            && let Some(src) = jsonata::as_expression(s)
        {
            return v.jsonata(at, key, src).map(NumSpec::Expr);
        }
        let n = x.as_f64().filter(|f| f.fract() == 0.0);
        return match n {
            Some(n) if (if positive { n > 0.0 } else { n >= 0.0 }) && n <= max => {
                Some(NumSpec::Fixed(n))
            }
            _ => {
                v.schema(&ptr(at, key), format!("The value for the field \"{key}\" must be {} integer no greater than {max}", if positive { "a positive" } else { "a non-negative" }));
                None
            }
        };
    }
    if let Some((pk, p)) = path {
        return match p.as_str().map(JsonPath::parse_reference) {
            Some(Ok(p)) => Some(NumSpec::Path(p)),
            _ => {
                v.schema(
                    &ptr(at, pk),
                    format!("The value for the field \"{pk}\" must be a valid reference path"),
                );
                None
            }
        };
    }
    None
}

fn str_spec(
    v: &mut V,
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    path_key: &str,
    ql: QueryLanguage,
) -> Option<StrSpec> {
    if o.contains_key(key) && o.contains_key(path_key) {
        v.schema(
            at,
            format!("The fields \"{key}\" and \"{path_key}\" are mutually exclusive"),
        );
    }
    if let Some(x) = o.get(key) {
        let Some(s) = x.as_str() else {
            v.schema(
                &ptr(at, key),
                format!("The value for the field \"{key}\" must be a STRING"),
            );
            return None;
        };
        if ql == QueryLanguage::Jsonata
            && let Some(src) = jsonata::as_expression(s)
        {
            return v.jsonata(at, key, src).map(StrSpec::Expr);
        }
        return Some(StrSpec::Fixed(s.to_string()));
    }
    if let Some(x) = o.get(path_key) {
        // ErrorPath/CausePath accept a path or an intrinsic (AWS-recorded: LocalStack
        // base/test_base.snapshot.json, test_state_fail_intrinsic); TimestampPath a path.
        let s = x.as_str().unwrap_or("");
        if path_key != "TimestampPath" && super::intrinsics::looks_like_call(s) {
            return match super::intrinsics::parse(s.trim()) {
                Ok(c) => Some(StrSpec::Intrinsic(c)),
                Err(m) => {
                    v.schema(
                        &ptr(at, path_key),
                        format!("The value for the field \"{path_key}\" must be a valid JSONPath or a valid intrinsic function call: {m}"),
                    );
                    None
                }
            };
        }
        return match JsonPath::parse(s) {
            Ok(p) => Some(StrSpec::Path(p)),
            Err(_) => {
                v.schema(
                    &ptr(at, path_key),
                    format!("The value for the field \"{path_key}\" must be a valid JSONPath"),
                );
                None
            }
        };
    }
    None
}

fn template(
    v: &mut V,
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    ql: QueryLanguage,
) -> Option<Tmpl> {
    let x = o.get(key)?;
    let mut errs = Vec::new();
    let here = ptr(at, key);
    let t = match ql {
        QueryLanguage::JsonPath => Tmpl::jsonpath(x, &here, &mut errs),
        QueryLanguage::Jsonata => Tmpl::jsonata(x, &here, &mut errs),
    };
    v.tmpl_errs(errs);
    Some(t)
}

fn assign(v: &mut V, o: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Option<Tmpl> {
    let x = o.get("Assign")?;
    let here = ptr(at, "Assign");
    match x.as_object() {
        Some(m) => {
            for k in m.keys() {
                let name = if ql == QueryLanguage::JsonPath {
                    k.strip_suffix(".$").unwrap_or(k)
                } else {
                    k
                };
                // Variable names follow identifier rules, max 80 characters; `states` is reserved
                // (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
                let valid = !name.is_empty()
                    && name.chars().count() <= 80
                    && name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                if !valid {
                    v.schema(
                        &ptr(&here, k),
                        format!("The variable name '{name}' is invalid"),
                    );
                } else if name == "states" {
                    v.schema(&ptr(&here, k), "The variable name 'states' is reserved");
                }
            }
        }
        None => v.schema(
            &here,
            "The value for the field \"Assign\" must be an OBJECT",
        ),
    }
    template(v, o, at, "Assign", ql)
}

fn error_equals(v: &mut V, o: &Map<String, Value>, at: &str) -> Vec<String> {
    let here = ptr(at, "ErrorEquals");
    match o.get("ErrorEquals") {
        Some(Value::Array(a)) if !a.is_empty() => {
            let names: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            if names.len() != a.len() {
                v.schema(
                    &here,
                    "The value for the field \"ErrorEquals\" must be an array of STRINGs",
                );
            }
            // "States.ALL ... must appear alone in the ErrorEquals array"
            // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)
            if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
                v.schema(&here, "States.ALL must appear alone in ErrorEquals");
            }
            names
        }
        Some(_) => {
            v.schema(&here, "The field \"ErrorEquals\" must be a non-empty array");
            vec![]
        }
        None => {
            v.schema(at, "The field \"ErrorEquals\" should be non-null");
            vec![]
        }
    }
}

fn parse_retry(v: &mut V, o: &Map<String, Value>, at: &str) -> Vec<Retrier> {
    let Some(x) = o.get("Retry") else {
        return vec![];
    };
    let here = ptr(at, "Retry");
    let Some(arr) = x.as_array() else {
        v.schema(&here, "The value for the field \"Retry\" must be an ARRAY");
        return vec![];
    };
    let mut out = Vec::new();
    for (i, r) in arr.iter().enumerate() {
        let rat = format!("{here}/{i}");
        let Some(r) = r.as_object() else {
            v.schema(&rat, "A retrier must be an OBJECT");
            continue;
        };
        v.only(
            r,
            &rat,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        );
        let ee = error_equals(v, r, &rat);
        if ee.iter().any(|n| n == "States.ALL") && i + 1 != arr.len() {
            v.schema(
                &ptr(&rat, "ErrorEquals"),
                "States.ALL must appear in the last retrier",
            );
        }
        // Defaults and limits: IntervalSeconds 1 (max 99999999), MaxAttempts 3 (0 = never,
        // max 99999999), BackoffRate 2.0 (>= 1.0), MaxDelaySeconds (0 < n < 31622401),
        // JitterStrategy FULL | NONE (default NONE).
        // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
        let interval = match r.get("IntervalSeconds") {
            None => 1.0,
            Some(x) => match positive_int(x) {
                Some(n) if n <= 99_999_999 => n as f64,
                _ => {
                    v.schema(&ptr(&rat, "IntervalSeconds"), "The value for the field \"IntervalSeconds\" must be a positive integer no greater than 99999999");
                    1.0
                }
            },
        };
        let max_attempts = match r.get("MaxAttempts") {
            None => 3,
            Some(x) => match x.as_u64() {
                Some(n) if n <= 99_999_999 => n as u32,
                _ => {
                    v.schema(&ptr(&rat, "MaxAttempts"), "The value for the field \"MaxAttempts\" must be a non-negative integer no greater than 99999999");
                    3
                }
            },
        };
        let backoff = match r.get("BackoffRate") {
            None => 2.0,
            Some(x) => match x.as_f64() {
                Some(f) if f >= 1.0 => f,
                _ => {
                    v.schema(&ptr(&rat, "BackoffRate"), "The value for the field \"BackoffRate\" must be a number greater than or equal to 1.0");
                    2.0
                }
            },
        };
        let max_delay = match r.get("MaxDelaySeconds") {
            None => None,
            Some(x) => match positive_int(x) {
                Some(n) if n < 31_622_401 => Some(n as f64),
                _ => {
                    v.schema(&ptr(&rat, "MaxDelaySeconds"), "The value for the field \"MaxDelaySeconds\" must be a positive integer less than 31622401");
                    None
                }
            },
        };
        let full_jitter = match r.get("JitterStrategy") {
            None => false,
            Some(Value::String(s)) if s == "FULL" => true,
            Some(Value::String(s)) if s == "NONE" => false,
            Some(_) => {
                v.schema(
                    &ptr(&rat, "JitterStrategy"),
                    "The value for the field \"JitterStrategy\" must be one of: [FULL, NONE]",
                );
                false
            }
        };
        out.push(Retrier {
            error_equals: ee,
            interval_seconds: interval,
            max_attempts,
            backoff_rate: backoff,
            max_delay_seconds: max_delay,
            full_jitter,
        });
    }
    out
}

fn parse_catch(v: &mut V, o: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Vec<Catcher> {
    let Some(x) = o.get("Catch") else {
        return vec![];
    };
    let here = ptr(at, "Catch");
    let Some(arr) = x.as_array() else {
        v.schema(&here, "The value for the field \"Catch\" must be an ARRAY");
        return vec![];
    };
    let mut out = Vec::new();
    for (i, c) in arr.iter().enumerate() {
        let cat = format!("{here}/{i}");
        let Some(c) = c.as_object() else {
            v.schema(&cat, "A catcher must be an OBJECT");
            continue;
        };
        let ok: &[&str] = match ql {
            QueryLanguage::JsonPath => &["ErrorEquals", "Next", "ResultPath", "Comment", "Assign"],
            QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Comment", "Assign"],
        };
        v.only(c, &cat, ok);
        let ee = error_equals(v, c, &cat);
        if ee.iter().any(|n| n == "States.ALL") && i + 1 != arr.len() {
            v.schema(
                &ptr(&cat, "ErrorEquals"),
                "States.ALL must appear in the last catcher",
            );
        }
        let next = match c.get("Next") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                v.schema(&cat, "The field \"Next\" should be non-null");
                String::new()
            }
        };
        let result_path = opt_path(v, c, &cat, "ResultPath", true);
        let output = if ql == QueryLanguage::Jsonata {
            template(v, c, &cat, "Output", ql)
        } else {
            None
        };
        let assign = assign(v, c, &cat, ql);
        out.push(Catcher {
            error_equals: ee,
            next,
            result_path,
            output,
            assign,
        });
    }
    out
}

fn parse_state(
    v: &mut V,
    name: &str,
    o: &Map<String, Value>,
    at: &str,
    parent_ql: QueryLanguage,
) -> State {
    let ql = match o.get("QueryLanguage") {
        None => parent_ql,
        Some(Value::String(s)) if s == "JSONPath" => {
            // A JSONPath machine may hold JSONata states, not the reverse (AWS-recorded:
            // LocalStack test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE).
            if parent_ql == QueryLanguage::Jsonata {
                v.schema(
                    if at.is_empty() { "/" } else { at },
                    "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                );
            }
            QueryLanguage::JsonPath
        }
        Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
        Some(_) => {
            v.schema(
                &ptr(at, "QueryLanguage"),
                "The value for the field \"QueryLanguage\" must be one of: [JSONPath, JSONata]",
            );
            parent_ql
        }
    };
    let ty = match o.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            v.schema(
                &ptr(at, "Type"),
                "The value for the field \"Type\" must be a STRING",
            );
            ""
        }
        None => {
            v.schema(at, "The field \"Type\" should be non-null");
            ""
        }
    };
    let allowed_fields = allowed(ty, ql);
    if !ty.is_empty() && allowed_fields.is_empty() {
        v.schema(&ptr(at, "Type"), format!("The value for the field \"Type\" must be one of: [Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map], got \"{ty}\""));
    } else {
        for k in o.keys() {
            if !allowed_fields.contains(&k.as_str()) {
                let other = match ql {
                    QueryLanguage::JsonPath => QueryLanguage::Jsonata,
                    QueryLanguage::Jsonata => QueryLanguage::JsonPath,
                };
                if allowed(ty, other).contains(&k.as_str()) {
                    v.schema(
                        &ptr(at, k),
                        format!(
                            "The field \"{k}\" is not supported when QueryLanguage is {}",
                            if ql == QueryLanguage::Jsonata {
                                "JSONata"
                            } else {
                                "JSONPath"
                            }
                        ),
                    );
                } else {
                    v.schema(
                        &ptr(at, k),
                        format!(
                            "The field \"{k}\" is not supported by Step Functions for a {ty} state"
                        ),
                    );
                }
            }
        }
    }
    // Next / End: "exactly one" for Pass, Task, Wait, Parallel, Map.
    let needs_transition = matches!(ty, "Pass" | "Task" | "Wait" | "Parallel" | "Map");
    let next = match (o.get("Next"), o.get("End")) {
        (Some(Value::String(n)), None) => Some(n.clone()),
        (None, Some(Value::Bool(true))) => None,
        (Some(_), Some(_)) if needs_transition => {
            v.schema(at, "The fields \"Next\" and \"End\" are mutually exclusive");
            None
        }
        (Some(_), None) if needs_transition => {
            v.schema(
                &ptr(at, "Next"),
                "The value for the field \"Next\" must be a STRING",
            );
            None
        }
        (None, Some(_)) if needs_transition => {
            v.schema(
                &ptr(at, "End"),
                "The value for the field \"End\" must be true",
            );
            None
        }
        (None, None) if needs_transition => {
            v.schema(at, "The field \"Next\" should be non-null");
            None
        }
        _ => None,
    };
    let jp = ql == QueryLanguage::JsonPath;
    let input_path = if jp {
        opt_path(v, o, at, "InputPath", false)
    } else {
        OptPath::Default
    };
    let output_path = if jp {
        opt_path(v, o, at, "OutputPath", false)
    } else {
        OptPath::Default
    };
    let result_path = if jp {
        opt_path(v, o, at, "ResultPath", true)
    } else {
        OptPath::Default
    };
    let parameters = if jp {
        template(v, o, at, "Parameters", ql)
    } else {
        None
    };
    let result_selector = if jp {
        template(v, o, at, "ResultSelector", ql)
    } else {
        None
    };
    let arguments = if jp {
        None
    } else {
        template(v, o, at, "Arguments", ql)
    };
    let output = if jp {
        None
    } else {
        template(v, o, at, "Output", ql)
    };
    let assign_t = assign(v, o, at, ql);
    let retry = parse_retry(v, o, at);
    let catch = parse_catch(v, o, at, ql);
    if o.contains_key("Parameters")
        && !o.get("Parameters").is_some_and(|p| p.is_object())
        && ty != "Map"
    {
        v.schema(
            &ptr(at, "Parameters"),
            "The value for the field \"Parameters\" must be an OBJECT",
        );
    }
    let kind = match ty {
        "Pass" => Kind::Pass {
            result: o.get("Result").cloned(),
        },
        "Task" => {
            let resource = match o.get("Resource") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(_) => {
                    v.push(
                        "INVALID_RESOURCE",
                        &ptr(at, "Resource"),
                        "The value for the field \"Resource\" must be a non-empty STRING",
                    );
                    String::new()
                }
                None => {
                    v.schema(at, "The field \"Resource\" should be non-null");
                    String::new()
                }
            };
            // TimeoutSeconds: positive integer, default 99999999; HeartbeatSeconds must be
            // smaller than TimeoutSeconds (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html).
            let timeout = num_spec(
                v,
                o,
                at,
                "TimeoutSeconds",
                Some("TimeoutSecondsPath"),
                ql,
                true,
                99_999_999.0,
            );
            let heartbeat = num_spec(
                v,
                o,
                at,
                "HeartbeatSeconds",
                Some("HeartbeatSecondsPath"),
                ql,
                true,
                99_999_999.0,
            );
            if let (Some(NumSpec::Fixed(t)), Some(NumSpec::Fixed(h))) = (&timeout, &heartbeat)
                && h >= t
            {
                v.schema(&ptr(at, "HeartbeatSeconds"), "The value for the field \"HeartbeatSeconds\" must be smaller than the value for the field \"TimeoutSeconds\"");
            }
            let credentials = template(v, o, at, "Credentials", ql);
            Kind::Task {
                resource,
                timeout,
                heartbeat,
                credentials,
            }
        }
        "Choice" => parse_choice(v, o, at, ql),
        "Wait" => {
            let seconds = num_spec(
                v,
                o,
                at,
                "Seconds",
                if jp { Some("SecondsPath") } else { None },
                ql,
                false,
                99_999_999.0,
            );
            let timestamp = str_spec(v, o, at, "Timestamp", "TimestampPath", ql);
            let count = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                .iter()
                .filter(|k| o.contains_key(**k))
                .count();
            if count != 1 {
                v.schema(at, "A Wait state must have exactly one of \"Seconds\", \"Timestamp\", \"SecondsPath\" or \"TimestampPath\"");
            }
            if let Some(StrSpec::Fixed(ts)) = &timestamp
                && chrono::DateTime::parse_from_rfc3339(ts).is_err()
            {
                v.schema(&ptr(at, "Timestamp"), "The value for the field \"Timestamp\" must be an ISO-8601 extended offset date-time");
            }
            Kind::Wait { seconds, timestamp }
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: str_spec(v, o, at, "Error", "ErrorPath", ql),
            cause: str_spec(v, o, at, "Cause", "CausePath", ql),
        },
        "Parallel" => {
            let bat = ptr(at, "Branches");
            let branches = match o.get("Branches") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| match b.as_object() {
                        Some(b) => Some(parse_block(v, b, &format!("{bat}/{i}"), ql, true)),
                        None => {
                            v.schema(&format!("{bat}/{i}"), "A branch must be an OBJECT");
                            None
                        }
                    })
                    .collect(),
                Some(_) => {
                    v.schema(&bat, "The field \"Branches\" must be a non-empty ARRAY");
                    vec![]
                }
                None => {
                    v.schema(at, "The field \"Branches\" should be non-null");
                    vec![]
                }
            };
            Kind::Parallel { branches }
        }
        "Map" => parse_map(v, o, at, ql),
        _ => Kind::Succeed,
    };
    State {
        name: name.to_string(),
        ql,
        kind,
        input_path,
        output_path,
        result_path,
        parameters,
        result_selector,
        arguments,
        output,
        assign: assign_t,
        next,
        retry,
        catch,
    }
}

fn parse_map(v: &mut V, o: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Kind {
    // ItemReader and ResultWriter read and write Amazon S3, which vpcgate has no model of:
    // refused at create, where AWS reports definition problems, rather than failing later
    // (README, fidelity notes).
    for k in ["ItemReader", "ResultWriter"] {
        if o.contains_key(k) {
            v.schema(&ptr(at, k), format!("The field \"{k}\" reads or writes Amazon S3, which vpcgate does not emulate; a Distributed Map in vpcgate iterates over its state input (ItemsPath / Items)"));
        }
    }
    let (proc_key, proc) = match (o.get("ItemProcessor"), o.get("Iterator")) {
        (Some(p), None) => ("ItemProcessor", Some(p)),
        (None, Some(p)) => ("Iterator", Some(p)),
        (Some(_), Some(_)) => {
            v.schema(
                at,
                "The fields \"ItemProcessor\" and \"Iterator\" are mutually exclusive",
            );
            ("ItemProcessor", None)
        }
        (None, None) => {
            v.schema(at, "The field \"ItemProcessor\" should be non-null");
            ("ItemProcessor", None)
        }
    };
    let pat = ptr(at, proc_key);
    let mut mode = None;
    let processor = match proc.and_then(|p| p.as_object()) {
        Some(p) => {
            if let Some(cfg) = p.get("ProcessorConfig") {
                mode = processor_config(v, cfg, &format!("{pat}/ProcessorConfig"));
            }
            parse_block(v, p, &pat, ql, true)
        }
        None => {
            if proc.is_some() {
                v.schema(
                    &pat,
                    format!("The value for the field \"{proc_key}\" must be an OBJECT"),
                );
            }
            Block {
                start_at: String::new(),
                states: HashMap::new(),
            }
        }
    };
    let jp = ql == QueryLanguage::JsonPath;
    let (items_path, items) = if jp {
        (opt_path(v, o, at, "ItemsPath", true), None)
    } else {
        (OptPath::Default, template(v, o, at, "Items", ql))
    };
    if o.contains_key("ItemSelector") && o.contains_key("Parameters") {
        v.schema(
            at,
            "The fields \"ItemSelector\" and \"Parameters\" are mutually exclusive",
        );
    }
    // `Parameters` on a Map is the legacy name of `ItemSelector`
    // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemselector.html).
    let item_selector = template(v, o, at, "ItemSelector", ql).or_else(|| {
        if jp {
            template(v, o, at, "Parameters", ql)
        } else {
            None
        }
    });
    let max_concurrency = num_spec(
        v,
        o,
        at,
        "MaxConcurrency",
        if jp { Some("MaxConcurrencyPath") } else { None },
        ql,
        false,
        1e9,
    );
    let tolerated_count = num_spec(
        v,
        o,
        at,
        "ToleratedFailureCount",
        if jp {
            Some("ToleratedFailureCountPath")
        } else {
            None
        },
        ql,
        false,
        1e12,
    );
    let tolerated_percentage = match o.get("ToleratedFailurePercentage") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if (0.0..=100.0).contains(&f) => Some(NumSpec::Fixed(f)),
            _ => {
                v.schema(&ptr(at, "ToleratedFailurePercentage"), "The value for the field \"ToleratedFailurePercentage\" must be a number between 0 and 100");
                None
            }
        },
        _ => num_spec(
            v,
            o,
            at,
            "ToleratedFailurePercentage",
            if jp {
                Some("ToleratedFailurePercentagePath")
            } else {
                None
            },
            ql,
            false,
            100.0,
        ),
    };
    let distributed = match mode {
        Some(execution_type) => Some(Distributed {
            execution_type,
            label: label(v, o, at),
            batcher: item_batcher(v, o, at, ql),
        }),
        None => {
            for k in ["ItemBatcher", "Label"] {
                if o.contains_key(k) {
                    v.schema(
                        &ptr(at, k),
                        format!(
                            "The field \"{k}\" is only supported by a Map state in DISTRIBUTED mode"
                        ),
                    );
                }
            }
            None
        }
    };
    Kind::Map(Box::new(MapSpec {
        items_path,
        items,
        item_selector,
        processor,
        max_concurrency,
        tolerated_count,
        tolerated_percentage,
        distributed,
    }))
}

/// `ProcessorConfig`: `Mode` INLINE (the default) or DISTRIBUTED, and for DISTRIBUTED the
/// required `ExecutionType` of the child executions
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>, "ItemProcessor").
/// Returns the child execution type of a Distributed Map, `None` for an inline one.
fn processor_config(v: &mut V, cfg: &Value, at: &str) -> Option<super::ExecutionType> {
    let Some(cfg) = cfg.as_object() else {
        v.schema(
            at,
            "The value for the field \"ProcessorConfig\" must be an OBJECT",
        );
        return None;
    };
    v.only(cfg, at, &["Mode", "ExecutionType"]);
    let mode = match cfg.get("Mode") {
        None => "INLINE",
        Some(Value::String(m)) if m == "INLINE" || m == "DISTRIBUTED" => m.as_str(),
        Some(_) => {
            v.schema(
                &ptr(at, "Mode"),
                "The value for the field \"Mode\" must be one of: [INLINE, DISTRIBUTED]",
            );
            return None;
        }
    };
    let ty = match cfg.get("ExecutionType") {
        Some(Value::String(t)) if t == "STANDARD" => Some(super::ExecutionType::Standard),
        Some(Value::String(t)) if t == "EXPRESS" => Some(super::ExecutionType::Express),
        Some(_) => {
            v.schema(
                &ptr(at, "ExecutionType"),
                "The value for the field \"ExecutionType\" must be one of: [STANDARD, EXPRESS]",
            );
            None
        }
        None => None,
    };
    if mode == "INLINE" {
        if cfg.contains_key("ExecutionType") {
            v.schema(
                &ptr(at, "ExecutionType"),
                "The field \"ExecutionType\" is only supported in DISTRIBUTED mode",
            );
        }
        return None;
    }
    if !cfg.contains_key("ExecutionType") {
        v.schema(at, "The field \"ExecutionType\" should be non-null");
    }
    Some(ty.unwrap_or_default())
}

/// Most characters in a Map Run `Label`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>, "Label").
const MAX_LABEL_CHARS: usize = 40;

/// `Label`: at most 40 characters, none of whitespace, `? * < > { } [ ] : ; , \ | ^ ~ $ # % & \` "`
/// nor control characters (state-map-distributed.html, "Label"; the messages are those
/// LocalStack's test_sfn_api_map_run.py checks against AWS: "Label cannot be empty", "Label
/// cannot exceed 40 characters", "Label contains invalid character: '?'").
fn label(v: &mut V, o: &Map<String, Value>, at: &str) -> Option<String> {
    let l = match o.get("Label")? {
        Value::String(l) => l,
        _ => {
            v.schema(
                &ptr(at, "Label"),
                "The value for the field \"Label\" must be a STRING",
            );
            return None;
        }
    };
    let bad = |c: char| {
        " ?*<>{}[]:;,\\|^~$#%&`\"".contains(c)
            || c.is_whitespace()
            || (c as u32) < 0x20
            || (0x7f..0xa0).contains(&(c as u32))
    };
    let msg = if l.is_empty() {
        Some("Label cannot be empty".to_string())
    } else if l.chars().count() > MAX_LABEL_CHARS {
        Some(format!("Label cannot exceed {MAX_LABEL_CHARS} characters"))
    } else {
        l.chars()
            .find(|c| bad(*c))
            .map(|c| format!("Label contains invalid character: '{}'", c.escape_default()))
    };
    match msg {
        Some(m) => {
            v.schema(&ptr(at, "Label"), m);
            None
        }
        None => Some(l.clone()),
    }
}

/// `ItemBatcher`: `MaxItemsPerBatch`(`Path`), `MaxInputBytesPerBatch`(`Path`) and `BatchInput`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html>: at least
/// one of the two limits; a batch is at most 256 KiB).
fn item_batcher(v: &mut V, o: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Option<Batcher> {
    let x = o.get("ItemBatcher")?;
    let bat = ptr(at, "ItemBatcher");
    let Some(b) = x.as_object() else {
        v.schema(
            &bat,
            "The value for the field \"ItemBatcher\" must be an OBJECT",
        );
        return None;
    };
    let jp = ql == QueryLanguage::JsonPath;
    let allowed: &[&str] = if jp {
        &[
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ]
    } else {
        &["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"]
    };
    v.only(b, &bat, allowed);
    let max_items = num_spec(
        v,
        b,
        &bat,
        "MaxItemsPerBatch",
        jp.then_some("MaxItemsPerBatchPath"),
        ql,
        true,
        1e9,
    );
    let max_bytes = num_spec(
        v,
        b,
        &bat,
        "MaxInputBytesPerBatch",
        jp.then_some("MaxInputBytesPerBatchPath"),
        ql,
        true,
        262_144.0,
    );
    if !b
        .keys()
        .any(|k| k.starts_with("MaxItemsPerBatch") || k.starts_with("MaxInputBytesPerBatch"))
    {
        v.schema(&bat, "The ItemBatcher must have at least one of \"MaxItemsPerBatch\", \"MaxItemsPerBatchPath\", \"MaxInputBytesPerBatch\" or \"MaxInputBytesPerBatchPath\"");
    }
    let batch_input = template(v, b, &bat, "BatchInput", ql);
    Some(Batcher {
        max_items,
        max_bytes,
        batch_input,
    })
}

fn parse_choice(v: &mut V, o: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Kind {
    let cat = ptr(at, "Choices");
    let mut rules = Vec::new();
    match o.get("Choices") {
        Some(Value::Array(a)) if !a.is_empty() => {
            for (i, r) in a.iter().enumerate() {
                let rat = format!("{cat}/{i}");
                let Some(r) = r.as_object() else {
                    v.schema(&rat, "A choice rule must be an OBJECT");
                    continue;
                };
                let next = match r.get("Next") {
                    Some(Value::String(s)) => s.clone(),
                    _ => {
                        v.schema(&rat, "The field \"Next\" should be non-null");
                        String::new()
                    }
                };
                let (cond, assign_t, output) = if ql == QueryLanguage::Jsonata {
                    for k in r.keys() {
                        if !["Condition", "Next", "Comment", "Assign", "Output"]
                            .contains(&k.as_str())
                        {
                            v.schema(&ptr(&rat, k), format!("The field \"{k}\" is not supported when QueryLanguage is JSONata"));
                        }
                    }
                    let cond = match r.get("Condition") {
                        Some(Value::String(s)) if jsonata::as_expression(s).is_some() => {
                            match Expr::compile(jsonata::as_expression(s).unwrap_or("")) {
                                Ok(e) => Cond::Jsonata(e),
                                Err(m) => {
                                    v.schema(
                                        &ptr(&rat, "Condition"),
                                        format!("The JSONata expression is invalid: {m}"),
                                    );
                                    Cond::Const(false)
                                }
                            }
                        }
                        Some(Value::Bool(b)) => Cond::Const(*b),
                        _ => {
                            v.schema(
                                &rat,
                                "The field \"Condition\" should be a JSONata expression",
                            );
                            Cond::Const(false)
                        }
                    };
                    (
                        cond,
                        assign(v, r, &rat, ql),
                        template(v, r, &rat, "Output", ql),
                    )
                } else {
                    let mut filtered = r.clone();
                    filtered.remove("Next");
                    filtered.remove("Assign");
                    (parse_cond(v, &filtered, &rat), assign(v, r, &rat, ql), None)
                };
                rules.push(ChoiceRule {
                    cond,
                    next,
                    assign: assign_t,
                    output,
                });
            }
        }
        Some(_) => v.schema(&cat, "The field \"Choices\" must be a non-empty ARRAY"),
        None => v.schema(at, "The field \"Choices\" should be non-null"),
    }
    let default = match o.get("Default") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            v.schema(
                &ptr(at, "Default"),
                "The value for the field \"Default\" must be a STRING",
            );
            None
        }
    };
    Kind::Choice { rules, default }
}

fn parse_cond(v: &mut V, r: &Map<String, Value>, at: &str) -> Cond {
    let mut keys: Vec<&str> = r
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "Comment")
        .collect();
    if let Some(x) = r.get("And").or_else(|| r.get("Or")) {
        let key = if r.contains_key("And") { "And" } else { "Or" };
        if keys.len() != 1 {
            v.schema(
                at,
                format!("A choice rule with \"{key}\" must not have other fields"),
            );
        }
        let here = ptr(at, key);
        let Some(a) = x.as_array().filter(|a| !a.is_empty()) else {
            v.schema(
                &here,
                format!("The value for the field \"{key}\" must be a non-empty ARRAY"),
            );
            return Cond::Const(false);
        };
        let subs = a
            .iter()
            .enumerate()
            .map(|(i, c)| match c.as_object() {
                Some(c) => {
                    if c.contains_key("Next") {
                        v.schema(
                            &format!("{here}/{i}/Next"),
                            "Nested choice rules must not have \"Next\"",
                        );
                    }
                    parse_cond(v, c, &format!("{here}/{i}"))
                }
                None => {
                    v.schema(&format!("{here}/{i}"), "A choice rule must be an OBJECT");
                    Cond::Const(false)
                }
            })
            .collect();
        return if key == "And" {
            Cond::And(subs)
        } else {
            Cond::Or(subs)
        };
    }
    if let Some(x) = r.get("Not") {
        if keys.len() != 1 {
            v.schema(at, "A choice rule with \"Not\" must not have other fields");
        }
        return match x.as_object() {
            Some(c) => Cond::Not(Box::new(parse_cond(v, c, &ptr(at, "Not")))),
            None => {
                v.schema(
                    &ptr(at, "Not"),
                    "The value for the field \"Not\" must be an OBJECT",
                );
                Cond::Const(false)
            }
        };
    }
    let variable = match r.get("Variable") {
        Some(Value::String(s)) => match JsonPath::parse(s) {
            Ok(p) => Some(p),
            Err(e) => {
                v.schema(
                    &ptr(at, "Variable"),
                    format!(
                        "The value for the field \"Variable\" must be a valid JSONPath: {}",
                        e.reason
                    ),
                );
                None
            }
        },
        Some(_) => {
            v.schema(
                &ptr(at, "Variable"),
                "The value for the field \"Variable\" must be a STRING",
            );
            None
        }
        None => {
            v.schema(at, "The field \"Variable\" should be non-null");
            None
        }
    };
    keys.retain(|k| *k != "Variable");
    if keys.len() != 1 {
        v.schema(
            at,
            "A choice rule must have exactly one comparison operator",
        );
        return Cond::Const(false);
    }
    let key = keys[0];
    let (base, is_path) = match key.strip_suffix("Path") {
        Some(b) if OPS.iter().any(|(n, _)| *n == b) => (b, true),
        _ => (key, false),
    };
    let Some(&(_, op)) = OPS.iter().find(|(n, _)| *n == base) else {
        v.schema(
            &ptr(at, key),
            format!("The field \"{key}\" is not a supported comparison operator"),
        );
        return Cond::Const(false);
    };
    let raw = &r[key];
    let here = ptr(at, key);
    let operand = if is_path {
        if matches!(
            op,
            Op::IsNull
                | Op::IsPresent
                | Op::IsNumeric
                | Op::IsString
                | Op::IsBoolean
                | Op::IsTimestamp
        ) {
            v.schema(
                &here,
                format!("\"{key}\" is not a supported comparison operator"),
            );
        }
        match raw.as_str().map(JsonPath::parse) {
            Some(Ok(p)) => Operand::Path(p),
            _ => {
                v.schema(
                    &here,
                    format!("The value for the field \"{key}\" must be a valid JSONPath"),
                );
                Operand::Value(Value::Null)
            }
        }
    } else {
        let ok = match op {
            Op::StringEquals
            | Op::StringLessThan
            | Op::StringGreaterThan
            | Op::StringLessThanEquals
            | Op::StringGreaterThanEquals
            | Op::StringMatches => raw.is_string(),
            Op::NumericEquals
            | Op::NumericLessThan
            | Op::NumericGreaterThan
            | Op::NumericLessThanEquals
            | Op::NumericGreaterThanEquals => raw.is_number(),
            Op::BooleanEquals
            | Op::IsNull
            | Op::IsPresent
            | Op::IsNumeric
            | Op::IsString
            | Op::IsBoolean
            | Op::IsTimestamp => raw.is_boolean(),
            Op::TimestampEquals
            | Op::TimestampLessThan
            | Op::TimestampGreaterThan
            | Op::TimestampLessThanEquals
            | Op::TimestampGreaterThanEquals => raw
                .as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        };
        if !ok {
            v.schema(
                &here,
                format!("The value for the field \"{key}\" has the wrong type"),
            );
        }
        Operand::Value(raw.clone())
    };
    match variable {
        Some(variable) => Cond::Cmp {
            variable,
            op,
            operand,
        },
        None => Cond::Const(false),
    }
}
