//! Scenario files: CloudFormation-shaped documents plus vpcgate's own section.
//!
//! A scenario is a CloudFormation template (`Parameters`, `Conditions`, `Mappings`, `Resources`,
//! `Outputs`, with the real resource types and property names) plus a top-level `Vpcgate` section
//! for what CloudFormation cannot say: region, account, stack name, the clock, the ACM certificates
//! that already exist, and the *cases* — what to run and what must come out:
//!
//! ```json
//! "Vpcgate": {
//!   "Region": "ap-northeast-1", "AccountId": "123456789012", "StackName": "eb-connection-infra",
//!   "Clock": "2026-06-14T03:00:00Z",
//!   "Certificates": [{"Arn": "arn:aws:acm:…", "DomainName": "eb-demo.example.com", "Issuer": "SELF_SIGNED"}],
//!   "Cases": [{"Name": "seed-output", "StartExecution": {"StateMachine": "StateMachineA", "Input": {}},
//!              "Expect": {"Status": "SUCCEEDED", "Output": {…}}}]
//! }
//! ```
//!
//! Loading resolves every intrinsic function ([`template`]), then checks each resource as AWS
//! would when creating it ([`resources`]); every error names the file, the logical id and the
//! property path, and all errors are reported at once.

pub mod alb;
pub mod apigw;
pub mod apigwv2;
pub mod bindings;
pub mod ec2;
pub mod error;
pub mod events;
pub mod iam;
pub mod ids;
pub mod language_extensions;
pub mod lattice;
pub mod network;
pub mod nlb;
pub mod openapi;
pub(crate) mod props;
pub mod public_endpoints;
pub mod request;
pub mod resource_gateways;
pub mod resources;
pub mod sam;
pub mod stacks;
pub mod template;
pub mod transform;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use error::{ErrorKind, ScenarioError, ScenarioErrors};
use ids::IdContext;
pub use template::StackLinks;

use crate::model::{Certificate, Model};
use crate::pki::Issuer;

/// What a case starts.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StartExecution {
    /// Logical id, name or ARN of the state machine.
    pub state_machine: String,
    /// The execution input (default `{}`).
    #[serde(default)]
    pub input: Option<Value>,
    /// The execution name (default: generated).
    #[serde(default)]
    pub name: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// What must come out of a case.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Expect {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    #[serde(default)]
    pub status: Option<String>,
    /// The exact output (compared as JSON).
    #[serde(default)]
    pub output: Option<Value>,
    /// A JSON value the output must contain (objects: these keys with these values, recursively).
    #[serde(default)]
    pub output_includes: Option<Value>,
    /// The exact error name.
    #[serde(default)]
    pub error: Option<String>,
    /// The exact cause.
    #[serde(default)]
    pub cause: Option<String>,
    /// Text the cause must contain.
    #[serde(default)]
    pub cause_contains: Option<String>,
    /// Virtual seconds from start to end.
    #[serde(default)]
    pub elapsed_seconds: Option<f64>,
    /// Texts that must each appear in some hop of the trace.
    #[serde(default)]
    pub trace_contains: Vec<String>,
    /// `Request` cases: the HTTP status.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// `Request` cases: texts the response body must contain (a string or a list).
    #[serde(default, deserialize_with = "one_or_many")]
    pub body_contains: Vec<String>,
    /// `Request` cases: response headers (name, case-insensitive -> exact value).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `Request` cases: a JSON value the last VPC Lattice access log entry must include.
    #[serde(default)]
    pub access_log_includes: Option<Value>,
}

/// One case of a scenario.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Case {
    /// A short name (unique in the file).
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: Option<String>,
    /// The execution to start.
    #[serde(default)]
    pub start_execution: Option<StartExecution>,
    /// Or: one HTTP request ([`request::Request`]): `From` an instance or subnet in a VPC, or
    /// straight to API Gateway without it.
    #[serde(default)]
    pub request: Option<Value>,
    /// Or: EventBridge PutEvents (`{"Entries": [...]}`); the case waits for every delivery and
    /// its output is PutEvents' answer with the `Deliveries` made ([`crate::events::target`]).
    #[serde(default)]
    pub put_events: Option<Value>,
    /// The expected outcome.
    #[serde(default)]
    pub expect: Expect,
}

