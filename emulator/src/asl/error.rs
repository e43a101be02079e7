//! Error types: runtime errors (`States.*` and task errors) and definition errors.

use serde::{Deserialize, Serialize};

/// An error raised while running a state machine, as Step Functions names it
/// (`Error` / `Cause` in the error output, `error` / `cause` in history events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {}", cause.as_deref().unwrap_or(""))]
pub struct StatesError {
    /// The error name, e.g. `States.Timeout` or a task's own error name.
    pub error: String,
    /// The human-readable cause, if any.
    pub cause: Option<String>,
}

impl StatesError {
    /// Builds an error with a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }

    /// Builds an error with a name and no cause.
    pub fn named(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: None,
        }
    }

    /// The error output object a `Catch` hands on: `{"Error": .., "Cause": ..}`.
    ///
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>
    /// ("the error output ... is a JSON object with the fields Error and Cause").
    pub fn to_error_output(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("Error".into(), self.error.clone().into());
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), c.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

/// The predefined error names of the Amazon States Language.
///
/// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>
pub mod names {
    /// Wildcard matching every error except the terminal ones.
    pub const ALL: &str = "States.ALL";
    /// Matches every error except `States.Timeout`.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A task or execution ran longer than allowed.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A task failed to heartbeat in time.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// Unprocessable runtime error; never retried nor caught.
    pub const RUNTIME: &str = "States.Runtime";
    /// Payload over the size quota; not caught by `States.ALL`.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// A branch of a Parallel state failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No Choice rule matched and there is no Default.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A JSONata expression failed.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    /// ResultPath could not be applied.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `.$` field of Parameters could not be resolved.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// Map failures exceeded the tolerated threshold.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// Insufficient privileges.
    pub const PERMISSIONS: &str = "States.Permissions";
}

/// One problem found in a definition, with its JSON-pointer location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The AWS diagnostic code, e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`.
    pub code: &'static str,
    /// The message, without the code prefix.
    pub message: String,
    /// JSON pointer into the definition, e.g. `/States/Foo/Next`.
    pub location: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} at {}", self.code, self.message, self.location)
    }
}

/// Why a definition was rejected (`InvalidDefinition` in the API).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    /// The definition is not JSON.
    #[error(
        "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {message} at (line {line}, column {column})'"
    )]
    InvalidJson {
        /// The parser's message.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Validation found one or more problems; all of them are listed.
    #[error(
        "Invalid State Machine Definition: {}",
        render_diagnostics(diagnostics)
    )]
    Invalid {
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

impl DefinitionError {
    /// The diagnostics (empty for malformed JSON).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            DefinitionError::InvalidJson { .. } => &[],
            DefinitionError::Invalid { diagnostics } => diagnostics,
        }
    }
}

/// AWS joins several problems as `'CODE: message at /path', 'CODE: ...'`.
fn render_diagnostics(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| format!("'{}: {} at {}'", d.code, d.message, d.location))
        .collect::<Vec<_>>()
        .join(", ")
}
