//! Step Functions: the task integrations vpcgate emulates, and executions.
//!
//! - [`apigw`]: the optimized API Gateway integration (`arn:aws:states:::apigateway:invoke`),
//!   signed with the execution role's session credentials (Pattern B).
//! - [`http`]: the HTTP Task (`arn:aws:states:::http:invoke`) through an EventBridge connection,
//!   public or private (Lattice resource configuration).
//!
//! Each task runs as the execution role's assumed-role session and asks [`crate::authz`] for every
//! permission AWS checks on its path.

pub mod apigw;
pub mod http;

use crate::iam::Principal;
use crate::trace::Trace;
use crate::world::World;

/// A Step Functions error: the `error` name and `cause` that `Retry`/`Catch` and the execution
/// result see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatesError {
    /// The error name (`States.Http.Socket`, `States.Http.StatusCode.404`, ...).
    pub error: String,
    /// The cause.
    pub cause: Option<String>,
}

impl StatesError {
    /// An error with a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
}

impl std::fmt::Display for StatesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(c) = &self.cause {
            write!(f, ": {c}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StatesError {}

/// What a task knows about the execution it runs in.
#[derive(Clone, Debug)]
pub struct TaskContext<'a> {
    /// The running world.
    pub world: &'a World,
    /// The execution role's session.
    pub principal: Principal,
    /// The state machine's ARN.
    pub state_machine_arn: &'a str,
    /// The state's name.
    pub state_name: &'a str,
    /// The id of the state's `TaskStateEntered` event.
    pub entered_event_id: u64,
    /// The request's trace.
    pub trace: &'a Trace,
}

impl TaskContext<'_> {
    /// AWS's `States.Runtime` error for parameters a task cannot start with.
    pub fn bad_parameters(&self, parameters: &serde_json::Value, reason: &str) -> StatesError {
        StatesError::new(
            "States.Runtime",
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). The Parameters '{}' could not be used to start the Task: [{}]",
                self.state_name, self.entered_event_id, parameters, reason
            ),
        )
    }
}
