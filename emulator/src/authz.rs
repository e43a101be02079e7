//! The account's IAM directory: roles, users, their policies and credentials, and the one
//! function components call to authorize a request.
//!
//! [`crate::iam`] is the engine (principals, policy documents, evaluation, AWS's messages); this
//! module holds what a scenario declares — each role's and user's identity policies, parsed once —
//! and answers "may this principal do this action on this resource?" with the decision and the
//! statement that decided, appended to the request's trace.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::iam::{
    CredentialError, CredentialStore, DEFAULT_SESSION_SECONDS, Decision, DenialFormat, KeyHash,
    NamedPolicy, Policy, PolicyError, PolicyKind, PolicySet, Principal, Request, RequestContext,
    ResolvedCredentials, ServiceAssumption, SessionCredentials, StoredKey, denial_message,
    evaluate, service_may_assume,
};
use crate::trace::{Detail, Trace, Verdict};

/// The access key id of the account root's emulated key (AWS's documented example key).
pub const ROOT_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret of [`ROOT_ACCESS_KEY_ID`].
pub const ROOT_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The access key local AWS emulators' users already configure (`test` / `test`, LocalStack's
/// convention): the account root's second key, verified like the first.
pub const TEST_ACCESS_KEY_ID: &str = "test";
/// The secret of [`TEST_ACCESS_KEY_ID`].
pub const TEST_SECRET_ACCESS_KEY: &str = "test";

/// An `AWS::IAM::Role`.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `RoleName`.
    pub name: String,
    /// `Path`.
    pub path: String,
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub arn: String,
    /// `AssumeRolePolicyDocument`.
    pub trust_policy: serde_json::Value,
    /// Inline policies: (name, document).
    pub inline_policies: Vec<(String, serde_json::Value)>,
    /// `ManagedPolicyArns`.
    pub managed_policy_arns: Vec<String>,
    /// `Tags` (key, value): the session's `aws:PrincipalTag/<key>`.
    pub tags: Vec<(String, String)>,
}

/// An `AWS::IAM::User` with its access keys.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `UserName`.
    pub name: String,
    /// `Path`.
    pub path: String,
    /// `arn:aws:iam::<account>:user<path><name>`.
    pub arn: String,
    /// Inline policies: (name, document).
    pub inline_policies: Vec<(String, serde_json::Value)>,
    /// `ManagedPolicyArns`.
    pub managed_policy_arns: Vec<String>,
    /// `Tags` (key, value): the user's `aws:PrincipalTag/<key>`.
    pub tags: Vec<(String, String)>,
    /// Access keys: (access key id, secret access key).
    pub access_keys: Vec<(String, String)>,
}

/// An `AWS::IAM::ManagedPolicy` (a customer managed policy).
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedPolicy {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The document.
    pub document: serde_json::Value,
}

/// What an account's IAM declares: the directory is built from it.
#[derive(Clone, Copy, Debug)]
pub struct IamConfig<'a> {
    /// The account.
    pub account: &'a str,
    /// Its roles.
    pub roles: &'a [Role],
    /// Its users.
    pub users: &'a [User],
    /// Its customer managed policies.
    pub managed_policies: &'a [ManagedPolicy],
}

/// A role or user a client may sign as ([`Directory::client_credentials`]).
#[derive(Debug)]
struct Signer {
    /// Logical id, name and ARN: any of them names it.
    keys: [String; 3],
    /// A role's name (a session is issued), or a user's first access key and name.
    kind: SignerKind,
}

#[derive(Debug)]
enum SignerKind {
    Role {
        name: String,
    },
    User {
        name: String,
        key: Option<(String, String)>,
    },
}

/// Why [`Directory::client_credentials`] gave none.
#[derive(Debug, thiserror::Error)]
pub enum ClientCredentialsError {
    /// No role or user has that logical id, name or ARN.
    #[error("no role or user {0}")]
    Unknown(String),
    /// The user has no access key.
    #[error("user {0} has no access key")]
    NoAccessKey(String),
    /// The session could not be issued.
    #[error(transparent)]
    Session(#[from] CredentialError),
}

/// A denied request: the decision and AWS's message for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The decision (explicit or implicit deny).
    pub decision: Decision,
    /// The access-denied message the service returns.
    pub message: String,
}

