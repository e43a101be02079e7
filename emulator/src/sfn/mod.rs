//! Step Functions: the task integrations vpcgate emulates, and executions.
//!
//! - [`apigw`]: the optimized API Gateway integration (`arn:aws:states:::apigateway:invoke`),
//!   signed with the execution role's session credentials (Pattern B).
//! - [`http`]: the HTTP Task (`arn:aws:states:::http:invoke`) through an EventBridge connection,
//!   public or private (Lattice resource configuration).
//! - [`execution`]: executions, `states:startExecution` (`.sync`), redrive.
//! - [`map_run`]: the Map Runs of Distributed Map states and their child executions.
//! - [`session`]: the execution role's session, held by one execution while it runs.
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
pub mod session;

use std::sync::Arc;

use crate::iam::Principal;
use crate::trace::Trace;

pub use crate::asl::StatesError;

/// What Step Functions is handed by the composition root ([`crate::world`] implements it for the
/// running world): what EventBridge's delivery path reaches (IAM, the clock, the network, the
/// connections and their secrets, API Gateway: [`crate::events::target::Host`]), the world's
/// account and state machines, and a shared handle for executions that outlive their call.
pub trait Host: crate::events::target::Host {
    /// The world's account (an execution's, when its state machine's ARN names none).
    fn account(&self) -> &str;
    /// The state machines the world declares (`states:startExecution` may start them).
    fn state_machines(&self) -> &[StateMachine];
    /// A shared handle to this host: a background execution keeps it while it runs.
    fn shared(&self) -> Arc<dyn Host>;
}

/// `StateMachineType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateMachineType {
    /// Standard workflows.
    Standard,
    /// Express workflows.
    Express,
}

impl StateMachineType {
    /// The API name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StateMachineType::Standard => "STANDARD",
            StateMachineType::Express => "EXPRESS",
        }
    }
}

/// A state machine.
#[derive(Clone, Debug, PartialEq)]
pub struct StateMachine {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `StateMachineName`.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// `RoleArn`.
    pub role_arn: String,
    /// The definition (ASL JSON text, substitutions applied).
    pub definition: String,
    /// `StateMachineType`.
    pub kind: StateMachineType,
}

/// What a task knows about the execution it runs in.
#[derive(Clone)]
pub struct TaskContext<'a> {
    /// The world the task runs in, through its handles.
    pub world: &'a dyn Host,
    /// The execution role's session (borrowed from the execution: no copy per task).
    pub principal: &'a Principal,
    /// The execution's hold on that session, whose credentials its signed calls use (`None`:
    /// a task run on its own, which signs with the directory's cached session of `principal`).
    pub session: Option<&'a session::ExecutionSession>,
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

impl std::fmt::Debug for TaskContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("principal", &self.principal)
            .field("state_machine_arn", &self.state_machine_arn)
            .field("state_name", &self.state_name)
            .finish_non_exhaustive()
    }
}

impl TaskContext<'_> {
    /// The temporary credentials the task signs with at `now` (a reading of the world's clock
    /// the task already has: the time it signs at): its execution's session
    /// ([`session::ExecutionSession`]), or the directory's cached one of `principal`.
    pub fn session_credentials_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<crate::iam::SessionCredentials>, crate::iam::CredentialError> {
        match self.session {
            Some(session) => session.credentials(self.world.iam(), now),
            None => self.world.iam().session_credentials(self.principal, now),
        }
    }

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

/// A task's `Parameters` as an object whose fields are all in `known` (the integration's
/// documented fields), or the message Step Functions gives.
pub(crate) fn parameters<'a>(
    params: &'a serde_json::Value,
    known: &[&str],
) -> Result<&'a serde_json::Map<String, serde_json::Value>, String> {
    let serde_json::Value::Object(p) = params else {
        return Err("The Parameters must be a JSON object".into());
    };
    if let Some(key) = p.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "The field '{key}' is not supported by Step Functions"
        ));
    }
    Ok(p)
}

/// A string field of a task's parameters (absent or `null`: `None`).
pub(crate) fn string_field(
    p: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<String>, String> {
    str_field(p, key).map(|s| s.map(str::to_owned))
}

/// [`string_field`], borrowed (the same answers and errors, no copy of the text).
pub(crate) fn str_field<'a>(
    p: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match p.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("The value of the field '{key}' must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// Both integrations refuse a field they do not document, and a string field of another type,
    /// with Step Functions' wording (sfn::apigw and sfn::http share the reader).
    #[test]
    fn parameters_refuse_unknown_fields_and_mistyped_strings() {
        let known = ["ApiEndpoint", "Method"];
        assert_eq!(
            super::parameters(&json!({"ApiEndpoint": "x", "Extra": 1}), &known).unwrap_err(),
            "The field 'Extra' is not supported by Step Functions"
        );
        assert_eq!(
            super::parameters(&json!([]), &known).unwrap_err(),
            "The Parameters must be a JSON object"
        );
        let params = json!({"Method": 1, "ApiEndpoint": null});
        let p = super::parameters(&params, &known).unwrap();
        assert_eq!(super::string_field(p, "ApiEndpoint"), Ok(None));
        assert_eq!(
            super::string_field(p, "Method").unwrap_err(),
            "The value of the field 'Method' must be a string"
        );
    }
}
