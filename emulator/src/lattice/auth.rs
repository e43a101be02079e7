//! Lattice's auth step: who signed the request (SigV4 for `vpc-lattice-svcs`, or anonymous) and
//! whether the service network's and the service's auth policies, and the caller's identity-based
//! policies, allow `vpc-lattice-svcs:Invoke`.
//!
//! Sources:
//! - <https://docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html>:
//!   "VPC Lattice attempts to authenticate any request that is signed with SIGv4 or SIGv4A. The
//!   request fails without authentication"; "VPC Lattice does not support payload signing. You
//!   must send an `x-amz-content-sha256` header with the value set to `UNSIGNED-PAYLOAD`".
//! - <https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html>: with `AWS_IAM` and
//!   no auth policy "all traffic gets access denied"; "both auth policies and identity-based
//!   policies need to have explicit allow statements"; the resource of `Invoke` is
//!   `arn:aws:vpc-lattice:<region>:<account>:service/<svc-id>/<request path>`
//!   (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_vpc-lattice-svcs.html>),
//!   so an identity policy naming the bare service ARN does not match any request.
//! - The 403 body is plain text, `AccessDeniedException: User: <arn|anonymous> is not authorized
//!   to perform: vpc-lattice-svcs:Invoke on resource: <service arn>/<path> because no
//!   service-based policy allows the vpc-lattice-svcs:Invoke action` (recorded in
//!   aws-samples workshops and user reports; "network-based" for the service network's policy,
//!   "identity-based" for the caller's role; see docs/lattice-service-networks.md).
//!
//! vpcgate's choices (unconfirmed): explicit denies are looked for in every policy first; then
//! the missing allows are reported in path order — service network, service, identity.

use std::time::SystemTime;

use crate::authz::Directory;
use crate::iam::{
    Decision, DenialFormat, ImplicitDenyReason, NamedPolicy, PolicyKind, PolicySet, Principal,
    Request, RequestContext, denial_message, evaluate, evaluate_policy,
};
use crate::lattice::AuthType;
use crate::sigv4::{self, Incoming, PayloadHash, PolicyView, SigV4Error};
use crate::trace::{Trace, Verdict};

/// The SigV4 service name of Lattice's data plane.
pub const SERVICE: &str = "vpc-lattice-svcs";
/// The action every request is authorized for.
pub const INVOKE: &str = "vpc-lattice-svcs:Invoke";
/// The payload hash Lattice requires.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why a signed request was not authenticated (HTTP 403).
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The SigV4 check failed.
    #[error(transparent)]
    SigV4(#[from] SigV4Error),
    /// The access key resolved to nothing usable (expired session, wrong token).
    #[error("{message}")]
    Credentials {
        /// AWS's text.
        message: String,
    },
}

impl AuthnError {
    /// The plain-text body Lattice sends: `<ErrorType>: <message>` (the SigV4 codes:
    /// [`sigv4::wire`]'s `Lattice` row).
    pub fn body(&self) -> String {
        match self {
            AuthnError::SigV4(e) => {
                let w = sigv4::wire(e, sigv4::Protocol::Lattice);
                format!("{}: {}", w.code, w.message)
            }
            AuthnError::Credentials { message } => format!("AccessDeniedException: {message}"),
        }
    }
}

/// Who made the request.
pub fn authenticate(
    parts: &http::request::Parts,
    body: &[u8],
    now: SystemTime,
    region: &str,
    directory: &Directory,
    trace: &Trace,
) -> Result<Principal, AuthnError> {
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let presigned = target.contains("X-Amz-Algorithm=");
    if !parts.headers.contains_key(http::header::AUTHORIZATION) && !presigned {
        trace.info("lattice", "request is unsigned: the caller is anonymous");
        return Ok(Principal::Anonymous);
    }
    let incoming = Incoming {
        method: parts.method.as_str(),
        authority: parts.uri.authority().map(http::uri::Authority::as_str),
        target,
        headers: &parts.headers,
        body,
    };
    let policy = PolicyView {
        service: SERVICE,
        region: Some(region),
        max_skew: sigv4::API_GATEWAY_SKEW,
        normalize_uri_path: true,
        unsigned_query_session_token: false,
        // Lattice does not sign payloads: `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
        payload: PayloadHash::UnsignedAllowed,
    };
    // One read of the credential store, as API Gateway's `sigv4_caller`: the key's secret for
    // the signature, then its principal (no copy of the credentials).
    let checked = match sigv4::verify_with(&incoming, now, &policy, |akid| directory.key(akid)) {
        Ok(checked) => checked,
        Err(e) => {
            trace.hop("lattice", Verdict::Refuse, format!("SigV4: {e}"));
            return Err(e.into());
        }
    };
    let key = &checked.credentials;
    key.check(
        checked.session_token.as_deref(),
        chrono::DateTime::<chrono::Utc>::from(now),
    )
    .map_err(|e| AuthnError::Credentials {
        message: e
            .aws_message()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string()),
    })?;
    trace.pass(
        "lattice",
        format!(
            "SigV4 ({SERVICE}, UNSIGNED-PAYLOAD) verified: {} signed with {}",
            key.principal().arn(),
            checked.access_key_id
        ),
    );
    Ok(key.principal().clone())
}

