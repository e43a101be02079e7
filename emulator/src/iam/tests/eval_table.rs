//! Every cell of identity policy {Allow, Deny, none} x resource policy {Allow, Deny, none} x
//! {same account, cross account}.
//!
//! Expected outcomes: API Gateway's Table A (same account) and Table B (cross account),
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction>,
//! which restate IAM's rules: same account, "If either the identity-based policy or the
//! resource-based policy within the same account allows the request and the other doesn't,
//! the request is still allowed"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>);
//! cross account, "The request is allowed only if both evaluations return a decision of Allow"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>);
//! and "An explicit deny in any policy overrides any allows". "none" is tested both as no
//! policy at all and as a policy whose statements do not apply ("Neither Allow nor Deny").

use serde_json::json;

use super::super::{
    Decision, ImplicitDenyReason, NamedPolicy, PolicyKind, Principal, RequestContext, StatementRef,
};
use super::{ACCT, OTHER, decide, named};

const ACTION: &str = "execute-api:Invoke";
const RESOURCE: &str = "arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/";

#[derive(Clone, Copy, Debug)]
enum Side {
    Allow,
    Deny,
    /// No policy at all.
    Absent,
    /// A policy whose only statement is about another action.
    Silent,
}

#[derive(Debug, PartialEq, Eq)]
enum Want {
    Allowed,
    DenyIdentity,
    DenyResource,
    ImplicitIdentity,
    ImplicitResource,
}

fn identity(side: Side) -> Vec<NamedPolicy> {
    let stmt = |effect: &str, action: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Id", "Effect": effect, "Action": action, "Resource": RESOURCE}]})
    };
    match side {
        Side::Allow => vec![named(
            "Role/Inline",
            PolicyKind::IdentityBased,
            stmt("Allow", ACTION),
        )],
        Side::Deny => vec![named(
            "Role/Inline",
            PolicyKind::IdentityBased,
            stmt("Deny", ACTION),
        )],
        Side::Absent => vec![],
        Side::Silent => vec![named(
            "Role/Inline",
            PolicyKind::IdentityBased,
            stmt("Allow", "execute-api:ManageConnections"),
        )],
    }
}

fn resource(side: Side, principal: &Principal) -> Option<NamedPolicy> {
    // The resource policy names the caller's role, as the cross-account page requires ("must
    // specify the principal of the trusted account").
    let role_arn = principal.principal_arn().unwrap();
    let stmt = |effect: &str, action: &str| {
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Res", "Effect": effect, "Principal": {"AWS": role_arn},
            "Action": action, "Resource": RESOURCE}]})
    };
    match side {
        Side::Allow => Some(named(
            "resource-policy",
            PolicyKind::ResourceBased,
            stmt("Allow", ACTION),
        )),
        Side::Deny => Some(named(
            "resource-policy",
            PolicyKind::ResourceBased,
            stmt("Deny", ACTION),
        )),
        Side::Absent => None,
        Side::Silent => Some(named(
            "resource-policy",
            PolicyKind::ResourceBased,
            stmt("Allow", "execute-api:ManageConnections"),
        )),
    }
}

fn classify(d: &Decision) -> Want {
    match d {
        Decision::Allow { .. } => Want::Allowed,
        Decision::ExplicitDeny {
            policy_kind: PolicyKind::IdentityBased,
            ..
        } => Want::DenyIdentity,
        Decision::ExplicitDeny { .. } => Want::DenyResource,
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoIdentityPolicyAllows,
        } => Want::ImplicitIdentity,
        Decision::ImplicitDeny { .. } => Want::ImplicitResource,
    }
}

