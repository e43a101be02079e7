//! EventBridge's errors and [`wire`]: the one function that turns them into EventBridge's JSON 1.1
//! wire error (`__type`, message, HTTP status), one row per refusal with the source of its code
//! and wording (AWS answers recorded in LocalStack's `tests/aws/services/events/*.snapshot.json`,
//! other recorded AWS answers, or the API reference's error list where nothing is recorded). The
//! edge's JSON 1.1 handlers ([`crate::edge::events_api`], [`crate::edge::events_bus_api`]) answer
//! with it; `vpcgate check` prints it.

use super::pattern::PatternError;
use super::transformer::InputError;

/// A refused EventBridge request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventBridgeError {
    /// The bus does not exist.
    #[error("Event bus {name} does not exist.")]
    BusNotFound {
        /// The bus name.
        name: String,
    },
    /// CreateEventBus with a taken name.
    #[error("Event bus {name} already exists.")]
    BusExists {
        /// The bus name.
        name: String,
    },
    /// DeleteEventBus on `default`.
    #[error("Cannot delete event bus default.")]
    DeleteDefaultBus,
    /// The rule does not exist on the bus.
    #[error("Rule {name} does not exist on EventBus {bus}.")]
    RuleNotFound {
        /// The rule name.
        name: String,
        /// The bus name.
        bus: String,
    },
    /// DeleteRule while targets remain (without `Force`).
    #[error("Rule can't be deleted since it has targets.")]
    RuleHasTargets,
    /// More than five targets on a rule.
    #[error("The requested resource exceeds the maximum number allowed.")]
    TooManyTargets,
    /// The event pattern is invalid.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A target's input settings are invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The API destination does not exist.
    #[error("An api-destination '{name}' does not exist.")]
    ApiDestinationNotFound {
        /// The name.
        name: String,
    },
    /// CreateApiDestination with a taken name.
    #[error("An api-destination '{name}' already exists.")]
    ApiDestinationExists {
        /// The name.
        name: String,
    },
    /// The connection an API destination names does not exist.
    #[error("Connection '{name}' does not exist.")]
    ConnectionNotFound {
        /// The connection name (or ARN).
        name: String,
    },
    /// A parameter fails its constraint (AWS's "N validation error(s) detected: …" wording).
    #[error("{message}")]
    Validation {
        /// The message.
        message: String,
    },
    /// DescribeConnection, UpdateConnection, DeleteConnection: no connection of that name.
    #[error("Failed to describe the connection(s). Connection '{name}' does not exist.")]
    ConnectionMissing {
        /// The connection name.
        name: String,
    },
    /// CreateConnection with a taken name.
    #[error("Connection {name} already exists.")]
    ConnectionExists {
        /// The connection name.
        name: String,
    },
    /// DescribeApiDestination: no API destination of that name.
    #[error(
        "Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
    )]
    ApiDestinationMissing {
        /// The name.
        name: String,
    },
    /// A `NextToken` that no earlier page of this operation gave.
    #[error("Parameter NextToken is not valid.")]
    InvalidNextToken,
    /// An operation vpcgate does not emulate.
    #[error("vpcgate does not emulate EventBridge's {op} operation")]
    UnknownOperation {
        /// The operation.
        op: String,
    },
}

/// An EventBridge error as the JSON 1.1 protocol sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// HTTP status.
    pub status: u16,
    /// `__type`.
    pub code: &'static str,
    /// `message`.
    pub message: String,
}

/// The one mapping from [`EventBridgeError`] to EventBridge's wire error. Every row is a client
/// error (HTTP 400), as the recorded answers and the API reference's "Errors" sections give them.
pub fn wire(error: &EventBridgeError) -> WireError {
    use EventBridgeError as E;
    let code = match error {
        // test_describe_delete_not_existing_event_bus, test_put_events_nonexistent_event_bus
        E::BusNotFound { .. } => "ResourceNotFoundException",
        // test_create_multiple_event_buses_same_name
        E::BusExists { .. } => "ResourceAlreadyExistsException",
        // test_delete_default_event_bus
        E::DeleteDefaultBus => "ValidationException",
        // test_describe_nonexistent_rule
        E::RuleNotFound { .. } => "ResourceNotFoundException",
        // test_delete_rule_with_targets
        E::RuleHasTargets => "ValidationException",
        // test_add_exceed_fife_targets_per_rule
        E::TooManyTargets => "LimitExceededException",
        // test_events_patterns.snapshot.json (every _EXC case)
        E::Pattern(_) => "InvalidEventPatternException",
        // test_events_inputs.snapshot.json
        E::Input(_) => "ValidationException",
        // API_UpdateApiDestination / API_DeleteApiDestination: ResourceNotFoundException
        E::ApiDestinationNotFound { .. } => "ResourceNotFoundException",
        // test_api_destinations_and_connection: describe-api-destination-not-found-error
        E::ApiDestinationMissing { .. } => "ResourceNotFoundException",
        // API_CreateApiDestination: ResourceAlreadyExistsException
        E::ApiDestinationExists { .. } => "ResourceAlreadyExistsException",
        // API_CreateApiDestination: ResourceNotFoundException
        E::ConnectionNotFound { .. } => "ResourceNotFoundException",
        // test_api_destinations_and_connection: describe-deleted-connection
        E::ConnectionMissing { .. } => "ResourceNotFoundException",
        // API_CreateConnection: ResourceAlreadyExistsException (the wording is unrecorded)
        E::ConnectionExists { .. } => "ResourceAlreadyExistsException",
        // test_put_target_id_validation, test_create_api_destination_invalid_parameters,
        // create-connection-invalid-auth-error, create-connection-invalid-name-error
        E::Validation { .. } => "ValidationException",
        // AWS's answer to a foreign token ("api error ValidationException: Parameter NextToken
        // is not valid.", ListTargetsByRule, quoted in GoogleCloudPlatform/terraformer#2082)
        E::InvalidNextToken => "ValidationException",
        // The JSON protocols' answer to an operation the service does not have.
        E::UnknownOperation { .. } => "UnknownOperationException",
    };
    WireError {
        status: 400,
        code,
        message: error.to_string(),
    }
}

impl EventBridgeError {
    /// A `ValidationException` with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }

    /// The wire form ([`wire`]).
    pub fn wire(&self) -> WireError {
        wire(self)
    }
}
