//! The execution role as Step Functions assumes it.

/// The service principal Step Functions assumes execution roles as.
pub const STATES_PRINCIPAL: &str = "states.amazonaws.com";

/// Step Functions' refusal of a role it cannot assume — one that does not exist or whose trust
/// policy does not allow `states.amazonaws.com` (nor `states.<region>.amazonaws.com`): an
/// `AccessDeniedException` with this text, recorded from CreateStateMachine by Terraform users and
/// matched by CloudFormation's own Step Functions resource provider
/// (aws-cloudformation/aws-cloudformation-resource-providers-stepfunctions,
/// statemachine/src/main/java/com/amazonaws/stepfunctions/cloudformation/statemachine/Constants.java,
/// `STS_AUTHORIZED_TO_ASSUME_MESSAGE_SUBSTRING`).
pub const CANNOT_ASSUME_ROLE: &str = "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.";
