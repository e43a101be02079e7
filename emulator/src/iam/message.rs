//! The access-denied messages AWS returns, rendered from a [`Decision`].
//!
//! Formats, by the service that returns them:
//! - [`DenialFormat::PolicyType`] — the newer IAM format that names the policy type:
//!   `User: ARN is not authorized to perform: ACTION on resource: ARN with an explicit deny in
//!   a resource-based policy` / `… because no identity-based policy allows the ACTION action`
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>, whose
//!   examples include Secrets Manager's `secretsmanager:GetSecretValue`). Use it for Secrets
//!   Manager, and — unconfirmed, no recorded response — for EventBridge
//!   (`events:RetrieveConnectionCredentials`) and Step Functions (`states:InvokeHTTPEndpoint`).
//!   VPC Lattice uses it with "network-based policy" (service network auth policy) and
//!   "service-based policy" (service auth policy), and prefixes the 403 body with
//!   `AccessDeniedException: ` (project FIDELITY.md recordings; not on an AWS page).
//! - [`DenialFormat::ApiGateway`] — API Gateway's `execute-api:Invoke` denials: an explicit
//!   deny ends "… with an explicit deny" without a policy type, and an anonymous caller's
//!   implicit deny has no reason at all: `User: anonymous is not authorized to perform:
//!   execute-api:Invoke on resource: API-RESOURCE-ARN`
//!   (<https://aws.amazon.com/premiumsupport/knowledge-center/api-gateway-403-error-lambda-authorizer/>).
//!   A signed caller's implicit deny uses the policy-type wording (FIDELITY.md). API Gateway
//!   is reported to mask the account ID inside the resource ARN; that is not reproduced
//!   (unconfirmed).
//!
//! The doc notes that "Some AWS services do not support this access denied error message
//! format" and that when several policy types deny, only one is named.

use super::eval::{Decision, Request};
use super::policy::PolicyKind;
use super::principal::Principal;

/// Which service's wording to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenialFormat {
    /// IAM's format naming the policy type (Secrets Manager, VPC Lattice, most services).
    PolicyType,
    /// API Gateway's `execute-api:Invoke` format.
    ApiGateway,
}

/// The message AWS returns for a denied request, or `None` when the decision is an allow.
pub fn denial_message(
    request: &Request<'_>,
    decision: &Decision,
    format: DenialFormat,
) -> Option<String> {
    if matches!(decision, Decision::Allow { .. }) {
        // Checked first: the head below is formatted only for a denial.
        return None;
    }
    let head = format!(
        "User: {} is not authorized to perform: {} on resource: {}",
        request.principal.arn(),
        request.action,
        request.resource
    );
    match (decision, format) {
        (Decision::Allow { .. }, _) => None,
        (Decision::ExplicitDeny { .. }, DenialFormat::ApiGateway) => {
            Some(format!("{head} with an explicit deny"))
        }
        (Decision::ExplicitDeny { policy_kind, .. }, DenialFormat::PolicyType) => Some(format!(
            "{head} with an explicit deny in {} {}",
            article(*policy_kind),
            policy_kind.message_name()
        )),
        (Decision::ImplicitDeny { .. }, DenialFormat::ApiGateway)
            if *request.principal == Principal::Anonymous =>
        {
            Some(head)
        }
        (Decision::ImplicitDeny { reason }, _) => Some(format!(
            "{head} because no {} allows the {} action",
            reason.policy_kind().message_name(),
            request.action
        )),
    }
}

fn article(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::IdentityBased => "an",
        _ => "a",
    }
}
