//! The account's IAM directory: roles, users, their policies and credentials, and the one
//! function components call to authorize a request.
//!
//! [`crate::iam`] is the engine (principals, policy documents, evaluation, AWS's messages); this
//! module holds what a scenario declares — each role's and user's identity policies, parsed once —
//! and answers "may this principal do this action on this resource?" with the decision and the
//! statement that decided, appended to the request's trace.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::iam::{
    CredentialStore, Decision, DenialFormat, NamedPolicy, Policy, PolicyError, PolicyKind,
    PolicySet, Principal, Request, RequestContext, denial_message, evaluate,
};
use crate::model::Model;
use crate::trace::{Trace, Verdict};

/// The access key id of the account root's emulated key (AWS's documented example key).
pub const ROOT_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret of [`ROOT_ACCESS_KEY_ID`].
pub const ROOT_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A denied request: the decision and AWS's message for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The decision (explicit or implicit deny).
    pub decision: Decision,
    /// The access-denied message the service returns.
    pub message: String,
}

/// A policy document that did not parse, with where it was.
#[derive(Debug)]
pub struct PolicyLoadError {
    /// The role's or user's logical id.
    pub logical_id: String,
    /// The property path of the document.
    pub path: String,
    /// The parse error (carries the JSON path inside the document).
    pub error: PolicyError,
}

/// Roles, users and their policies.
#[derive(Debug)]
pub struct Directory {
    account: String,
    identity: HashMap<String, Vec<NamedPolicy>>,
    credentials: Mutex<CredentialStore>,
}

impl Directory {
    /// Parses every identity policy of the model's roles and users.
    pub fn from_model(model: &Model) -> Result<Self, Vec<PolicyLoadError>> {
        let mut errors = Vec::new();
        let mut identity = HashMap::new();
        let managed: HashMap<&str, (&str, &serde_json::Value)> = model
            .managed_policies
            .iter()
            .map(|m| (m.arn.as_str(), (m.name.as_str(), &m.document)))
            .collect();
        let mut collect = |logical: &str,
                           name: &str,
                           inline: &[(String, serde_json::Value)],
                           managed_arns: &[String]| {
            let mut out = Vec::new();
            for (i, (policy_name, doc)) in inline.iter().enumerate() {
                match Policy::parse(doc, PolicyKind::IdentityBased) {
                    Ok(p) => out.push(NamedPolicy::new(format!("{name}/{policy_name}"), p)),
                    Err(error) => errors.push(PolicyLoadError {
                        logical_id: logical.to_string(),
                        path: format!("Properties.Policies[{i}].PolicyDocument"),
                        error,
                    }),
                }
            }
            for (i, arn) in managed_arns.iter().enumerate() {
                if let Some((policy_name, doc)) = managed.get(arn.as_str()) {
                    match Policy::parse(doc, PolicyKind::IdentityBased) {
                        Ok(p) => out.push(NamedPolicy::new(format!("{name}/{policy_name}"), p)),
                        Err(error) => errors.push(PolicyLoadError {
                            logical_id: logical.to_string(),
                            path: format!("Properties.ManagedPolicyArns[{i}]"),
                            error,
                        }),
                    }
                }
            }
            out
        };
        for role in &model.roles {
            let policies = collect(
                &role.logical_id,
                &role.name,
                &role.inline_policies,
                &role.managed_policy_arns,
            );
            identity.insert(role.arn.clone(), policies);
        }
        for user in &model.users {
            let policies = collect(
                &user.logical_id,
                &user.name,
                &user.inline_policies,
                &user.managed_policy_arns,
            );
            identity.insert(user.arn.clone(), policies);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut store = CredentialStore::with_seed(7);
        // The account root's key: AWS's documented example key pair, so clients have one to sign
        // with out of the box (README, "Credentials").
        let _ = store.import_access_key(
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            Principal::root(&model.account),
        );
        for user in &model.users {
            let principal = Principal::User {
                account: model.account.clone(),
                name: user.name.clone(),
                path: user.path.clone(),
            };
            for (id, secret) in &user.access_keys {
                let _ = store.import_access_key(id, secret, principal.clone());
            }
        }
        Ok(Self {
            account: model.account.clone(),
            identity,
            credentials: Mutex::new(store),
        })
    }

    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The credential store.
    pub fn credentials(&self) -> std::sync::MutexGuard<'_, CredentialStore> {
        self.credentials.lock().expect("credential store lock")
    }

    /// The identity policies of the principal (its role's, for an assumed-role session).
    pub fn identity_policies(&self, principal: &Principal) -> &[NamedPolicy] {
        principal
            .principal_arn()
            .and_then(|arn| self.identity.get(&arn))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Authorizes `action` on `resource` for `principal`, with an optional resource-based policy and
    /// gates, and records the decision in `trace` under `component`.
    #[allow(clippy::too_many_arguments)]
    pub fn authorize(
        &self,
        principal: &Principal,
        action: &str,
        resource: &str,
        context: &RequestContext,
        resource_policy: Option<&NamedPolicy>,
        gates: &[NamedPolicy],
        format: DenialFormat,
        trace: &Trace,
    ) -> Result<Decision, Denied> {
        let request = Request {
            principal,
            action,
            resource,
            context,
        };
        let identity = self.identity_policies(principal);
        let decision = evaluate(
            &request,
            &PolicySet {
                identity,
                resource: resource_policy,
                resource_account: None,
                gates,
            },
        );
        match denial_message(&request, &decision, format) {
            None => {
                trace.pass(
                    "iam",
                    format!("{action} on {resource} for {}: {decision}", principal.arn()),
                );
                Ok(decision)
            }
            Some(message) => {
                trace.hop(
                    "iam",
                    Verdict::Refuse,
                    format!("{action} on {resource}: {decision}: {message}"),
                );
                Err(Denied { decision, message })
            }
        }
    }
}
