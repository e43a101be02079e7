//! IAM: principals, credentials, policy documents and their evaluation.
//!
//! Every component asks this module one question — may this principal do this action on this
//! resource? — and gets back a [`Decision`] naming the statement that decided, for the trace.
//!
//! - [`Principal`] is who asks: anonymous, a root user, an IAM user, an assumed-role session
//!   or a service principal, with the identifiers AWS derives from it (`arn`,
//!   `aws:PrincipalArn`, `aws:userid`, …).
//! - [`CredentialStore`] issues emulated access keys and session credentials and turns a
//!   SigV4-verified access key ID back into its principal.
//! - [`Policy`] parses and validates a policy document, with AWS's `MalformedPolicyDocument`
//!   messages and the JSON path of the offending element.
//! - [`evaluate`] applies AWS's evaluation logic to identity-based policies, a resource-based
//!   policy and any gates (VPC endpoint and Lattice auth policies); [`evaluate_policy`]
//!   checks one policy on its own.
//! - [`denial_message`] renders the access-denied text the service would return.
//!
//! ```
//! use serde_json::json;
//! use vpcgate::iam::{
//!     Decision, NamedPolicy, Policy, PolicyKind, PolicySet, Principal, Request, RequestContext,
//!     evaluate,
//! };
//!
//! let role_policy = Policy::parse(
//!     &json!({"Version": "2012-10-17", "Statement": [{
//!         "Effect": "Allow", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}]}),
//!     PolicyKind::IdentityBased,
//! )?;
//! let identity = [NamedPolicy::new("PatternARole/HttpInvokePrivate", role_policy)];
//! let principal = Principal::assumed_role("123456789012", "PatternARole", "exec");
//! let context = RequestContext::new();
//! let request = Request {
//!     principal: &principal,
//!     action: "vpc-lattice-svcs:Invoke",
//!     resource: "arn:aws:vpc-lattice:ap-northeast-1:123456789012:resourceconfiguration/rcfg-1",
//!     context: &context,
//! };
//! let decision = evaluate(&request, &PolicySet { identity: &identity, ..PolicySet::default() });
//! assert!(decision.is_allowed());
//! assert_eq!(
//!     decision.to_string(),
//!     "allowed by PatternARole/HttpInvokePrivate Statement[0]"
//! );
//! # Ok::<(), vpcgate::iam::PolicyError>(())
//! ```

mod condition;
mod context;
mod credentials;
mod eval;
mod message;
mod policy;
mod principal;
mod trust;
mod wildcard;

#[cfg(test)]
mod tests;

pub use self::context::{RequestContext, keys};
pub(crate) use self::credentials::KeyHash;
pub use self::credentials::{
    AccessKey, CredentialError, CredentialStore, DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS,
    MAX_SESSIONS, MIN_SESSION_SECONDS, ResolvedCredentials, SecretString, SessionCredentials,
    StoredKey,
};
pub use self::eval::{
    Decision, ImplicitDenyReason, NamedPolicy, PolicySet, Request, StatementRef, derived_context,
    evaluate, evaluate_policy,
};
pub use self::message::{DenialFormat, denial_message};
pub use self::policy::{
    Effect, JsonPath, Policy, PolicyError, PolicyKind, PolicyVersion, Statement,
};
pub use self::principal::{ArnText, PARTITION, Principal, PrincipalParseError};
pub use self::trust::{ASSUME_ROLE, ServiceAssumption, service_may_assume};