#[test]
fn identity_by_resource_by_account() {
    use Side::*;
    use Want::*;
    // (identity, resource, same-account outcome, cross-account outcome)
    let table = [
        // Table A / Table B rows "Allow | Allow".
        (Allow, Allow, Want::Allowed, Want::Allowed),
        // "Allow | Neither": same account allows; cross account needs the resource policy.
        (Allow, Absent, Want::Allowed, ImplicitResource),
        (Allow, Silent, Want::Allowed, ImplicitResource),
        // "Allow | Deny": explicit deny.
        (Allow, Deny, DenyResource, DenyResource),
        // "Neither | Allow": same account allows through the resource policy alone.
        (Absent, Allow, Want::Allowed, ImplicitIdentity),
        (Silent, Allow, Want::Allowed, ImplicitIdentity),
        // "Neither | Neither": implicit deny.
        (Absent, Absent, ImplicitIdentity, ImplicitIdentity),
        (Absent, Silent, ImplicitIdentity, ImplicitIdentity),
        (Silent, Absent, ImplicitIdentity, ImplicitIdentity),
        (Silent, Silent, ImplicitIdentity, ImplicitIdentity),
        // "Neither | Deny".
        (Absent, Deny, DenyResource, DenyResource),
        (Silent, Deny, DenyResource, DenyResource),
        // "Deny | *": explicit deny, reported from the identity-based policy (searched first).
        (Deny, Allow, DenyIdentity, DenyIdentity),
        (Deny, Absent, DenyIdentity, DenyIdentity),
        (Deny, Silent, DenyIdentity, DenyIdentity),
        (Deny, Deny, DenyIdentity, DenyIdentity),
    ];
    let ctx = RequestContext::new();
    for (id_side, res_side, same_want, cross_want) in table {
        for (account, want) in [(ACCT, &same_want), (OTHER, &cross_want)] {
            let principal = Principal::assumed_role(account, "Caller", "s");
            let ids = identity(id_side);
            let res = resource(res_side, &principal);
            let d = decide(&principal, ACTION, RESOURCE, &ctx, &ids, res.as_ref());
            assert_eq!(
                &classify(&d),
                want,
                "identity {id_side:?}, resource {res_side:?}, caller account {account}: {d}"
            );
        }
    }
}

#[test]
fn allow_names_every_matching_statement() {
    let principal = Principal::assumed_role(OTHER, "Caller", "s");
    let d = decide(
        &principal,
        ACTION,
        RESOURCE,
        &RequestContext::new(),
        &identity(Side::Allow),
        resource(Side::Allow, &principal).as_ref(),
    );
    assert_eq!(
        d,
        Decision::Allow {
            by: vec![
                StatementRef {
                    policy: "Role/Inline".into(),
                    sid: Some("Id".into()),
                    index: 0
                },
                StatementRef {
                    policy: "resource-policy".into(),
                    sid: Some("Res".into()),
                    index: 0
                },
            ]
        }
    );
    assert_eq!(
        d.to_string(),
        "allowed by Role/Inline Statement[0] (Sid \"Id\"), resource-policy Statement[0] (Sid \"Res\")"
    );
}

#[test]
fn resource_account_can_be_given_explicitly() {
    // A resource without an account in its ARN counts as the caller's own unless told.
    let principal = Principal::assumed_role(ACCT, "Caller", "s");
    let ids = identity(Side::Allow);
    let ctx = RequestContext::new();
    let request = super::super::Request {
        principal: &principal,
        action: ACTION,
        resource: "*",
        context: &ctx,
    };
    let ids_only = |account| super::super::PolicySet {
        identity: &ids,
        resource_account: account,
        ..Default::default()
    };
    // Identity policy names RESOURCE, not "*": use an Action-only match instead.
    let any = [named(
        "Role/Any",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ACTION, "Resource": "*"}]}),
    )];
    let with_any = |account| super::super::PolicySet {
        identity: &any,
        resource_account: account,
        ..Default::default()
    };
    assert!(!super::super::evaluate(&request, &ids_only(None)).is_allowed());
    assert!(super::super::evaluate(&request, &with_any(None)).is_allowed());
    assert_eq!(
        super::super::evaluate(&request, &with_any(Some(OTHER))),
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoResourcePolicyAllows
        }
    );
}
