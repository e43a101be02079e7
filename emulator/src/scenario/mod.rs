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

pub mod apigw;
pub mod error;
pub mod ids;
pub mod resources;
pub mod template;

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
    /// A direct HTTP request to an emulated REST API (Pattern B): the shape of
    /// [`crate::apigw::case::RequestCase`], run by [`crate::apigw::case::run`].
    #[serde(default)]
    pub request: Option<Value>,
    /// The expected outcome.
    #[serde(default)]
    pub expect: Expect,
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

/// The `Vpcgate` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Settings {
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
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
    /// The load error this scenario must produce.
    #[serde(default)]
    pub expect_load_error: Option<ExpectLoadError>,
    /// The cases.
    #[serde(default)]
    pub cases: Vec<Case>,
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
    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| syntax(&file, "JSON", format!("cannot read the file: {e}")))?;
        Self::parse(&text, &file)
    }

    /// Parses scenario text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, ScenarioErrors> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| syntax(file, "JSON", e.to_string()))?;
        let Value::Object(mut template) = doc else {
            return Err(syntax(file, "JSON", "a scenario is a JSON object".into()));
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
        Ok(Self {
            file: file.to_string(),
            template,
            settings,
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

    /// Resolves the template and builds the validated model.
    pub fn build(&self, links: &StackLinks) -> Result<(Model, template::Resolved), ScenarioErrors> {
        let ctx = IdContext {
            region: self.region(),
            account: self.account(),
            stack: self.stack_name(),
        };
        let overrides: BTreeMap<String, String> = self
            .settings
            .parameters
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        let resolved = template::resolve(&self.file, &self.template, &ctx, &overrides, links)
            .map_err(ScenarioErrors)?;
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
        if errors.is_empty() {
            Ok((model, resolved))
        } else {
            Err(ScenarioErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
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
