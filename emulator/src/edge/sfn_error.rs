//! Step Functions' API errors and [`wire`]: the one function that turns them into the JSON 1.0
//! wire error (`__type`, `message`, HTTP status), one row per refusal with the source of its code.
//!
//! Codes are the ones the API reference lists in each operation's "Errors" section
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html>; the
//! same lists are the service model's, e.g. `aws-sdk-sfn`'s `UpdateStateMachineError`); texts are
//! AWS-recorded where a row says so (LocalStack's `tests/aws/services/stepfunctions/**/*.snapshot.json`),
//! else the model validation's wording. [`crate::edge::sfn_api`] and
//! [`crate::edge::sfn_map_run_api`] build these values; [`crate::edge::sfn_api::call`] maps them.

use std::fmt;

use super::AccessDenied;
use super::wire::JsonError;
use crate::asl::DefinitionError;
use crate::sfn::callback::CallbackError;
use crate::sfn::execution::StartError;
use crate::sigv4::echo;

/// A member's value as a validation message shows it (`Value at`, `Value null at`,
/// `Value '<v>' at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Not repeated (`Value at '<member>'`).
    Omitted,
    /// The member is absent (`Value null at '<member>'`).
    Null,
    /// The value as given (`Value '<v>' at '<member>'`).
    Value(String),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Omitted => Ok(()),
            Shown::Null => f.write_str(" null"),
            Shown::Value(v) => write!(f, " '{v}'"),
        }
    }
}

/// The constraint a member failed (`Member must <rule>`), in the service model's words.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `be a string`.
    String,
    /// `be a number`.
    Number,
    /// `not be null`.
    NotNull,
    /// `have length less than or equal to <n>`.
    MaxLength(usize),
    /// `have length between <min> and <max>`.
    LengthBetween(usize, usize),
    /// `satisfy enum value set: <set>` (the set as `[A, B]`).
    OneOf(&'static str),
    /// `have value greater than or equal to <n>`.
    AtLeast(f64),
    /// `have value less than or equal to <n>`.
    AtMost(f64),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::String => f.write_str("be a string"),
            Rule::Number => f.write_str("be a number"),
            Rule::NotNull => f.write_str("not be null"),
            Rule::MaxLength(n) => write!(f, "have length less than or equal to {n}"),
            Rule::LengthBetween(a, b) => write!(f, "have length between {a} and {b}"),
            Rule::OneOf(set) => write!(f, "satisfy enum value set: {set}"),
            Rule::AtLeast(n) => write!(f, "have value greater than or equal to {n}"),
            Rule::AtMost(n) => write!(f, "have value less than or equal to {n}"),
        }
    }
}

