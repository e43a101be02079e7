//! Policy evaluation: may this principal do this action on this resource?
//!
//! Follows the IAM user guide's "Policy evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>)
//! and "Cross-account policy evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>),
//! restricted to the policy types the emulator has: identity-based, resource-based, VPC
//! endpoint and VPC Lattice auth policies. Organizations SCPs/RCPs, permissions boundaries and
//! session policies are not modelled.
//!
//! 1. Every applicable policy is searched for a `Deny` statement that matches; one is enough
//!    for a final explicit deny ("An explicit deny in any policy overrides any allows").
//! 2. Same account: an `Allow` in either the identity-based policies or the resource-based
//!    policy suffices ("If either the identity-based policy or the resource-based policy
//!    within the same account allows the request and the other doesn't, the request is still
//!    allowed"). A resource policy that names the account (`"AWS": "<acct>"` or
//!    `arn:aws:iam::<acct>:root`) only "delegates authority to the account", so it grants
//!    nothing to a user or role by itself
//!    (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts>);
//!    one that names the role ARN, the session ARN, the user ARN or `*` grants directly.
//! 3. Cross account: "AWS allows the request only if both account policy evaluations allow the
//!    request": the identity-based policies in the principal's account and the resource-based
//!    policy in the resource's account must each allow.
//! 4. Anonymous callers and service principals have no identity-based policies: only a
//!    resource-based policy can let them in.
//! 5. The account root user has full access within its own account ("all requests are
//!    implicitly denied with the exception of the AWS account root user").
//! 6. Gates (VPC endpoint policies, Lattice auth policies) never grant; each must also allow
//!    ("An endpoint policy does not override or replace identity-based policies or
//!    resource-based policies", vpc-endpoints-access.html; Lattice: "both auth policies and
//!    identity-based policies need to have explicit allow statements", auth-policies.html).
//!
//! The API Gateway guide tabulates the same rules for identity x resource policy, same account
//! (Table A) and cross account (Table B):
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction>.

use std::fmt;

use super::condition::arn_glob;
use super::context::{Overlay, RequestContext, keys};
use super::policy::{
    ActionBlock, ActionPattern, Effect, Policy, PolicyKind, PolicyPrincipal, PrincipalBlock,
    ResourceBlock, Statement,
};
use super::principal::{Principal, is_account_id};
use super::wildcard::{Tok, glob_match};

/// A policy with the name it is reported under (`PatternARole/HttpInvokePrivate`,
/// `resource-policy`, `vpce-0abc/endpoint-policy`, …).
#[derive(Clone, Debug)]
pub struct NamedPolicy {
    /// Name used in [`StatementRef`]s.
    pub name: String,
    /// The parsed document; its [`PolicyKind`] says which role it plays.
    pub policy: Policy,
}

impl NamedPolicy {
    /// Pairs a name with a policy.
    pub fn new(name: impl Into<String>, policy: Policy) -> Self {
        Self {
            name: name.into(),
            policy,
        }
    }
}

/// The request being authorized.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who is asking (from [`super::CredentialStore::authenticate`], or anonymous).
    pub principal: &'a Principal,
    /// `service:Action`, e.g. `execute-api:Invoke`.
    pub action: &'a str,
    /// The resource ARN (or `*` for actions without resource-level permissions).
    pub resource: &'a str,
    /// Condition keys supplied by the caller; the principal-derived keys are added by the
    /// evaluator and override any the caller set.
    pub context: &'a RequestContext,
}

/// Every policy that applies to one request.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicySet<'a> {
    /// The principal's identity-based policies, inline and managed. Ignored for anonymous,
    /// root and service principals, which have none.
    pub identity: &'a [NamedPolicy],
    /// The resource-based policy on the resource, if it has one.
    pub resource: Option<&'a NamedPolicy>,
    /// The account owning the resource; `None` takes the account field of the resource ARN,
    /// and a resource with no account in its ARN (such as `*`) counts as the principal's own.
    pub resource_account: Option<&'a str>,
    /// Filters on the path (VPC endpoint policies, Lattice auth policies), in the order they
    /// are reported; each must allow.
    pub gates: &'a [NamedPolicy],
}