/// What a case runs, which decides the expectations it can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    /// `StartExecution`: an execution's status, output, error and cause.
    Execution,
    /// `Request` (one dialect, [`request::Request`]): the output `{"StatusCode", "StatusText",
    /// "Headers", "Body"}` or, when no response came, `{"Error", "Message"}`.
    Request,
    /// `PutEvents`: the deliveries' status (`DELIVERED`, `FAILED`, `NOT_MATCHED`), output
    /// (`FailedEntryCount`, `Entries`, `Deliveries`), the first failure's `ErrorCode` as
    /// `Error` and `ErrorMessage` as cause, the first API destination answer's status and body.
    PutEvents,
}

impl CaseKind {
    /// Whether `vpcgate check` checks the expectation `key` (its name in `Expect`) for this kind.
    pub fn checks(self, key: &str) -> bool {
        match key {
            // Shared by every kind.
            "ElapsedSeconds" | "TraceContains" | "AccessLogIncludes" => true,
            "Output" | "OutputIncludes" => true,
            "Status" => matches!(self, Self::Execution | Self::PutEvents),
            "Error" | "CauseContains" => true,
            "Cause" => self != Self::Request,
            "StatusCode" | "BodyContains" | "Headers" => self != Self::Execution,
            _ => false,
        }
    }
}

impl Expect {
    /// The names of the expectations this `Expect` sets, as written in scenarios.
    pub fn keys(&self) -> Vec<&'static str> {
        [
            ("Status", self.status.is_some()),
            ("Output", self.output.is_some()),
            ("OutputIncludes", self.output_includes.is_some()),
            ("Error", self.error.is_some()),
            ("Cause", self.cause.is_some()),
            ("CauseContains", self.cause_contains.is_some()),
            ("ElapsedSeconds", self.elapsed_seconds.is_some()),
            ("TraceContains", !self.trace_contains.is_empty()),
            ("StatusCode", self.status_code.is_some()),
            ("BodyContains", !self.body_contains.is_empty()),
            ("Headers", !self.headers.is_empty()),
            ("AccessLogIncludes", self.access_log_includes.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

impl Case {
    /// What the case runs, if it runs exactly one thing.
    pub fn kind(&self) -> Option<CaseKind> {
        match (&self.start_execution, &self.request, &self.put_events) {
            (Some(_), None, None) => Some(CaseKind::Execution),
            (None, Some(_), None) => Some(CaseKind::Request),
            (None, None, Some(_)) => Some(CaseKind::PutEvents),
            _ => None,
        }
    }

    /// Refuses a case that runs nothing (or two things), expects nothing, or expects what its
    /// kind cannot check: `(the Expect key, why)`.
    pub fn check_expectations(&self) -> Result<(), (Option<&'static str>, String)> {
        let Some(kind) = self.kind() else {
            return Err((
                None,
                "a case runs exactly one of StartExecution, Request or PutEvents".into(),
            ));
        };
        let keys = self.expect.keys();
        if keys.is_empty() {
            return Err((
                None,
                "Expect is empty: a case must expect something (Status, Output, StatusCode, …)"
                    .into(),
            ));
        }
        for key in keys {
            if !kind.checks(key) {
                let what = match kind {
                    CaseKind::Execution => "a StartExecution case",
                    CaseKind::Request => {
                        "a Request case (its output is StatusCode, Headers, Body or Error, Message)"
                    }
                    CaseKind::PutEvents => "a PutEvents case",
                };
                return Err((Some(key), format!("{key} is not checked for {what}")));
            }
        }
        Ok(())
    }
}

/// A load error a scenario expects (the scenario is a negative example).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ExpectLoadError {
    /// The logical id the error must name.
    #[serde(default)]
    pub logical_id: Option<String>,
    /// The property path the error must name.
    #[serde(default)]
    pub path: Option<String>,
    /// Text the message must contain.
    #[serde(default)]
    pub message_contains: Option<String>,
}

/// An existing ACM certificate (`Vpcgate.Certificates`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CertificateSpec {
    /// Its ARN, as templates refer to it.
    pub arn: String,
    /// The domain name.
    pub domain_name: String,
    /// More names.
    #[serde(default)]
    pub subject_alternative_names: Vec<String>,
    /// `PUBLIC_CA` (ACM-issued, the default) or `SELF_SIGNED` (imported).
    #[serde(default)]
    pub issuer: Option<String>,
}

/// A fault injected into an ALB listener (`Vpcgate.Faults`): vpcgate's test aid for retries and
/// time-outs, not an AWS feature.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Logical id of the `AWS::ElasticLoadBalancingV2::Listener`.
    pub listener: String,
    /// How many requests it affects, from the first (default: all).
    #[serde(default)]
    pub first_requests: Option<u32>,
    /// Answer with ALB's own error page of this status.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Never answer.
    #[serde(default)]
    pub hang: bool,
    /// Answer after this many seconds (virtual time).
    #[serde(default)]
    pub delay_seconds: Option<f64>,
}