/// A refused Step Functions request.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum StepFunctionsError {
    /// An operation vpcgate does not emulate.
    #[error("vpcgate does not emulate Step Functions' {op} operation")]
    UnknownOperation {
        /// The operation.
        op: String,
    },
    /// A member fails its model constraint.
    #[error(
        "1 validation error detected: Value{value} at '{member}' failed to satisfy constraint: Member must {rule}"
    )]
    Invalid {
        /// The member (`name`, `input`, …).
        member: String,
        /// How the value is repeated.
        value: Shown,
        /// The constraint.
        rule: Rule,
    },
    /// TestState's `inspectionLevel: TRACE` for a state that is no HTTP Task.
    #[error(
        "The TRACE inspection level is supported only for HTTP Task states (Resource arn:aws:states:::http:invoke)."
    )]
    TraceNeedsHttpTask,
    /// TestState's `revealSecrets` without `inspectionLevel: TRACE`.
    #[error("revealSecrets can be set only with inspectionLevel TRACE.")]
    RevealSecretsNeedsTrace,
    /// TestState's `variables` is not a JSON object in a string.
    #[error("variables must be a JSON object in a string")]
    VariablesNotObject,
    /// ListExecutions with both `stateMachineArn` and `mapRunArn`.
    #[error("Only one of stateMachineArn or mapRunArn can be specified")]
    StateMachineAndMapRun,
    /// A string that is no ARN at all.
    #[error("Invalid Arn: 'Invalid ARN prefix: {}'", echo(.arn))]
    ArnPrefix {
        /// The string.
        arn: String,
    },
    /// An ARN of another resource type than the operation takes.
    #[error("Invalid Arn: 'Resource type not valid in this context: {}'", echo(.arn))]
    ArnResourceType {
        /// The ARN.
        arn: String,
    },
    /// A name with forbidden characters.
    #[error("Invalid Name: '{name}'")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// IAM refused the caller.
    #[error(transparent)]
    AccessDenied(#[from] AccessDenied),
    /// Step Functions cannot assume the role it was given.
    #[error("{}", super::sfn_api::CANNOT_ASSUME_ROLE)]
    CannotAssumeRole,
    /// No state machine with that ARN.
    #[error("State Machine Does Not Exist: '{arn}'")]
    StateMachineDoesNotExist {
        /// The ARN.
        arn: String,
    },
    /// CreateStateMachine with a taken name and another definition, role or type.
    #[error("State Machine Already Exists: '{arn}'")]
    StateMachineAlreadyExists {
        /// The ARN.
        arn: String,
    },
    /// StartSyncExecution on a Standard machine.
    #[error("This operation is not supported by this type of state machine")]
    StateMachineTypeNotSupported,
    /// UpdateStateMachine with nothing to update.
    #[error(
        "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified"
    )]
    MissingRequiredParameter,
    /// The definition does not parse or fails validation.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// StartExecution or StartSyncExecution refused by the execution store.
    #[error(transparent)]
    Start(#[from] StartError),
    /// `input` is not JSON.
    #[error("Invalid State Machine Execution Input: '{reason}'")]
    InvalidExecutionInput {
        /// The JSON parser's complaint.
        reason: String,
    },
    /// No execution with that ARN.
    #[error("Execution Does Not Exist: '{arn}'")]
    ExecutionDoesNotExist {
        /// The ARN.
        arn: String,
    },
    /// RedriveExecution of an execution that cannot be redriven.
    #[error("{reason}")]
    ExecutionNotRedrivable {
        /// AWS's reason ("Execution is SUCCEEDED and cannot be redriven").
        reason: String,
    },
    /// No activity with that ARN.
    #[error("Activity Does Not Exist: '{}'", echo(.arn))]
    ActivityDoesNotExist {
        /// The ARN.
        arn: String,
    },
    /// A task token refused.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// SendTaskSuccess's `output` is not JSON.
    #[error("Invalid Output: '{reason}'")]
    InvalidOutput {
        /// The JSON parser's complaint.
        reason: String,
    },
    /// No Map Run with that ARN.
    #[error("Resource not found: '{}'", echo(.arn))]
    MapRunNotFound {
        /// The ARN.
        arn: String,
    },
}

impl StepFunctionsError {
    /// A member that fails `rule`, its value shown as `value`.
    pub fn invalid(member: &str, value: Shown, rule: Rule) -> Self {
        Self::Invalid {
            member: member.to_string(),
            value,
            rule,
        }
    }
}

/// The one mapping from [`StepFunctionsError`] to Step Functions' JSON 1.0 wire error. Every row
/// is a client error (HTTP 400); the page after each row is the API reference page whose "Errors"
/// section lists the code.
pub fn wire(error: &StepFunctionsError) -> JsonError {
    use StepFunctionsError as E;
    let code = match error {
        // The JSON protocols' answer to an operation the service does not have (as EventBridge's
        // row in events::error::wire).
        E::UnknownOperation { .. } => "UnknownOperationException",
        // "Common Errors": ValidationException, 400 (CommonErrors.html); every operation's list.
        E::Invalid { .. }
        | E::TraceNeedsHttpTask
        | E::RevealSecretsNeedsTrace
        | E::VariablesNotObject
        | E::StateMachineAndMapRun => "ValidationException",
        // API_DescribeStateMachine.html, API_DescribeExecution.html, …: InvalidArn ("Invalid
        // ARN prefix" recorded in botodto's README for describe_state_machine("abc")).
        E::ArnPrefix { .. } | E::ArnResourceType { .. } => "InvalidArn",
        // API_CreateStateMachine.html, API_StartExecution.html, API_CreateActivity.html.
        E::InvalidName { .. } => "InvalidName",
        // CommonErrors.html: AccessDeniedException; the role text: CloudFormation's Step
        // Functions resource provider (Constants.java, STS_AUTHORIZED_TO_ASSUME_MESSAGE_SUBSTRING).
        E::AccessDenied(_) | E::CannotAssumeRole => "AccessDeniedException",
        // API_DescribeStateMachine.html, API_StartExecution.html, API_ListExecutions.html.
        E::StateMachineDoesNotExist { .. } | E::Start(StartError::NoStateMachine { .. }) => {
            "StateMachineDoesNotExist"
        }
        // API_CreateStateMachine.html.
        E::StateMachineAlreadyExists { .. } => "StateMachineAlreadyExists",
        // API_StartSyncExecution.html.
        E::StateMachineTypeNotSupported => "StateMachineTypeNotSupported",
        // API_UpdateStateMachine.html.
        E::MissingRequiredParameter => "MissingRequiredParameter",
        // API_CreateStateMachine.html, API_UpdateStateMachine.html, API_TestState.html; the
        // message AWS-recorded in test_sfn_api_express.snapshot.json.
        E::Definition(_) | E::Start(StartError::InvalidDefinition { .. }) => "InvalidDefinition",
        // API_StartExecution.html.
        E::Start(StartError::AlreadyExists { .. }) => "ExecutionAlreadyExists",
        // API_StartExecution.html, API_StartSyncExecution.html.
        E::InvalidExecutionInput { .. } => "InvalidExecutionInput",
        // API_DescribeExecution.html, API_StopExecution.html, API_GetExecutionHistory.html.
        E::ExecutionDoesNotExist { .. } => "ExecutionDoesNotExist",
        // API_RedriveExecution.html.
        E::ExecutionNotRedrivable { .. } => "ExecutionNotRedrivable",
        // API_DescribeActivity.html, API_GetActivityTask.html; AWS-recorded in
        // test_sfn_api_activities.snapshot.json.
        E::ActivityDoesNotExist { .. } => "ActivityDoesNotExist",
        // API_SendTaskSuccess.html, API_SendTaskFailure.html, API_SendTaskHeartbeat.html;
        // AWS-recorded in activities/test_activities.snapshot.json.
        E::Callback(CallbackError::InvalidToken) => "InvalidToken",
        E::Callback(CallbackError::TaskTimedOut) => "TaskTimedOut",
        // API_SendTaskSuccess.html.
        E::InvalidOutput { .. } => "InvalidOutput",
        // API_DescribeMapRun.html, API_UpdateMapRun.html (the message is vpcgate's).
        E::MapRunNotFound { .. } => "ResourceNotFound",
    };
    JsonError::client(code, error.to_string())
}