/// Names the statement that decided, for the hop-by-hop trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRef {
    /// [`NamedPolicy::name`].
    pub policy: String,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<String>,
    /// Position in the policy's statement list, from 0.
    pub index: usize,
}

impl StatementRef {
    fn new(policy: &NamedPolicy, statement: &Statement) -> Self {
        Self {
            policy: policy.name.clone(),
            sid: statement.sid().map(str::to_owned),
            index: statement.index(),
        }
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Piece by piece (every allowed request's trace writes it).
        f.write_str(&self.policy)?;
        f.write_str(" Statement[")?;
        f.write_str(itoa::Buffer::new().format(self.index))?;
        f.write_str("]")?;
        if let Some(sid) = &self.sid {
            // A Sid is letters and digits (reference_policies_elements_sid.html): quoted as
            // it is; anything else as Rust's escaped form (a hostile policy's control
            // characters do not reach the trace raw).
            if sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                f.write_str(" (Sid \"")?;
                f.write_str(sid)?;
                f.write_str("\")")?;
            } else {
                write!(f, " (Sid {sid:?})")?;
            }
        }
        Ok(())
    }
}

/// Why nothing allowed the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImplicitDenyReason {
    /// The principal's identity-based policies do not allow it (and, in the same account, no
    /// resource-based policy grants it directly).
    NoIdentityPolicyAllows,
    /// The resource-based policy does not allow it, or there is none: for cross-account
    /// callers, anonymous callers and service principals.
    NoResourcePolicyAllows,
    /// A gate (VPC endpoint policy, Lattice auth policy) has no matching `Allow`.
    NoGatePolicyAllows {
        /// The gate's name.
        policy: String,
        /// Its kind.
        policy_kind: PolicyKind,
    },
    /// [`evaluate_policy`] on a single policy found no matching `Allow`.
    NoPolicyAllows {
        /// The policy's name.
        policy: String,
        /// Its kind.
        policy_kind: PolicyKind,
    },
}

impl ImplicitDenyReason {
    /// The policy type an access-denied message names (`because no TYPE allows …`).
    pub fn policy_kind(&self) -> PolicyKind {
        match self {
            Self::NoIdentityPolicyAllows => PolicyKind::IdentityBased,
            Self::NoResourcePolicyAllows => PolicyKind::ResourceBased,
            Self::NoGatePolicyAllows { policy_kind, .. }
            | Self::NoPolicyAllows { policy_kind, .. } => *policy_kind,
        }
    }
}

impl fmt::Display for ImplicitDenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIdentityPolicyAllows => f.write_str("no identity-based policy allows it"),
            Self::NoResourcePolicyAllows => f.write_str("no resource-based policy allows it"),
            Self::NoGatePolicyAllows {
                policy,
                policy_kind,
            }
            | Self::NoPolicyAllows {
                policy,
                policy_kind,
            } => write!(
                f,
                "{policy} ({policy_kind}) has no statement that allows it"
            ),
        }
    }
}

/// The outcome of an authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed. `by` lists every `Allow` statement that matched, identity-based first, then
    /// resource-based, then gates; it is empty only when the root user's implicit full access
    /// decided.
    Allow {
        /// The matching `Allow` statements.
        by: Vec<StatementRef>,
    },
    /// A `Deny` statement matched.
    ExplicitDeny {
        /// The first matching `Deny` (identity-based policies are searched first, then the
        /// resource-based policy, then the gates, each in document order).
        by: StatementRef,
        /// The kind of policy it is in.
        policy_kind: PolicyKind,
    },
    /// Nothing allowed it.
    ImplicitDeny {
        /// Which required allow was missing.
        reason: ImplicitDenyReason,
    },
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow { by } if by.is_empty() => {
                f.write_str("allowed: the account root user has full access")
            }
            Self::Allow { by } => {
                f.write_str("allowed by ")?;
                for (i, s) in by.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                Ok(())
            }
            Self::ExplicitDeny { by, policy_kind } => {
                write!(f, "explicitly denied by {by} ({policy_kind})")
            }
            Self::ImplicitDeny { reason } => write!(f, "implicitly denied: {reason}"),
        }
    }
}