/// The `Vpcgate` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Settings {
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// A base scenario (path relative to this file) that this one modifies: the rest of this file
    /// is applied to the base as a JSON merge patch (RFC 7386: objects merge, `null` removes, lists
    /// replace); settings this file leaves out come from the base; cases come from this file only.
    #[serde(default)]
    pub extends: Option<String>,
    /// `AWS::Region` (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// `AWS::AccountId` (default `123456789012`).
    #[serde(default)]
    pub account_id: Option<String>,
    /// `AWS::StackName` (default: the file name).
    #[serde(default)]
    pub stack_name: Option<String>,
    /// Wall-clock time at start (RFC 3339); default: the host's time.
    #[serde(default)]
    pub clock: Option<String>,
    /// Parameter values.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// Existing ACM certificates.
    #[serde(default)]
    pub certificates: Vec<CertificateSpec>,
    /// Faults injected into ALB listeners.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// VPC Lattice service networks: workloads on instances, access log files
    /// ([`lattice::LatticeSettings`]).
    #[serde(default)]
    pub lattice: Option<Value>,
    /// JWKS documents by issuer, for HTTP API JWT authorizers (the emulated world cannot fetch
    /// `{issuer}/.well-known/openid-configuration`): `{"<issuer>": {"keys": [...]}}`.
    #[serde(default)]
    pub jwks: BTreeMap<String, Value>,
    /// The load error this scenario must produce.
    #[serde(default)]
    pub expect_load_error: Option<ExpectLoadError>,
    /// The cases.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// CloudFormation stacks (YAML or JSON templates, relative to this file) deployed in this
    /// order before this file's own resources, if any ([`stacks`]).
    #[serde(default)]
    pub stacks: Vec<stacks::StackEntry>,
    /// What the account already has ([`stacks::Environment`]): a file relative to this one, or
    /// the object itself.
    #[serde(default)]
    pub environment: Option<Value>,
}

/// A parsed scenario document, not yet built into a model.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it came from (or `<inline>`).
    pub file: String,
    /// The template part.
    pub template: Map<String, Value>,
    /// The `Vpcgate` section.
    pub settings: Settings,
    /// Where each node of the file is (line, column), for messages.
    pub locations: yaml::SourceMap,
}

/// The largest scenario, template or environment file vpcgate reads. CloudFormation's own limit
/// is 1 MB for a template read from S3 (51,200 bytes inline: "CloudFormation quotas",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>);
/// vpcgate allows 4 MiB so a scenario can carry several templates' worth of cases.
pub const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// Whether `path` is a file the loader can read: a regular file, or a bundled one
/// ([`crate::bundled`]).
pub fn is_file(path: &Path) -> bool {
    if crate::bundled::is_bundled(path) {
        crate::bundled::file(path).is_some()
    } else {
        path.is_file()
    }
}

