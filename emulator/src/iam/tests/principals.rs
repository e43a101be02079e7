//! Principal and NotPrincipal matching in resource-based policies.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>.

use serde_json::{Value, json};

use super::super::{Decision, ImplicitDenyReason, PolicyKind, Principal, RequestContext};
use super::{ACCT, OTHER, decide, named};

const RES: &str = "arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/";

fn allow_for(principal: Value) -> super::super::NamedPolicy {
    named(
        "resource-policy",
        PolicyKind::ResourceBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "execute-api:Invoke", "Resource": RES}]}),
    )
}

fn allowed(p: &Principal, principal_element: Value) -> bool {
    let rp = allow_for(principal_element);
    decide(
        p,
        "execute-api:Invoke",
        RES,
        &RequestContext::new(),
        &[],
        Some(&rp),
    )
    .is_allowed()
}

#[test]
fn role_arn_matches_its_sessions_and_session_arn_one_session() {
    let s1 = Principal::assumed_role(ACCT, "PatternBRole", "s1");
    let s2 = Principal::assumed_role(ACCT, "PatternBRole", "s2");
    let role = json!({"AWS": "arn:aws:iam::123456789012:role/PatternBRole"});
    assert!(allowed(&s1, role.clone()));
    assert!(allowed(&s2, role));
    let session = json!({"AWS": "arn:aws:sts::123456789012:assumed-role/PatternBRole/s1"});
    assert!(allowed(&s1, session.clone()));
    assert!(!allowed(&s2, session));
    let user = json!({"AWS": "arn:aws:iam::123456789012:user/alice"});
    assert!(allowed(&Principal::user(ACCT, "alice"), user.clone()));
    assert!(!allowed(&Principal::user(ACCT, "Alice"), user));
    let unique = json!({"AWS": Principal::user(ACCT, "bob").unique_id().unwrap()});
    assert!(allowed(&Principal::user(ACCT, "bob"), unique));
}

#[test]
fn star_and_aws_star_include_anonymous() {
    // "For anonymous users, the following elements are equivalent: "Principal": "*" and
    // "Principal" : { "AWS" : "*" }".
    assert!(allowed(&Principal::Anonymous, json!("*")));
    assert!(allowed(&Principal::Anonymous, json!({"AWS": "*"})));
    assert!(allowed(
        &Principal::service("states.amazonaws.com"),
        json!("*")
    ));
    assert!(!allowed(&Principal::Anonymous, json!({"AWS": ACCT})));
}

#[test]
fn service_principals() {
    let sfn = Principal::service("states.amazonaws.com");
    assert!(allowed(&sfn, json!({"Service": "states.amazonaws.com"})));
    assert!(allowed(
        &sfn,
        json!({"Service": ["events.amazonaws.com", "states.amazonaws.com"]})
    ));
    assert!(!allowed(&sfn, json!({"Service": "events.amazonaws.com"})));
    // A service principal has no identity-based policies: without a resource policy, denied.
    let d = decide(
        &sfn,
        "execute-api:Invoke",
        RES,
        &RequestContext::new(),
        &[],
        None,
    );
    assert_eq!(
        d,
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoResourcePolicyAllows
        }
    );
}

#[test]
fn account_principal_delegates_to_identity_policies() {
    // "This delegates authority to the account … an administrator in that account must then
    // grant access to an identity" — the account ARN and the bare ID behave the same.
    let session = Principal::assumed_role(ACCT, "Caller", "s");
    for element in [
        json!({"AWS": ACCT}),
        json!({"AWS": "arn:aws:iam::123456789012:root"}),
    ] {
        assert!(!allowed(&session, element.clone()));
        let identity = [named(
            "Caller/Inline",
            PolicyKind::IdentityBased,
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": RES}]}),
        )];
        let rp = allow_for(element.clone());
        assert!(
            decide(
                &session,
                "execute-api:Invoke",
                RES,
                &RequestContext::new(),
                &identity,
                Some(&rp)
            )
            .is_allowed()
        );
        // The root user needs nothing more.
        assert!(allowed(&Principal::root(ACCT), element));
    }
    // The root user of the same account is allowed with no policy at all ("with the exception
    // of the AWS account root user, which has full access")…
    let d = decide(
        &Principal::root(ACCT),
        "execute-api:Invoke",
        RES,
        &RequestContext::new(),
        &[],
        None,
    );
    assert_eq!(d, Decision::Allow { by: vec![] });
    assert_eq!(
        d.to_string(),
        "allowed: the account root user has full access"
    );
    // …but not across accounts without a resource policy.
    assert!(
        !decide(
            &Principal::root(OTHER),
            "execute-api:Invoke",
            RES,
            &RequestContext::new(),
            &[],
            None
        )
        .is_allowed()
    );
}

#[test]
fn cross_account_needs_the_other_account_named() {
    let caller = Principal::assumed_role(OTHER, "Caller", "s");
    let identity = [named(
        "Caller/Inline",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}),
    )];
    let ctx = RequestContext::new();
    for (element, ok) in [
        (json!({"AWS": OTHER}), true),
        (json!({"AWS": "*"}), true),
        (
            json!({"AWS": "arn:aws:iam::210987654321:role/Caller"}),
            true,
        ),
        (json!({"AWS": ACCT}), false),
    ] {
        let rp = allow_for(element.clone());
        let d = decide(
            &caller,
            "execute-api:Invoke",
            RES,
            &ctx,
            &identity,
            Some(&rp),
        );
        assert_eq!(d.is_allowed(), ok, "{element}: {d}");
    }
}

#[test]
fn not_principal_with_deny_needs_every_level_listed() {
    // With NotPrincipal + Deny, "AWS might validate the account first, then the role, and
    // then the assumed-role user", hence the advice to list all three.
    let session = Principal::assumed_role(
        OTHER,
        "cross-account-read-only-role",
        "cross-account-audit-app",
    );
    let deny = |not: Value| {
        named(
            "bucket-policy",
            PolicyKind::ResourceBased,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "NotPrincipal": {"AWS": not}, "Action": "s3:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
        )
    };
    let identity = [named(
        "Role/Inline",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )];
    let ctx = RequestContext::new();
    let run = |not: Value| {
        decide(
            &session,
            "s3:GetObject",
            "arn:aws:s3:::Bucket_AccountAudit/x",
            &ctx,
            &identity,
            Some(&deny(not)),
        )
    };
    let all_three = json!([
        "arn:aws:sts::210987654321:assumed-role/cross-account-read-only-role/cross-account-audit-app",
        "arn:aws:iam::210987654321:role/cross-account-read-only-role",
        "arn:aws:iam::210987654321:root"
    ]);
    assert!(run(all_three).is_allowed());
    for partial in [
        json!([
            "arn:aws:sts::210987654321:assumed-role/cross-account-read-only-role/cross-account-audit-app"
        ]),
        json!([
            "arn:aws:sts::210987654321:assumed-role/cross-account-read-only-role/cross-account-audit-app",
            "arn:aws:iam::210987654321:role/cross-account-read-only-role"
        ]),
        json!(["arn:aws:iam::210987654321:root"]),
    ] {
        assert!(
            matches!(run(partial.clone()), Decision::ExplicitDeny { .. }),
            "{partial}"
        );
    }
}

#[test]
fn anonymous_only_via_resource_policy() {
    let identity_like = [named(
        "Nobody/Inline",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )];
    let d = decide(
        &Principal::Anonymous,
        "execute-api:Invoke",
        RES,
        &RequestContext::new(),
        &identity_like,
        None,
    );
    assert_eq!(
        d,
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoResourcePolicyAllows
        }
    );
}