/// How a principal was matched by a resource-based statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    /// Identity-based statement: the principal is implicit.
    Identity,
    /// Named directly (`*`, its user/role/session ARN, unique ID, service name).
    Direct,
    /// Named only through its account, which delegates to the account's IAM policies.
    Account,
}

/// What one policy says about a request: its first matching `Deny`, and its matching `Allow`
/// statements (borrowed: a [`StatementRef`] is made only for those the decision names).
struct Scan<'p> {
    policy: &'p NamedPolicy,
    deny: Option<&'p Statement>,
    allows: Vec<(&'p Statement, Grant)>,
}

impl Scan<'_> {
    fn allow_refs(&self) -> impl Iterator<Item = StatementRef> + '_ {
        self.allows
            .iter()
            .map(|(st, _)| StatementRef::new(self.policy, st))
    }
}

/// Authorizes a request against every policy that applies to it (see the module docs for the
/// rules and their sources).
pub fn evaluate(request: &Request<'_>, policies: &PolicySet<'_>) -> Decision {
    let ctx = LazyContext::of(request);
    let principal = request.principal;
    let has_identity_policies = matches!(
        principal,
        Principal::User { .. } | Principal::AssumedRole { .. }
    );
    let identity: &[NamedPolicy] = if has_identity_policies {
        policies.identity
    } else {
        &[]
    };
    // Usually one identity policy: its scan is kept apart from the rest without a vector.
    let mut identity_scans = identity.iter().map(|p| scan(p, request, &ctx));
    let first_identity = identity_scans.next();
    let more_identity: Vec<Scan<'_>> = identity_scans.collect();
    let identity = || first_identity.iter().chain(more_identity.iter());
    let resource = policies.resource.map(|p| scan(p, request, &ctx));
    let gates: Vec<Scan<'_>> = policies
        .gates
        .iter()
        .map(|p| scan(p, request, &ctx))
        .collect();

    for s in identity().chain(resource.iter()).chain(gates.iter()) {
        if let Some(st) = s.deny {
            return Decision::ExplicitDeny {
                by: StatementRef::new(s.policy, st),
                policy_kind: s.policy.policy.kind(),
            };
        }
    }

    let identity_allows = identity().any(|s| !s.allows.is_empty());
    let resource_allows = resource.as_ref().is_some_and(|s| !s.allows.is_empty());
    let resource_direct = resource
        .as_ref()
        .is_some_and(|s| s.allows.iter().any(|(_, g)| *g == Grant::Direct));
    let owner = policies
        .resource_account
        .or_else(|| account_of_arn(request.resource));
    let same_account = match (principal.account(), owner) {
        (Some(mine), Some(theirs)) => mine == theirs,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let deny = |reason| Decision::ImplicitDeny { reason };

    let mut by = Vec::new();
    match principal {
        Principal::Anonymous | Principal::Service { .. } => {
            if !resource_allows {
                return deny(ImplicitDenyReason::NoResourcePolicyAllows);
            }
        }
        Principal::Root { .. } => {
            if !same_account && !resource_allows {
                return deny(ImplicitDenyReason::NoResourcePolicyAllows);
            }
        }
        Principal::User { .. } | Principal::AssumedRole { .. } => {
            if same_account {
                if !identity_allows && !resource_direct {
                    return deny(ImplicitDenyReason::NoIdentityPolicyAllows);
                }
            } else if !identity_allows {
                return deny(ImplicitDenyReason::NoIdentityPolicyAllows);
            } else if !resource_allows {
                return deny(ImplicitDenyReason::NoResourcePolicyAllows);
            }
            for s in identity() {
                by.extend(s.allow_refs());
            }
        }
    }
    if let Some(s) = &resource {
        by.extend(s.allow_refs());
    }

    for gate in &gates {
        if gate.allows.is_empty() {
            return deny(ImplicitDenyReason::NoGatePolicyAllows {
                policy: gate.policy.name.clone(),
                policy_kind: gate.policy.policy.kind(),
            });
        }
        by.extend(gate.allow_refs());
    }
    Decision::Allow { by }
}

/// Evaluates one policy on its own: an explicit deny, else an allow, else an implicit deny.
///
/// This is how a gate is checked at its own hop (a VPC endpoint policy, a Lattice service
/// network or service auth policy), and how API Gateway evaluates a resource policy on a
/// method without IAM authorization ("seeking an explicit allow … An implicit denial or any
/// explicit denial results in denying the caller", apigateway-authorization-flow.html). Any
/// principal match counts here, an account principal included.
pub fn evaluate_policy(request: &Request<'_>, policy: &NamedPolicy) -> Decision {
    let ctx = LazyContext::of(request);
    let s = scan(policy, request, &ctx);
    if let Some(st) = s.deny {
        return Decision::ExplicitDeny {
            by: StatementRef::new(policy, st),
            policy_kind: policy.policy.kind(),
        };
    }
    if s.allows.is_empty() {
        return Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoPolicyAllows {
                policy: policy.name.clone(),
                policy_kind: policy.policy.kind(),
            },
        };
    }
    Decision::Allow {
        by: s.allow_refs().collect(),
    }
}