/// One auth policy gate on the path: the service network's or the service's.
#[derive(Clone, Copy, Debug)]
pub struct Gate<'a> {
    /// `AuthType` of the service network or service.
    pub auth: AuthType,
    /// Its auth policy, if one is attached.
    pub policy: Option<&'a NamedPolicy>,
    /// Its name for messages (`<name> auth policy`).
    pub name: &'a str,
    /// `LatticeServiceNetwork` or `LatticeService`.
    pub kind: PolicyKind,
}

/// A denial: what the access log says and what the caller reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The 403 body.
    pub body: String,
    /// `authDeniedReason` for the access log (vpcgate's wording: `Network`, `Service`,
    /// `Identity`).
    pub reason: &'static str,
}

fn reason_of(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::LatticeServiceNetwork => "Network",
        PolicyKind::LatticeService => "Service",
        _ => "Identity",
    }
}

/// Authorizes `vpc-lattice-svcs:Invoke` on `resource` (service ARN + request path).
pub fn authorize(
    directory: &Directory,
    principal: &Principal,
    resource: &str,
    context: &RequestContext,
    gates: &[Gate<'_>],
    trace: &Trace,
) -> Result<(), Denied> {
    let active: Vec<&Gate<'_>> = gates
        .iter()
        .filter(|g| g.auth == AuthType::AwsIam)
        .collect();
    if active.is_empty() {
        trace.pass(
            "lattice",
            "auth type NONE on the service network and the service: no authorization",
        );
        return Ok(());
    }
    let request = Request {
        principal,
        action: INVOKE,
        resource,
        context,
    };
    let signed = matches!(
        principal,
        Principal::User { .. } | Principal::AssumedRole { .. } | Principal::Root { .. }
    );
    let identity_policies = directory.identity_policies(principal);
    let identity = signed.then(|| {
        evaluate(
            &request,
            &PolicySet {
                identity: identity_policies,
                ..PolicySet::default()
            },
        )
    });
    let gate_decisions: Vec<(&Gate<'_>, Decision)> = active
        .iter()
        .map(|g| {
            let d = match g.policy {
                Some(p) => evaluate_policy(&request, p),
                None => Decision::ImplicitDeny {
                    reason: ImplicitDenyReason::NoPolicyAllows {
                        policy: format!("{} (no auth policy attached)", g.name),
                        policy_kind: g.kind,
                    },
                },
            };
            (*g, d)
        })
        .collect();
    let deny = |decision: &Decision, kind: PolicyKind| {
        let message = denial_message(&request, decision, DenialFormat::PolicyType)
            .unwrap_or_else(|| "access denied".into());
        trace.hop(
            "lattice",
            Verdict::Refuse,
            format!("{INVOKE} on {resource}: {decision}: 403 {message}"),
        );
        Denied {
            body: format!("AccessDeniedException: {message}"),
            reason: reason_of(kind),
        }
    };
    for (g, d) in &gate_decisions {
        if matches!(d, Decision::ExplicitDeny { .. }) {
            return Err(deny(d, g.kind));
        }
    }
    if let Some(d @ Decision::ExplicitDeny { .. }) = &identity {
        return Err(deny(d, PolicyKind::IdentityBased));
    }
    for (g, d) in &gate_decisions {
        if !d.is_allowed() {
            return Err(deny(d, g.kind));
        }
        trace.pass(
            "lattice",
            format!(
                "{} ({}) allows {INVOKE} on {resource} for {}: {d}",
                g.name,
                g.kind,
                principal.arn()
            ),
        );
    }
    if let Some(d) = &identity {
        if !d.is_allowed() {
            return Err(deny(d, PolicyKind::IdentityBased));
        }
        trace.pass(
            "iam",
            format!(
                "identity-based policies allow {INVOKE} on {resource} for {}: {d}",
                principal.arn()
            ),
        );
    }
    Ok(())
}