/// Why a service could not assume a role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssumeRoleRefused {
    /// The account has no such role.
    #[error("no role {role_arn}")]
    NoSuchRole {
        /// The role asked for.
        role_arn: String,
    },
    /// The role's trust policy does not allow the service.
    #[error("the role's trust policy does not allow it: {decision}")]
    NotTrusted {
        /// The trust policy's decision.
        decision: Decision,
    },
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
    /// Each role's and user's identity policies and tags (`aws:PrincipalTag/<key>` of its
    /// requests), by ARN: one lookup per decision.
    identity: HashMap<String, Identity, KeyHash>,
    /// Each role's trust policy, by role ARN.
    trust: HashMap<String, NamedPolicy, KeyHash>,
    /// Access keys and the sessions issued (each session's credentials kept by principal
    /// until they near expiry): read by every signed request, written once per session.
    credentials: RwLock<CredentialStore>,
    /// The roles and users clients may sign as, in the declaration's order (roles first).
    signers: Vec<Signer>,
}

/// A role's or user's identity policies and tags.
#[derive(Debug, Default)]
struct Identity {
    policies: Vec<NamedPolicy>,
    tags: Vec<(String, String)>,
}

impl Directory {
    /// Parses every identity policy of the account's roles and users.
    pub fn new(config: IamConfig<'_>) -> Result<Self, Vec<PolicyLoadError>> {
        let mut errors = Vec::new();
        let mut trust_errors = Vec::new();
        let mut identity: HashMap<String, Identity, KeyHash> = HashMap::default();
        let managed: HashMap<&str, (&str, &serde_json::Value)> = config
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
                match Policy::parse_inline(doc) {
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
        let mut trust: HashMap<String, NamedPolicy, KeyHash> = HashMap::default();
        for role in config.roles {
            match Policy::parse(&role.trust_policy, PolicyKind::Trust) {
                Ok(p) => {
                    trust.insert(
                        role.arn.clone(),
                        NamedPolicy::new(format!("{}/AssumeRolePolicyDocument", role.name), p),
                    );
                }
                Err(error) => trust_errors.push(PolicyLoadError {
                    logical_id: role.logical_id.clone(),
                    path: "Properties.AssumeRolePolicyDocument".into(),
                    error,
                }),
            }
        }
        for role in config.roles {
            let policies = collect(
                &role.logical_id,
                &role.name,
                &role.inline_policies,
                &role.managed_policy_arns,
            );
            identity.insert(
                role.arn.clone(),
                Identity {
                    policies,
                    tags: role.tags.clone(),
                },
            );
        }
        for user in config.users {
            let policies = collect(
                &user.logical_id,
                &user.name,
                &user.inline_policies,
                &user.managed_policy_arns,
            );
            identity.insert(
                user.arn.clone(),
                Identity {
                    policies,
                    tags: user.tags.clone(),
                },
            );
        }
        errors.extend(trust_errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut store = CredentialStore::with_seed(7);
        // The account root's key: AWS's documented example key pair, so clients have one to sign
        // with out of the box (README, "Credentials").
        let _ = store.import_access_key(
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            Principal::root(config.account),
        );
        let _ = store.import_access_key(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            Principal::root(config.account),
        );
        for user in config.users {
            let principal = Principal::User {
                account: config.account.to_string(),
                name: user.name.clone(),
                path: user.path.clone(),
            };
            for (id, secret) in &user.access_keys {
                let _ = store.import_access_key(id, secret, principal.clone());
            }
        }
        let signers = config
            .roles
            .iter()
            .map(|r| Signer {
                keys: [r.logical_id.clone(), r.name.clone(), r.arn.clone()],
                kind: SignerKind::Role {
                    name: r.name.clone(),
                },
            })
            .chain(config.users.iter().map(|u| Signer {
                keys: [u.logical_id.clone(), u.name.clone(), u.arn.clone()],
                kind: SignerKind::User {
                    name: u.name.clone(),
                    key: u.access_keys.first().cloned(),
                },
            }))
            .collect();
        Ok(Self {
            account: config.account.to_string(),
            signers,
            identity,
            trust,
            credentials: RwLock::new(store),
        })
    }

    /// Credentials for a client that signs as `who` (a role or user by logical id, name or ARN):
    /// a fresh one-hour session of a role (`vpcgate-client`, as an instance profile would give)
    /// or a user's first access key.
    pub fn client_credentials(
        &self,
        who: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::sigv4::Credentials, ClientCredentialsError> {
        let signer = self
            .signers
            .iter()
            .find(|s| s.keys.iter().any(|k| k == who))
            .ok_or_else(|| ClientCredentialsError::Unknown(who.to_string()))?;
        match &signer.kind {
            SignerKind::Role { name } => {
                let session = Principal::assumed_role(&self.account, name, "vpcgate-client");
                let issued = self.credentials_mut().assume_role(
                    session,
                    now,
                    chrono::Duration::seconds(3600),
                )?;
                Ok(crate::sigv4::Credentials::new(
                    issued.access_key_id,
                    issued.secret_access_key.expose(),
                )
                .with_session_token(issued.session_token.expose()))
            }
            SignerKind::User { name, key } => {
                let (id, secret) = key
                    .as_ref()
                    .ok_or_else(|| ClientCredentialsError::NoAccessKey(name.clone()))?;
                Ok(crate::sigv4::Credentials::new(id, secret))
            }
        }
    }

    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Whether this directory holds the IAM of `role_arn`'s account: the scenario's account.
    /// vpcgate has no IAM API, so other accounts' roles cannot be declared (README, fidelity
    /// notes): their trust is not checked.
    pub fn governs(&self, role_arn: &str) -> bool {
        role_arn.split(':').nth(4) == Some(self.account.as_str())
    }

    /// Whether a service may assume `role_arn` (its trust policy allows the service principal
    /// `sts:AssumeRole` with the assumption's `aws:SourceArn`/`aws:SourceAccount`); records the
    /// decision in `trace`. A role this directory does not hold is refused like a role that does
    /// not trust the service (AWS gives the same answer for both).
    pub fn service_assumes(
        &self,
        role_arn: &str,
        assumption: &ServiceAssumption<'_>,
        trace: &Trace,
    ) -> Result<Decision, AssumeRoleRefused> {
        let Some(trust) = self.trust.get(role_arn) else {
            trace.hop_fmt(
                "iam",
                Verdict::Refuse,
                format_args!(
                    "{} may not assume {role_arn}: no such role in account {}",
                    assumption.service, self.account
                ),
            );
            return Err(AssumeRoleRefused::NoSuchRole {
                role_arn: role_arn.to_string(),
            });
        };
        let decision = service_may_assume(trust, role_arn, assumption);
        if decision.is_allowed() {
            trace.pass_fmt(
                "iam",
                format_args!(
                    "{} assumes {role_arn} for {}: {decision}",
                    assumption.service, assumption.source_arn
                ),
            );
            Ok(decision)
        } else {
            trace.hop_fmt(
                "iam",
                Verdict::Refuse,
                format_args!(
                    "{} may not assume {role_arn} for {}: {decision}",
                    assumption.service, assumption.source_arn
                ),
            );
            Err(AssumeRoleRefused::NotTrusted { decision })
        }
    }

    /// The credential store, to read (lookups do not wait for each other).
    pub fn credentials(&self) -> RwLockReadGuard<'_, CredentialStore> {
        // The store is changed by whole operations that cannot be left half done: a panic
        // elsewhere while holding the lock leaves it consistent.
        self.credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The credential store, to issue from.
    fn credentials_mut(&self) -> RwLockWriteGuard<'_, CredentialStore> {
        self.credentials
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The key `access_key_id` as issued (one read of the store): the secret a SigV4 verifier
    /// needs and, once the signature is good, the principal ([`crate::iam::StoredKey::check`]).
    pub fn key(&self, access_key_id: &str) -> Option<StoredKey> {
        self.credentials().get(access_key_id)
    }

    /// The identity policies of the principal (its role's, for an assumed-role session).
    pub fn identity_policies(&self, principal: &Principal) -> &[NamedPolicy] {
        principal
            .principal_arn()
            .and_then(|arn| self.identity.get(&arn))
            .map_or(&[], |i| i.policies.as_slice())
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
        // aws:PrincipalTag/<key>: the tags attached to the user or role making the request
        // (reference_policies_condition-keys.html, "aws:PrincipalTag/tag-key"); a role
        // session's principal ARN is its role's.
        let tagged;
        let found = principal
            .principal_arn()
            .and_then(|arn| self.identity.get(&arn));
        let context = match found.map(|i| &i.tags).filter(|t| !t.is_empty()) {
            Some(tags) => {
                let mut c = context.clone();
                for (k, v) in tags {
                    c.insert(&format!("aws:PrincipalTag/{k}"), v.clone());
                }
                tagged = c;
                &tagged
            }
            None => context,
        };
        let request = Request {
            principal,
            action,
            resource,
            context,
        };
        let identity = found.map_or(&[][..], |i| i.policies.as_slice());
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
                if trace.enabled() {
                    // The decision written once, for the rule and the message.
                    // Sized once: a decision's text ("allowed by <policy> Statement[0], …")
                    // grew its string four times from empty.
                    let mut rule = String::with_capacity(160);
                    let _ = std::fmt::Write::write_fmt(&mut rule, format_args!("{decision}"));
                    trace.hop_with_fmt(
                        "iam",
                        Verdict::Pass,
                        || Detail::at(resource).rule(rule.as_str()),
                        format_args!(
                            "{action} on {resource} for {}: {rule}",
                            principal.arn_text()
                        ),
                    );
                }
                Ok(decision)
            }
            Some(message) => {
                trace.hop_with(
                    "iam",
                    Verdict::Refuse,
                    || Detail::at(resource).rule(decision.to_string()),
                    format!("{action} on {resource}: {decision}: {message}"),
                );
                Err(Denied { decision, message })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials for SigV4 (Pattern B): a state machine's role session signs `apigateway:invoke`
// requests; API Gateway turns the signing key back into the principal.
// ---------------------------------------------------------------------------------------------

/// Session credentials are renewed when less than this is left (SDKs refresh five minutes early).
pub const SESSION_REFRESH_MARGIN_SECONDS: i64 = 300;

impl Directory {
    /// The temporary credentials (access key id, secret, session token) of an assumed-role
    /// session, as `sts:AssumeRole` issues them for a state machine's execution role; the same
    /// credentials are returned until they near expiry (one hour, AssumeRole's default).
    pub fn session_credentials(
        &self,
        session: &Principal,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<std::sync::Arc<SessionCredentials>, CredentialError> {
        // One write: the cached session, or a new one (shared by the store and the caller).
        self.credentials_mut().session_for(
            session,
            now,
            chrono::Duration::seconds(DEFAULT_SESSION_SECONDS),
            SESSION_REFRESH_MARGIN_SECONDS,
        )
    }

    /// Fresh temporary credentials of `session` valid from `now` for one hour, outside the
    /// session cache: for an execution that holds its own session for as long as it runs and
    /// ends it ([`Directory::end_session`]) when it finishes (`sfn::ExecutionSession`).
    /// The credentials share `session` (no copy of the principal).
    pub fn issue_session(
        &self,
        session: &std::sync::Arc<Principal>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<std::sync::Arc<SessionCredentials>, CredentialError> {
        self.credentials_mut().issue_session(
            session.clone(),
            now,
            chrono::Duration::seconds(DEFAULT_SESSION_SECONDS),
        )
    }

    /// Forgets the temporary credentials `access_key_id` issued by [`Directory::issue_session`]:
    /// the session ended, so the store keeps only the sessions in use and its memory does not
    /// turn over with every execution.
    pub fn end_session(&self, access_key_id: &str) {
        self.credentials_mut().end_session(access_key_id);
    }

    /// The principal behind a (signature-verified) access key at `now`, the way AWS derives it:
    /// the user (or root) of a long-term key, the assumed-role session of a temporary one (whose
    /// `aws:PrincipalArn` is the role's ARN). Unknown keys, wrong tokens and expired sessions are
    /// refused.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ResolvedCredentials, CredentialError> {
        self.credentials()
            .authenticate(access_key_id, session_token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(logical_id: &str, name: &str) -> Role {
        Role {
            logical_id: logical_id.into(),
            name: name.into(),
            path: "/".into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]}),
            inline_policies: Vec::new(),
            managed_policy_arns: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn user(name: &str, keys: &[(&str, &str)]) -> User {
        User {
            logical_id: format!("{name}User"),
            name: name.into(),
            path: "/".into(),
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            inline_policies: Vec::new(),
            managed_policy_arns: Vec::new(),
            tags: Vec::new(),
            access_keys: keys
                .iter()
                .map(|(k, s)| (k.to_string(), s.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_client_signs_as_a_role_session_or_a_users_first_key() {
        let roles = [role("ClientRole", "client")];
        let users = [
            user(
                "alice",
                &[("AKIAALICE0000000001", "s1"), ("AKIAALICE0000000002", "s2")],
            ),
            user("bob", &[]),
        ];
        let iam = Directory::new(IamConfig {
            account: "123456789012",
            roles: &roles,
            users: &users,
            managed_policies: &[],
        })
        .unwrap();
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        // A role by logical id, name or ARN: a fresh session with a token, which the directory
        // authenticates as the role's session.
        for who in [
            "ClientRole",
            "client",
            "arn:aws:iam::123456789012:role/client",
        ] {
            let creds = iam.client_credentials(who, now).unwrap();
            let token = creds.session_token.clone().expect("a session token");
            let resolved = iam
                .authenticate(&creds.access_key_id, Some(&token), now)
                .unwrap();
            assert_eq!(
                resolved.principal.arn(),
                "arn:aws:sts::123456789012:assumed-role/client/vpcgate-client"
            );
        }
        // A user: its first access key, no token.
        let creds = iam.client_credentials("alice", now).unwrap();
        assert_eq!(
            (creds.access_key_id.as_str(), creds.session_token),
            ("AKIAALICE0000000001", None)
        );
        assert_eq!(
            iam.client_credentials("bob", now).unwrap_err().to_string(),
            "user bob has no access key"
        );
        assert!(matches!(
            iam.client_credentials("nobody", now),
            Err(ClientCredentialsError::Unknown(n)) if n == "nobody"
        ));
    }
}
