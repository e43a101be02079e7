//! EventBridge's errors and their wire form: one row per refusal, with the source of its wording
//! (AWS answers recorded in LocalStack's `tests/aws/services/events/*.snapshot.json`, or the API
//! reference). The edge's JSON 1.1 handler ([`crate::edge::events_api`]) maps them with
//! [`EventBridgeError::wire`].

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
}

impl EventBridgeError {
    /// A `ValidationException` with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }

    /// The error's `__type` (all are HTTP 400).
    pub fn wire(&self) -> (&'static str, String) {
        let code = match self {
            // test_describe_delete_not_existing_event_bus, test_put_events_nonexistent_event_bus
            Self::BusNotFound { .. } => "ResourceNotFoundException",
            // test_create_multiple_event_buses_same_name
            Self::BusExists { .. } => "ResourceAlreadyExistsException",
            // test_delete_default_event_bus
            Self::DeleteDefaultBus => "ValidationException",
            // test_describe_nonexistent_rule
            Self::RuleNotFound { .. } => "ResourceNotFoundException",
            // test_delete_rule_with_targets
            Self::RuleHasTargets => "ValidationException",
            // test_add_exceed_fife_targets_per_rule
            Self::TooManyTargets => "LimitExceededException",
            // test_events_patterns.snapshot.json (every _EXC case)
            Self::Pattern(_) => "InvalidEventPatternException",
            // test_events_inputs.snapshot.json
            Self::Input(_) => "ValidationException",
            // API_DescribeApiDestination: ResourceNotFoundException
            Self::ApiDestinationNotFound { .. } => "ResourceNotFoundException",
            // API_CreateApiDestination: ResourceAlreadyExistsException
            Self::ApiDestinationExists { .. } => "ResourceAlreadyExistsException",
            // API_CreateApiDestination: ResourceNotFoundException
            Self::ConnectionNotFound { .. } => "ResourceNotFoundException",
            // test_put_target_id_validation, test_create_api_destination_invalid_parameters
            Self::Validation { .. } => "ValidationException",
        };
        (code, self.to_string())
    }
}
