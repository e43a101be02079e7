//! CloudFormation's API errors, and the one function that maps them to the query protocol's
//! wire answer (status, `<Code>`, `<Message>`).

/// An error of a CloudFormation API call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CfnError {
    /// Bad input, a template CloudFormation refuses, a stack in the wrong state.
    #[error("{message}")]
    Validation {
        /// CloudFormation's text.
        message: String,
    },
    /// CreateStack or a CREATE change set for a name already in use.
    #[error("Stack [{name}] already exists")]
    AlreadyExists {
        /// The stack name.
        name: String,
    },
    /// IAM resources without `CAPABILITY_IAM` / `CAPABILITY_NAMED_IAM`.
    #[error("Requires capabilities : [{capability}]")]
    InsufficientCapabilities {
        /// The capability missing.
        capability: &'static str,
    },
    /// A change set that does not exist.
    #[error("ChangeSet [{name}] does not exist")]
    ChangeSetNotFound {
        /// The name or ARN asked for.
        name: String,
    },
    /// ExecuteChangeSet on a change set that cannot run.
    #[error("ChangeSet [{id}] cannot be executed in its current status of [{status}]")]
    InvalidChangeSetStatus {
        /// The change set's ARN.
        id: String,
        /// Its status.
        status: String,
    },
    /// An operation vpcgate does not emulate.
    #[error("vpcgate does not emulate CloudFormation {action}")]
    UnknownOperation {
        /// The `Action`.
        action: String,
    },
}

impl CfnError {
    /// A `ValidationError`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }

    /// "Stack with id X does not exist" (DescribeStacks, DescribeStackEvents, …; LocalStack's
    /// AWS-recorded `test_stacks.snapshot.json`).
    pub fn no_stack(name: &str) -> Self {
        Self::validation(format!("Stack with id {name} does not exist"))
    }

    /// How the query protocol answers it: (HTTP status, `<Code>`), from botocore's
    /// `cloudformation/2010-05-15/service-2.json` (each exception shape's `error.code` and
    /// `httpStatusCode`); `ValidationError` is the generic 400 of the query protocol.
    pub fn wire(&self) -> (u16, &'static str) {
        match self {
            Self::Validation { .. } => (400, "ValidationError"),
            Self::AlreadyExists { .. } => (400, "AlreadyExistsException"),
            Self::InsufficientCapabilities { .. } => (400, "InsufficientCapabilitiesException"),
            Self::ChangeSetNotFound { .. } => (404, "ChangeSetNotFound"),
            Self::InvalidChangeSetStatus { .. } => (400, "InvalidChangeSetStatus"),
            // What AWS's query services answer for an unknown Action.
            Self::UnknownOperation { .. } => (400, "InvalidAction"),
        }
    }
}