/// The keys [`derived_context`] sets (or leaves absent) whatever the caller gave, folded to
/// lower case as the context compares them: `aws:PrincipalArn`, `aws:PrincipalAccount`,
/// `aws:PrincipalType`, `aws:userid`, `aws:username`, `aws:PrincipalIsAWSService`,
/// `aws:PrincipalServiceName`, `aws:ViaAWSService`, `aws:CalledVia`, `aws:PrincipalOrgID`.
const DERIVED_FOLDED: [&str; 10] = [
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:viaawsservice",
    "aws:calledvia",
    "aws:principalorgid",
];

/// The caller's context plus the keys AWS derives from the principal: `aws:PrincipalArn`,
/// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`, `aws:username`,
/// `aws:PrincipalIsAWSService` and `aws:PrincipalServiceName`
/// (reference_policies_condition-keys.html). They replace any value the caller supplied, since
/// AWS never takes them from the request.
pub fn derived_context(principal: &Principal, ctx: &RequestContext) -> RequestContext {
    ctx.without_folded_plus(&DERIVED_FOLDED, derived_keys(principal))
}

/// [`derived_context`] without a copy of `ctx`: the derived keys laid over it.
fn derived_overlay<'a>(principal: &Principal, ctx: &'a RequestContext) -> Overlay<'a> {
    Overlay {
        under: ctx,
        over: RequestContext::new().without_folded_plus(&[], derived_keys(principal)),
        shadowed: &DERIVED_FOLDED,
    }
}

/// The keys [`derived_context`] sets: (key, folded key, value), each of [`DERIVED_FOLDED`] at
/// most once, in folded order.
fn derived_keys(
    principal: &Principal,
) -> impl Iterator<Item = (&'static str, &'static str, String)> {
    // (key, folded key, value): DERIVED_FOLDED's keys, each at most once, in folded order.
    let service = match principal {
        Principal::Service { name } => Some(name),
        _ => None,
    };
    // "present in the request context for all signed API requests … Anonymous requests do not
    // include this key."
    let is_service = match principal {
        Principal::Anonymous => None,
        Principal::Service { .. } => Some("true"),
        _ => Some("false"),
    };
    // aws:ViaAWSService: "always included in the request context"; `true` only for forward access
    // sessions, which no emulated service uses (a service acting with a role's session, as Step
    // Functions does with its execution role, sets it to false). aws:CalledVia is present only
    // with forward access sessions, and aws:PrincipalOrgID only for accounts in an organization:
    // both absent here.
    let derived = [
        principal
            .principal_account()
            .map(|a| (keys::PRINCIPAL_ACCOUNT, DERIVED_FOLDED[1], a.to_owned())),
        principal
            .principal_arn()
            .map(|arn| (keys::PRINCIPAL_ARN, DERIVED_FOLDED[0], arn)),
        is_service.map(|v| {
            (
                keys::PRINCIPAL_IS_AWS_SERVICE,
                DERIVED_FOLDED[5],
                v.to_owned(),
            )
        }),
        service.map(|n| (keys::PRINCIPAL_SERVICE_NAME, DERIVED_FOLDED[6], n.clone())),
        Some((
            keys::PRINCIPAL_TYPE,
            DERIVED_FOLDED[2],
            principal.principal_type().to_owned(),
        )),
        principal
            .user_id()
            .map(|id| (keys::USER_ID, DERIVED_FOLDED[3], id)),
        principal
            .username()
            .map(|n| (keys::USERNAME, DERIVED_FOLDED[4], n.to_owned())),
        Some((keys::VIA_AWS_SERVICE, DERIVED_FOLDED[7], "false".to_owned())),
    ];
    derived.into_iter().flatten()
}