/// Reads a scenario, template or environment file: a regular file (not a device, a FIFO or a
/// folder) of at most [`MAX_SOURCE_BYTES`], in UTF-8. The error says which rule it broke.
pub fn read_source(path: &Path) -> Result<String, String> {
    use std::io::Read;
    if crate::bundled::is_bundled(path) {
        // A file shipped in the binary (`serve` and `check` with nothing given).
        return crate::bundled::file(path)
            .map(str::to_string)
            .ok_or_else(|| "cannot read the file: there is no such bundled file".into());
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read the file: not a regular file".into());
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(format!(
            "the file is {} bytes; vpcgate reads files of at most {MAX_SOURCE_BYTES} bytes",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    // The size may change between the check and the read: never read more than the limit.
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(format!(
            "the file grew past {MAX_SOURCE_BYTES} bytes while it was read"
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("the file is not UTF-8 text: {e}"))
}

fn syntax(file: &str, format: &'static str, reason: String) -> ScenarioErrors {
    ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        logical_id: None,
        path: String::new(),
        kind: ErrorKind::Syntax { format, reason },
    }])
}

impl Scenario {
    /// Reads a scenario file (and the base it `Extends`, if any).
    pub fn load(path: &Path) -> Result<Self, ScenarioErrors> {
        Self::load_nested(path, 0)
    }

    fn load_nested(path: &Path, depth: usize) -> Result<Self, ScenarioErrors> {
        let file = path.display().to_string();
        let text = read_source(path).map_err(|e| {
            ScenarioErrors(vec![ScenarioError {
                file: file.clone(),
                logical_id: None,
                path: String::new(),
                kind: ErrorKind::Invalid { reason: e },
            }])
        })?;
        let mut scenario = Self::parse(&text, &file)?;
        let Some(base_name) = scenario.settings.extends.clone() else {
            return Ok(scenario);
        };
        let invalid = |reason: String| {
            ScenarioErrors(vec![ScenarioError {
                file: file.clone(),
                logical_id: None,
                path: "Vpcgate.Extends".into(),
                kind: ErrorKind::Invalid { reason },
            }])
        };
        if depth >= 8 {
            return Err(invalid(
                "Extends chains deeper than 8 files (a loop?)".into(),
            ));
        }
        let base_path = path.parent().unwrap_or(Path::new(".")).join(&base_name);
        // Anything that is there on disk passes: read_source says why a folder or a device is
        // not a file.
        let exists = if crate::bundled::is_bundled(&base_path) {
            is_file(&base_path)
        } else {
            base_path.exists()
        };
        if !exists {
            return Err(invalid(format!(
                "base scenario {} does not exist",
                base_path.display()
            )));
        }
        let base = Self::load_nested(&base_path, depth + 1)?;
        let mut template = Value::Object(base.template);
        merge_patch(
            &mut template,
            &Value::Object(std::mem::take(&mut scenario.template)),
        );
        let Value::Object(template) = template else {
            unreachable!("a merge patch of objects is an object")
        };
        scenario.template = template;
        let s = &mut scenario.settings;
        let b = base.settings;
        s.description = s.description.take().or(b.description);
        s.region = s.region.take().or(b.region);
        s.account_id = s.account_id.take().or(b.account_id);
        s.stack_name = s.stack_name.take().or(b.stack_name);
        s.clock = s.clock.take().or(b.clock);
        for (k, v) in b.parameters {
            s.parameters.entry(k).or_insert(v);
        }
        if s.certificates.is_empty() {
            s.certificates = b.certificates;
        }
        if s.faults.is_empty() {
            s.faults = b.faults;
        }
        // The base's stacks and environment file are relative to the base's folder.
        let base_dir =
            std::path::absolute(base_path.parent().unwrap_or(Path::new("."))).unwrap_or_default();
        if s.stacks.is_empty() {
            s.stacks = b.stacks;
            for st in &mut s.stacks {
                st.template = base_dir.join(&st.template).display().to_string();
            }
        }
        if s.environment.is_none() {
            s.environment = match b.environment {
                Some(Value::String(f)) => {
                    Some(Value::String(base_dir.join(f).display().to_string()))
                }
                other => other,
            };
        }
        s.lattice = s.lattice.take().or(b.lattice);
        Ok(scenario)
    }

    /// Parses scenario text (JSON, or YAML with CloudFormation's tags); `file` names it in
    /// messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, ScenarioErrors> {
        let parsed = yaml::parse(text, file)?;
        let locations = parsed.locations;
        let Value::Object(mut template) = parsed.value else {
            return Err(syntax(
                file,
                parsed.format,
                "a scenario is an object".into(),
            ));
        };
        let settings = match template.remove("Vpcgate") {
            None => Settings::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                ScenarioErrors(vec![ScenarioError {
                    file: file.to_string(),
                    logical_id: None,
                    path: "Vpcgate".into(),
                    kind: ErrorKind::Invalid {
                        reason: e.to_string(),
                    },
                }])
            })?,
        };
        let mut names = std::collections::HashSet::new();
        for case in &settings.cases {
            if !names.insert(case.name.clone()) {
                return Err(ScenarioErrors(vec![ScenarioError {
                    file: file.to_string(),
                    logical_id: None,
                    path: "Vpcgate.Cases".into(),
                    kind: ErrorKind::Invalid {
                        reason: format!("two cases are named {:?}", case.name),
                    },
                }]));
            }
        }
        let mut errors = Vec::new();
        let invalid = |path: String, reason: String| ScenarioError {
            file: file.to_string(),
            logical_id: None,
            path,
            kind: ErrorKind::Invalid { reason },
        };
        if let Some(region) = &settings.region
            && !stacks::is_region_name(region)
        {
            errors.push(invalid(
                "Vpcgate.Region".into(),
                format!(
                    "{:?} is not a Region name (e.g. ap-northeast-1)",
                    crate::sigv4::echo(region)
                ),
            ));
        }
        if let Some(a) = &settings.account_id
            && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push(invalid(
                "Vpcgate.AccountId".into(),
                format!(
                    "{:?} is not an account id (12 digits)",
                    crate::sigv4::echo(a)
                ),
            ));
        }
        for (i, case) in settings.cases.iter().enumerate() {
            if let Some(Err(e)) = case.request.as_ref().map(request::Request::from_value) {
                let path = match &e.key {
                    Some(k) => format!("Vpcgate.Cases[{i}].Request.{k}"),
                    None => format!("Vpcgate.Cases[{i}].Request"),
                };
                errors.push(invalid(path, format!("case {:?}: {e}", case.name)));
            }
            if let Err((key, reason)) = case.check_expectations() {
                let path = match key {
                    Some(k) => format!("Vpcgate.Cases[{i}].Expect.{k}"),
                    None => format!("Vpcgate.Cases[{i}]"),
                };
                errors.push(invalid(path, format!("case {:?}: {reason}", case.name)));
            }
        }
        if !errors.is_empty() {
            return Err(ScenarioErrors(errors));
        }
        Ok(Self {
            file: file.to_string(),
            template,
            settings,
            locations,
        })
    }

    /// The region.
    pub fn region(&self) -> String {
        self.settings
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".into())
    }

    /// The account.
    pub fn account(&self) -> String {
        self.settings
            .account_id
            .clone()
            .unwrap_or_else(|| "123456789012".into())
    }

    /// The stack name.
    pub fn stack_name(&self) -> String {
        self.settings.stack_name.clone().unwrap_or_else(|| {
            Path::new(&self.file)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "vpcgate".into())
        })
    }

    /// The pinned start time, if the scenario gives one.
    pub fn clock_start(&self) -> Result<Option<std::time::SystemTime>, ScenarioErrors> {
        match &self.settings.clock {
            None => Ok(None),
            Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| Some(std::time::SystemTime::from(t.with_timezone(&chrono::Utc))))
                .map_err(|e| {
                    ScenarioErrors(vec![ScenarioError {
                        file: self.file.clone(),
                        logical_id: None,
                        path: "Vpcgate.Clock".into(),
                        kind: ErrorKind::Invalid {
                            reason: format!("{text:?} is not an RFC 3339 time: {e}"),
                        },
                    }])
                }),
        }
    }

    /// `Vpcgate.Parameters` as template parameter values (a scalar as its text, anything else
    /// as its JSON).
    pub(crate) fn parameter_overrides(&self) -> BTreeMap<String, String> {
        self.settings
            .parameters
            .iter()
            .map(|(k, v)| {
                let text = v.as_str().map(str::to_string);
                (k.clone(), text.unwrap_or_else(|| v.to_string()))
            })
            .collect()
    }

    /// Resolves the template and builds the validated model.
    pub fn build(&self, links: &StackLinks) -> Result<(Model, template::Resolved), ScenarioErrors> {
        let ctx = IdContext {
            region: self.region(),
            account: self.account(),
            stack: self.stack_name(),
        };
        let overrides = self.parameter_overrides();
        let mut certificates = Vec::new();
        let mut errors = Vec::new();
        for (i, c) in self.settings.certificates.iter().enumerate() {
            let issuer = match c.issuer.as_deref() {
                None | Some("PUBLIC_CA") => Issuer::PublicCa,
                Some("SELF_SIGNED") => Issuer::SelfSigned,
                Some(other) => {
                    errors.push(ScenarioError {
                        file: self.file.clone(),
                        logical_id: None,
                        path: format!("Vpcgate.Certificates[{i}].Issuer"),
                        kind: ErrorKind::Invalid {
                            reason: format!("{other:?} is not one of PUBLIC_CA, SELF_SIGNED"),
                        },
                    });
                    continue;
                }
            };
            let mut names = vec![c.domain_name.clone()];
            names.extend(c.subject_alternative_names.iter().cloned());
            certificates.push(Certificate {
                arn: c.arn.clone(),
                names,
                issuer,
            });
        }
        let (mut model, resolved) = if stacks::uses_stacks(&self.settings) {
            if !errors.is_empty() {
                return Err(ScenarioErrors(errors));
            }
            stacks::build_scenario(self, links, certificates)?
        } else {
            let resolved = template::resolve(&self.file, &self.template, &ctx, &overrides, links)
                .map_err(|e| {
                ScenarioErrors(stacks::locate_in(e, &self.file, &self.locations))
            })?;
            let (mut model, resource_errors) =
                resources::build(&resolved.resources, certificates, &ctx.region, &ctx.account);
            model.stack = ctx.stack.clone();
            model.outputs = resolved.outputs.clone();
            errors.extend(
                resource_errors
                    .into_iter()
                    .map(|(id, (path, kind))| ScenarioError {
                        file: self.file.clone(),
                        logical_id: Some(id),
                        path,
                        kind,
                    }),
            );
            (model, resolved)
        };
        for (i, f) in self.settings.faults.iter().enumerate() {
            let at = |field: &str, reason: String| ScenarioError {
                file: self.file.clone(),
                logical_id: None,
                path: format!("Vpcgate.Faults[{i}]{field}"),
                kind: ErrorKind::Invalid { reason },
            };
            let kind = match (f.status_code, f.hang, f.delay_seconds) {
                (Some(code), false, None) if (400..600).contains(&code) => {
                    crate::alb::FaultKind::Status(code)
                }
                (Some(code), false, None) => {
                    errors.push(at(
                        ".StatusCode",
                        format!("{code} is not an error status (400-599)"),
                    ));
                    continue;
                }
                (None, true, None) => crate::alb::FaultKind::Hang,
                (None, false, Some(secs)) if secs >= 0.0 && secs.is_finite() => {
                    crate::alb::FaultKind::Delay(std::time::Duration::from_secs_f64(secs))
                }
                _ => {
                    errors.push(at(
                        "",
                        "give exactly one of StatusCode, Hang, DelaySeconds (>= 0)".into(),
                    ));
                    continue;
                }
            };
            match model
                .listeners
                .iter_mut()
                .find(|l| l.logical_id == f.listener)
            {
                Some(l) => l.faults.push(crate::alb::Fault {
                    first_requests: f.first_requests,
                    kind,
                }),
                None => errors.push(at(
                    ".Listener",
                    format!("no listener with logical id {:?}", f.listener),
                )),
            }
        }
        errors.extend(lattice::apply_settings(
            &self.file,
            self.settings.lattice.as_ref(),
            &mut model,
        ));
        errors.extend(
            apigwv2::apply_jwks(&self.settings.jwks, &mut model)
                .into_iter()
                .map(|(path, reason)| ScenarioError {
                    file: self.file.clone(),
                    logical_id: None,
                    path,
                    kind: ErrorKind::Invalid { reason },
                }),
        );
        if errors.is_empty() {
            Ok((model, resolved))
        } else {
            Err(ScenarioErrors(stacks::locate_in(
                errors,
                &self.file,
                &self.locations,
            )))
        }
    }
}