impl From<StepFunctionsError> for JsonError {
    fn from(e: StepFunctionsError) -> Self {
        wire(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(e: StepFunctionsError) -> (String, String) {
        let w = wire(&e);
        assert_eq!(w.status, 400);
        (w.code, w.message)
    }

    #[test]
    fn validation_messages_have_the_models_wording() {
        assert_eq!(
            pair(StepFunctionsError::invalid("name", Shown::Null, Rule::NotNull)),
            (
                "ValidationException".into(),
                "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null".into()
            )
        );
        assert_eq!(
            pair(StepFunctionsError::invalid(
                "type",
                Shown::Value("X".into()),
                Rule::OneOf("[STANDARD, EXPRESS]")
            ))
            .1,
            "1 validation error detected: Value 'X' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        );
        assert_eq!(
            pair(StepFunctionsError::invalid(
                "taskToken",
                Shown::Omitted,
                Rule::LengthBetween(1, 2048)
            ))
            .1,
            "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048"
        );
        assert_eq!(
            pair(StepFunctionsError::invalid(
                "toleratedFailurePercentage",
                Shown::Value("101".into()),
                Rule::AtMost(100.0)
            ))
            .1,
            "1 validation error detected: Value '101' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value less than or equal to 100"
        );
    }

    #[test]
    fn each_refusal_has_its_code() {
        let arn = "arn:aws:states:us-east-1:111122223333:stateMachine:m".to_string();
        for (e, code, message) in [
            (
                StepFunctionsError::StateMachineDoesNotExist { arn: arn.clone() },
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            ),
            (
                StepFunctionsError::Start(StartError::NoStateMachine { arn: arn.clone() }),
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            ),
            (
                StepFunctionsError::Start(StartError::AlreadyExists { arn: arn.clone() }),
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ),
            (
                StepFunctionsError::ArnPrefix { arn: "abc".into() },
                "InvalidArn",
                "Invalid Arn: 'Invalid ARN prefix: abc'".into(),
            ),
            (
                StepFunctionsError::CannotAssumeRole,
                "AccessDeniedException",
                super::super::sfn_api::CANNOT_ASSUME_ROLE.into(),
            ),
            (
                StepFunctionsError::Callback(CallbackError::TaskTimedOut),
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'".into(),
            ),
            (
                StepFunctionsError::MapRunNotFound { arn: "x".into() },
                "ResourceNotFound",
                "Resource not found: 'x'".into(),
            ),
            (
                StepFunctionsError::UnknownOperation { op: "Nope".into() },
                "UnknownOperationException",
                "vpcgate does not emulate Step Functions' Nope operation".into(),
            ),
        ] {
            assert_eq!(pair(e), (code.to_string(), message));
        }
    }

    #[test]
    fn echoed_arns_are_bounded() {
        let long = "x".repeat(10_000);
        let (_, message) = pair(StepFunctionsError::ActivityDoesNotExist { arn: long });
        assert!(message.len() < 300, "{}", message.len());
    }
}