/// The request's context with the keys derived from its principal ([`derived_context`]), built
/// the first time a statement asks for it (a condition, or a policy variable in a resource):
/// most statements need none. The derived keys are laid over the request's context
/// ([`derived_overlay`]) rather than merged into a copy of it, whose values were each a new
/// string.
struct LazyContext<'a> {
    principal: &'a Principal,
    given: &'a RequestContext,
    derived: std::cell::OnceCell<Overlay<'a>>,
}

impl<'a> LazyContext<'a> {
    fn of(request: &Request<'a>) -> Self {
        Self {
            principal: request.principal,
            given: request.context,
            derived: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> &Overlay<'a> {
        self.derived
            .get_or_init(|| derived_overlay(self.principal, self.given))
    }
}

fn scan<'p>(policy: &'p NamedPolicy, request: &Request<'_>, ctx: &LazyContext<'_>) -> Scan<'p> {
    let mut out = Scan {
        policy,
        deny: None,
        allows: Vec::new(),
    };
    for st in policy.policy.statements() {
        if let Some(grant) = statement_applies(st, request, ctx) {
            match st.effect() {
                // The first matching Deny is the one a decision names.
                Effect::Deny => {
                    out.deny.get_or_insert(st);
                }
                Effect::Allow => out.allows.push((st, grant)),
            }
        }
    }
    out
}

fn statement_applies(
    st: &Statement,
    request: &Request<'_>,
    ctx: &LazyContext<'_>,
) -> Option<Grant> {
    let grant = match &st.principal {
        None => Grant::Identity,
        Some(block) => principal_block_matches(block, request.principal)?,
    };
    if !action_matches(&st.action, request.action) {
        return None;
    }
    if !resource_matches(&st.resource, request.resource, ctx) {
        return None;
    }
    if !st.conditions.iter().all(|c| c.holds(ctx.get())) {
        return None;
    }
    Some(grant)
}

fn action_matches(block: &ActionBlock, action: &str) -> bool {
    match block {
        ActionBlock::Action(list) => list.iter().any(|p| action_pattern_matches(p, action)),
        ActionBlock::NotAction(list) => !list.iter().any(|p| action_pattern_matches(p, action)),
    }
}

fn action_pattern_matches(pattern: &ActionPattern, action: &str) -> bool {
    if pattern.vendor.is_none() && pattern.name == [Tok::Star] {
        return true;
    }
    let (vendor, name) = action.split_once(':').unwrap_or(("", action));
    let vendor_ok = pattern
        .vendor
        .as_deref()
        .is_none_or(|v| v.eq_ignore_ascii_case(vendor));
    vendor_ok
        && match &pattern.literal {
            // No wildcard, both ASCII: ASCII folding is the whole of the case-insensitive match.
            Some(literal) if name.is_ascii() => literal.eq_ignore_ascii_case(name),
            _ => glob_match(&pattern.name, name, true),
        }
}

fn resource_matches(block: &ResourceBlock, resource: &str, ctx: &LazyContext<'_>) -> bool {
    let matches_one = |t: &super::wildcard::Template| match t.fixed() {
        // Without wildcards the segment-wise match is string equality.
        Some(_) if t.literal().is_some() => t.literal() == Some(resource),
        Some(tokens) => arn_glob(tokens, resource),
        None => t
            .resolve_glob(ctx.get())
            .is_some_and(|tokens| arn_glob(&tokens, resource)),
    };
    match block {
        ResourceBlock::Resource(list) => list.iter().any(matches_one),
        ResourceBlock::NotResource(list) => !list.iter().any(matches_one),
    }
}