/// Applies an RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(
            &mut doc,
            &serde_json::json!({"a": "z", "c": {"f": null}, "l": [3]}),
        );
        assert_eq!(
            doc,
            serde_json::json!({"a": "z", "c": {"d": "e"}, "l": [3]})
        );
    }

    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = Scenario::parse("{\n  \"Resources\": {,}\n}", "bad.json").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("bad.json") && text.contains("line 2"),
            "{text}"
        );
    }

    #[test]
    fn unknown_references_name_the_resource_and_path() {
        let s = Scenario::parse(
            r#"{"Resources": {"Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "x", "VpcId": {"Ref": "Nope"}}}}}"#,
            "s.json",
        )
        .unwrap();
        let err = s.build(&StackLinks::default()).unwrap_err();
        let e = &err.0[0];
        assert_eq!(e.logical_id.as_deref(), Some("Sg"));
        assert_eq!(e.path, "Properties.VpcId.Ref");
        assert_eq!(
            e.kind,
            ErrorKind::UnknownReference {
                target: "Nope".into()
            }
        );
    }

    #[test]
    fn intrinsics_resolve_in_dependency_order() {
        let s = Scenario::parse(
            r#"{
              "Vpcgate": {"Region": "ap-northeast-1", "StackName": "st"},
              "Resources": {
                "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": {"Fn::Sub": "for ${Vpc} in ${AWS::Region}"}, "VpcId": {"Ref": "Vpc"}}},
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Join": ["/", ["10.0.0.0", "16"]]}}}
              },
              "Outputs": {"Cidr": {"Value": {"Fn::GetAtt": ["Vpc", "CidrBlock"]}}, "Sel": {"Value": {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}}}
            }"#,
            "s.json",
        )
        .unwrap();
        let (model, resolved) = s.build(&StackLinks::default()).unwrap();
        assert_eq!(resolved.resources[0].logical_id, "Vpc");
        let vpc = &model.vpcs[0];
        assert_eq!(model.security_groups[0].vpc_id, vpc.id);
        assert_eq!(model.outputs["Cidr"], "10.0.0.0/16");
        assert_eq!(model.outputs["Sel"], "b");
        let desc = resolved.resources[1].properties["GroupDescription"]
            .as_str()
            .unwrap();
        assert_eq!(desc, format!("for {} in ap-northeast-1", vpc.id));
    }

    #[test]
    fn cycles_are_reported() {
        let s = Scenario::parse(
            r#"{"Resources": {
                "A": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": {"Ref": "B"}}},
                "B": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": {"Ref": "A"}}}}}"#,
            "s.json",
        )
        .unwrap();
        let err = s.build(&StackLinks::default()).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|e| matches!(e.kind, ErrorKind::Cycle { .. })),
            "{err}"
        );
    }
}
