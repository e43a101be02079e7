//! Action and resource matching, NotAction/NotResource, and single-policy evaluation.

use serde_json::{Value, json};

use super::super::{
    Decision, ImplicitDenyReason, PolicyKind, Principal, Request, RequestContext, evaluate_policy,
};
use super::{ACCT, decide, named};

fn allowed(statement: Value, action: &str, resource: &str) -> bool {
    let mut st = statement;
    st["Effect"] = json!("Allow");
    let policy = named(
        "U/P",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [st]}),
    );
    let user = Principal::user(ACCT, "u");
    decide(
        &user,
        action,
        resource,
        &RequestContext::new(),
        &[policy],
        None,
    )
    .is_allowed()
}

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    // "The prefix and the action name are case insensitive. For example, iam:ListAccessKeys is
    // the same as IAM:listaccesskeys." (reference_policies_elements_action.html)
    let st = |a: &str| json!({"Action": a, "Resource": "*"});
    assert!(allowed(st("IAM:listaccesskeys"), "iam:ListAccessKeys", "*"));
    assert!(allowed(st("iam:*AccessKey*"), "iam:CreateAccessKey", "*"));
    assert!(allowed(st("iam:*AccessKey*"), "iam:ListAccessKeys", "*"));
    assert!(!allowed(st("iam:*AccessKey*"), "iam:ListUsers", "*"));
    assert!(allowed(st("s3:Get?bject"), "s3:GetObject", "*"));
    assert!(!allowed(st("s3:Get?bject"), "s3:GetObjectAcl", "*"));
    assert!(allowed(st("*"), "anything:AtAll", "*"));
    // The service prefix must match exactly, not as a prefix.
    assert!(!allowed(st("s3:*"), "s3express:CreateSession", "*"));
    assert!(allowed(st("execute-api:Invoke"), "execute-api:Invoke", "*"));
    assert!(!allowed(
        st("execute-api:Invoke"),
        "execute-api:InvokeX",
        "*"
    ));
}

#[test]
fn resources_match_per_arn_segment() {
    let st = |r: &str| json!({"Action": "s3:*", "Resource": r});
    // Case-sensitive.
    assert!(!allowed(
        st("arn:aws:s3:::Bucket/*"),
        "s3:GetObject",
        "arn:aws:s3:::bucket/x"
    ));
    // The resource segment keeps its colons and slashes.
    assert!(allowed(
        st("arn:aws:s3:::*"),
        "s3:GetObject",
        "arn:aws:s3:::b/k:with:colons"
    ));
    // `*` in the region segment does not reach into the account segment.
    assert!(allowed(
        st("arn:aws:s3:*:*:*"),
        "s3:GetObject",
        "arn:aws:s3:::b"
    ));
    let lattice = "arn:aws:vpc-lattice:ap-northeast-1:123456789012:service/svc-0123/*";
    assert!(allowed(
        json!({"Action": "vpc-lattice-svcs:Invoke", "Resource": lattice}),
        "vpc-lattice-svcs:Invoke",
        "arn:aws:vpc-lattice:ap-northeast-1:123456789012:service/svc-0123/GET/health"
    ));
    assert!(!allowed(
        json!({"Action": "vpc-lattice-svcs:Invoke", "Resource": "arn:aws:vpc-lattice:*:123456789012:service/*"}),
        "vpc-lattice-svcs:Invoke",
        "arn:aws:vpc-lattice:ap-northeast-1:210987654321:service/svc-0123/GET/"
    ));
    // `?` is exactly one character.
    assert!(allowed(
        st("arn:aws:s3:::b?"),
        "s3:GetObject",
        "arn:aws:s3:::b1"
    ));
    assert!(!allowed(
        st("arn:aws:s3:::b?"),
        "s3:GetObject",
        "arn:aws:s3:::b"
    ));
}

#[test]
fn not_action_and_not_resource() {
    // NotAction/NotResource match everything except what they list
    // (reference_policies_elements_notaction.html, _notresource.html).
    let st = json!({"NotAction": "iam:*", "Resource": "*"});
    assert!(allowed(st.clone(), "s3:GetObject", "*"));
    assert!(!allowed(st, "iam:CreateUser", "*"));
    let st = json!({"Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"});
    assert!(allowed(st.clone(), "s3:GetObject", "arn:aws:s3:::public/x"));
    assert!(!allowed(st, "s3:GetObject", "arn:aws:s3:::secret/x"));
}

#[test]
fn api_gateway_resource_policy_without_iam_auth() {
    // "API Gateway resource policy only": an explicit allow is needed; the anonymous caller
    // is matched by Principal "*" (apigateway-authorization-flow.html).
    let policy = named(
        "abc123/resource-policy",
        PolicyKind::ResourceBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:111111111111:api-id/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "198.51.100.0/24"]}}}]}),
    );
    let inside = RequestContext::new().with("aws:SourceIp", "192.0.2.10");
    let outside = RequestContext::new().with("aws:SourceIp", "203.0.113.10");
    let request = |ctx| Request {
        principal: &Principal::Anonymous,
        action: "execute-api:Invoke",
        resource: "arn:aws:execute-api:us-east-1:111111111111:api-id/prod/GET/pets",
        context: ctx,
    };
    assert!(evaluate_policy(&request(&inside), &policy).is_allowed());
    assert_eq!(
        evaluate_policy(&request(&outside), &policy),
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoPolicyAllows {
                policy: "abc123/resource-policy".into(),
                policy_kind: PolicyKind::ResourceBased
            }
        }
    );
}

#[test]
fn patterns_without_wildcards_match_exactly_what_their_globs_match() {
    // A resource or action written out is compared as text (no glob walk): the same answers.
    let st = |a: &str, r: &str| json!({"Action": a, "Resource": r});
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/";
    assert!(allowed(
        st("execute-api:Invoke", arn),
        "execute-api:Invoke",
        arn
    ));
    assert!(allowed(
        st("EXECUTE-API:invoke", arn),
        "execute-api:Invoke",
        arn
    ));
    assert!(!allowed(
        st("execute-api:Invoke", arn),
        "execute-api:Invoke",
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x"
    ));
    // Resources are case-sensitive.
    assert!(!allowed(
        st("execute-api:Invoke", arn),
        "execute-api:Invoke",
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/get/"
    ));
    assert!(!allowed(
        st("execute-api:Invoke", arn),
        "execute-api:InvokeX",
        arn
    ));
    // Non-ASCII names still fold as Unicode does.
    assert!(allowed(st("svc:ÄCTION", "*"), "svc:äction", "*"));
    assert!(allowed(
        st("svc:Get", "arn:aws:s3:::ä/k"),
        "svc:get",
        "arn:aws:s3:::ä/k"
    ));
}
