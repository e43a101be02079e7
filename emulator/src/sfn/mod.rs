//! Step Functions: the task integrations vpcgate emulates, and executions.
//!
//! - [`apigw`]: the optimized API Gateway integration (`arn:aws:states:::apigateway:invoke`),
//!   signed with the execution role's session credentials (Pattern B).
//! - [`http`]: the HTTP Task (`arn:aws:states:::http:invoke`) through an EventBridge connection,
//!   public or private (Lattice resource configuration).
//! - [`execution`]: executions, `states:startExecution` (`.sync`), redrive.
//! - [`map_run`]: the Map Runs of Distributed Map states and their child executions.
//!
//! Each task runs as the execution role's assumed-role session and asks [`crate::authz`] for every
//! permission AWS checks on its path.

pub mod activity;
pub mod apigw;
pub mod callback;
pub mod execution;
pub mod http;
pub mod map_run;
pub mod role;

use crate::iam::Principal;
use crate::trace::Trace;
use crate::world::World;

pub use crate::asl::StatesError;

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
    /// Where an HTTP Task records its raw request and response (TestState `TRACE`).
    pub capture: Option<&'a std::sync::Mutex<Option<http::HttpCapture>>>,
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