fn principal_block_matches(block: &PrincipalBlock, principal: &Principal) -> Option<Grant> {
    match block {
        PrincipalBlock::Principal(list) => {
            let grants: Vec<Grant> = list
                .iter()
                .filter_map(|e| entry_matches(e, principal))
                .collect();
            if grants.contains(&Grant::Direct) {
                Some(Grant::Direct)
            } else {
                grants.first().copied()
            }
        }
        // NotPrincipal: AWS "might validate the account first, then the role, and then the
        // assumed-role user", so a principal escapes the statement only when every level of
        // its identity is listed: account + user, or account + role + session
        // (reference_policies_elements_notprincipal.html).
        PrincipalBlock::NotPrincipal(list) => {
            let excluded = levels(principal)
                .iter()
                .all(|level| list.iter().any(|e| covers(e, *level, principal)));
            (!excluded).then_some(Grant::Direct)
        }
    }
}

fn entry_matches(entry: &PolicyPrincipal, p: &Principal) -> Option<Grant> {
    let direct = |ok: bool| ok.then_some(Grant::Direct);
    match entry {
        PolicyPrincipal::Everyone => Some(Grant::Direct),
        // `{"AWS": "*"}` is documented as equivalent to `"*"` for anonymous users; whether it
        // also covers service principals is not documented, and the emulator says no.
        PolicyPrincipal::AnyAws => direct(!matches!(p, Principal::Service { .. })),
        PolicyPrincipal::Account(account) => match p {
            Principal::Root { account: a } if a == account => Some(Grant::Direct),
            _ if p.account() == Some(account.as_str()) => Some(Grant::Account),
            _ => None,
        },
        PolicyPrincipal::User(arn) => {
            direct(matches!(p, Principal::User { .. }) && p.arn() == *arn)
        }
        PolicyPrincipal::Role(arn) => direct(p.role_arn().as_deref() == Some(arn.as_str())),
        PolicyPrincipal::Session(arn) => {
            direct(matches!(p, Principal::AssumedRole { .. }) && p.arn() == *arn)
        }
        PolicyPrincipal::UniqueId(id) => direct(p.unique_id().as_deref() == Some(id.as_str())),
        PolicyPrincipal::Service(name) => {
            direct(matches!(p, Principal::Service { name: n } if n == name))
        }
        PolicyPrincipal::FederatedUser(_)
        | PolicyPrincipal::Federated(_)
        | PolicyPrincipal::CanonicalUser(_) => None,
    }
}

/// One level of a principal's identity, as `NotPrincipal` checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Account,
    UserOrRole,
    Session,
    Service,
    Anonymous,
}

fn levels(p: &Principal) -> &'static [Level] {
    match p {
        Principal::Anonymous => &[Level::Anonymous],
        Principal::Root { .. } => &[Level::Account],
        Principal::User { .. } => &[Level::Account, Level::UserOrRole],
        Principal::AssumedRole { .. } => &[Level::Account, Level::UserOrRole, Level::Session],
        Principal::Service { .. } => &[Level::Service],
    }
}

fn covers(entry: &PolicyPrincipal, level: Level, p: &Principal) -> bool {
    match entry {
        PolicyPrincipal::Everyone => true,
        PolicyPrincipal::AnyAws => level != Level::Service,
        PolicyPrincipal::Account(a) => level == Level::Account && p.account() == Some(a.as_str()),
        PolicyPrincipal::User(arn) => {
            level == Level::UserOrRole && matches!(p, Principal::User { .. }) && p.arn() == *arn
        }
        PolicyPrincipal::Role(arn) => {
            level == Level::UserOrRole && p.role_arn().as_deref() == Some(arn.as_str())
        }
        PolicyPrincipal::UniqueId(id) => {
            level == Level::UserOrRole && p.unique_id().as_deref() == Some(id.as_str())
        }
        PolicyPrincipal::Session(arn) => {
            level == Level::Session && matches!(p, Principal::AssumedRole { .. }) && p.arn() == *arn
        }
        PolicyPrincipal::Service(name) => {
            level == Level::Service && matches!(p, Principal::Service { name: n } if n == name)
        }
        PolicyPrincipal::FederatedUser(_)
        | PolicyPrincipal::Federated(_)
        | PolicyPrincipal::CanonicalUser(_) => false,
    }
}

