//! Load errors: every one names the resource's logical id and the property path.

use std::fmt;

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The text is not JSON / YAML.
    #[error("not valid {format}: {reason}")]
    Syntax {
        /// JSON or YAML.
        format: &'static str,
        /// The parser's message (with line and column).
        reason: String,
    },
    /// A required property is absent.
    #[error("required property {name} is missing")]
    Missing {
        /// The property.
        name: String,
    },
    /// A value has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A value is of the right type but not allowed.
    #[error("{reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// `Ref`, `DependsOn` or `${}` names something that does not exist (CloudFormation's words).
    #[error(
        "Template format error: Unresolved resource dependencies [{target}] in the Resources block of the template"
    )]
    UnknownReference {
        /// What was named.
        target: String,
    },
    /// `Fn::GetAtt` names an attribute the resource type does not have.
    #[error("{resource_type} has no attribute {attribute}")]
    UnknownAttribute {
        /// The resource type.
        resource_type: String,
        /// The attribute.
        attribute: String,
    },
    /// Resources depend on each other in a circle.
    #[error("Circular dependency between resources: [{ids}]")]
    Cycle {
        /// The resources involved.
        ids: String,
    },
    /// A malformed intrinsic function.
    #[error("{function}: {reason}")]
    Intrinsic {
        /// The function (`Fn::Sub`, ...).
        function: String,
        /// What is wrong.
        reason: String,
    },
}

/// One load error with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or `<inline>`), as `file:line:column` when the position is known.
    pub file: String,
    /// The resource's logical id, when the error is inside a resource.
    pub logical_id: Option<String>,
    /// The property path, e.g. `Properties.ResourceConfigurationDefinition.IpResource`.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        match &self.logical_id {
            Some(id) if self.path.is_empty() => write!(f, "Resources.{id}: ")?,
            Some(id) => write!(f, "Resources.{id}.{}: ", self.path)?,
            None if !self.path.is_empty() => write!(f, "{}: ", self.path)?,
            None => {}
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ScenarioError {}

/// All the errors of one load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} error{} in the scenario:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// JSON type name of a value, for messages.
pub(crate) fn type_name(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("boolean {b}"),
        serde_json::Value::Number(n) => format!("number {n}"),
        serde_json::Value::String(s) => format!("string {s:?}"),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}