/// The account field (fifth) of an ARN, when it is a 12-digit ID.
fn account_of_arn(resource: &str) -> Option<&str> {
    let account = resource.split(':').nth(4)?;
    is_account_id(account).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement is named with its Sid quoted as it is when the Sid is letters and digits
    /// (the grammar's), and escaped otherwise, so a policy's control characters stay out of
    /// the trace.
    #[test]
    fn statement_refs_quote_their_sid_and_escape_odd_ones() {
        let named = |sid: &str| {
            StatementRef {
                policy: "Role/Inline".into(),
                sid: Some(sid.into()),
                index: 2,
            }
            .to_string()
        };
        assert_eq!(
            named("AllowInvoke1"),
            "Role/Inline Statement[2] (Sid \"AllowInvoke1\")"
        );
        assert_eq!(
            named("a b\n\"c"),
            "Role/Inline Statement[2] (Sid \"a b\\n\\\"c\")"
        );
    }

    #[test]
    fn derived_keys_are_the_principal_keys_folded() {
        let keys = [
            keys::PRINCIPAL_ARN,
            keys::PRINCIPAL_ACCOUNT,
            keys::PRINCIPAL_TYPE,
            keys::USER_ID,
            keys::USERNAME,
            keys::PRINCIPAL_IS_AWS_SERVICE,
            keys::PRINCIPAL_SERVICE_NAME,
            keys::VIA_AWS_SERVICE,
            keys::CALLED_VIA,
            keys::PRINCIPAL_ORG_ID,
        ];
        let folded: Vec<String> = keys.iter().map(|k| k.to_ascii_lowercase()).collect();
        assert_eq!(folded, DERIVED_FOLDED);
    }

    #[test]
    fn derived_keys_replace_what_the_caller_gave() {
        let root = Principal::Root {
            account: "111122223333".into(),
        };
        let given = RequestContext::new()
            .with("AWS:PrincipalArn", "arn:aws:iam::999999999999:root")
            .with(keys::PRINCIPAL_ORG_ID, "o-forged")
            .with(keys::SOURCE_IP, "10.0.0.1");
        let ctx = derived_context(&root, &given);
        assert_eq!(
            ctx.get_single(keys::PRINCIPAL_ARN),
            Some("arn:aws:iam::111122223333:root")
        );
        assert_eq!(ctx.get(keys::PRINCIPAL_ORG_ID), None);
        assert_eq!(ctx.get_single(keys::SOURCE_IP), Some("10.0.0.1"));
        assert_eq!(ctx.get_single(keys::VIA_AWS_SERVICE), Some("false"));
    }

    /// The overlay the evaluator reads (no copy of the caller's context) gives, for every key
    /// the caller or the evaluator sets, in any case, what the merged copy gives.
    #[test]
    fn the_derived_overlay_reads_as_the_derived_context() {
        use super::super::context::Keys;
        let principals = [
            Principal::Root {
                account: "111122223333".into(),
            },
            Principal::Anonymous,
            Principal::Service {
                name: "states.amazonaws.com".into(),
            },
            Principal::user("111122223333", "dev"),
            Principal::session_of("arn:aws:iam::111122223333:role/app", "exec-1"),
        ];
        let given = RequestContext::new()
            .with("AWS:PrincipalArn", "arn:aws:iam::999999999999:root")
            .with(keys::PRINCIPAL_ORG_ID, "o-forged")
            .with(keys::PRINCIPAL_SERVICE_NAME, "forged")
            .with(keys::SOURCE_IP, "10.0.0.1")
            .with_values("aws:TagKeys", ["a", "b"]);
        let mut names: Vec<String> = DERIVED_FOLDED.iter().map(|k| k.to_string()).collect();
        names.extend(
            [
                keys::SOURCE_IP,
                "aws:TagKeys",
                "aws:Missing",
                "AWS:PRINCIPALARN",
            ]
            .map(String::from),
        );
        for principal in &principals {
            let merged = derived_context(principal, &given);
            let overlay = derived_overlay(principal, &given);
            for name in &names {
                for key in [name.clone(), name.to_ascii_uppercase()] {
                    assert_eq!(
                        overlay.values(&key),
                        merged.get(&key),
                        "{principal:?} {key}"
                    );
                }
            }
        }
    }
}
