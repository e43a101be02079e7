//! The seed's policies (shared/seeds/000: `PatternARole` inline policy `HttpInvokePrivate`,
//! `PatternBRole` inline policy `HttpInvokeRestApi`, and the REST API resource policy).

use serde_json::{Value, json};

use super::super::{
    Decision, DenialFormat, ImplicitDenyReason, NamedPolicy, PolicyKind, PolicySet, Principal,
    Request, RequestContext, StatementRef, denial_message, evaluate, evaluate_policy,
};
use super::{ACCT, OTHER, decide, named};

const API: &str = "arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/";
const CONNECTION: &str = "arn:aws:events:ap-northeast-1:123456789012:connection/eb-demo-private-connection/8f3e2c1a-5b4d-4e6f-9a7b-0c1d2e3f4a5b";
/// The secret EventBridge creates for a connection (`events!connection/<name>/<uuid>`, with
/// Secrets Manager's six-character suffix).
const SECRET: &str = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:events!connection/eb-demo-private-connection/8f3e2c1a-5b4d-4e6f-9a7b-0c1d2e3f4a5b-AbCdEf";
const LATTICE_RC: &str =
    "arn:aws:vpc-lattice:ap-northeast-1:123456789012:resourceconfiguration/rcfg-0123456789abcdef0";

fn api_resource_policy() -> NamedPolicy {
    named(
        "abc123/resource-policy",
        PolicyKind::ResourceBased,
        json!({"Version":"2012-10-17","Statement":[
 {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/PatternBRole"}}},
 {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/"}]}),
    )
}

fn pattern_b_role_policy() -> NamedPolicy {
    named(
        "PatternBRole/HttpInvokeRestApi",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": API}]}),
    )
}

/// `HttpInvokePrivate` as the seed's template renders it for the connection above.
fn pattern_a_document() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "*"},
        {"Effect": "Allow", "Action": "events:RetrieveConnectionCredentials", "Resource": CONNECTION},
        {"Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:events!connection/eb-demo-private-connection/*"},
        {"Effect": "Allow", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}
    ]})
}

/// The calls Pattern A makes, by the statement of `HttpInvokePrivate` that allows each.
fn pattern_a_calls() -> Vec<(usize, &'static str, &'static str)> {
    vec![
        (
            0,
            "states:InvokeHTTPEndpoint",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:eb-demo-pattern-a-private",
        ),
        (1, "events:RetrieveConnectionCredentials", CONNECTION),
        (2, "secretsmanager:GetSecretValue", SECRET),
        (2, "secretsmanager:DescribeSecret", SECRET),
        (3, "vpc-lattice-svcs:Invoke", LATTICE_RC),
    ]
}

#[test]
fn api_resource_policy_admits_only_pattern_b_role() {
    let policy = api_resource_policy();
    let ctx = RequestContext::new();
    let pattern_b = Principal::assumed_role(ACCT, "PatternBRole", "0f1e2d3c-execution");
    let ids = [pattern_b_role_policy()];
    let d = decide(
        &pattern_b,
        "execute-api:Invoke",
        API,
        &ctx,
        &ids,
        Some(&policy),
    );
    assert_eq!(
        d,
        Decision::Allow {
            by: vec![
                StatementRef {
                    policy: "PatternBRole/HttpInvokeRestApi".into(),
                    sid: None,
                    index: 0
                },
                StatementRef {
                    policy: "abc123/resource-policy".into(),
                    sid: None,
                    index: 1
                },
            ]
        }
    );

    let first_statement = Decision::ExplicitDeny {
        by: StatementRef {
            policy: "abc123/resource-policy".into(),
            sid: None,
            index: 0,
        },
        policy_kind: PolicyKind::ResourceBased,
    };
    // Everyone else, whatever their own policies say, hits statement 0: for anonymous callers
    // the key is missing, and a negated operator on a missing key is true.
    let allow_all = [named(
        "Other/AllowAll",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )];
    let others = [
        Principal::assumed_role(ACCT, "PatternARole", "0f1e2d3c-execution"),
        Principal::AssumedRole {
            account: ACCT.into(),
            role_name: "PatternBRole".into(),
            role_path: "/other-path/".into(),
            session_name: "s".into(),
        },
        Principal::assumed_role(OTHER, "PatternBRole", "s"),
        Principal::user(ACCT, "PatternBRole"),
        Principal::root(ACCT),
        Principal::Anonymous,
        Principal::service("states.amazonaws.com"),
    ];
    for p in &others {
        for ids in [&allow_all[..], &[]] {
            let d = decide(p, "execute-api:Invoke", API, &ctx, ids, Some(&policy));
            assert_eq!(d, first_statement, "{p}");
        }
    }
}

#[test]
fn api_denial_messages() {
    let policy = api_resource_policy();
    let ctx = RequestContext::new();
    let intruder = Principal::assumed_role(ACCT, "PatternARole", "s");
    let request = Request {
        principal: &intruder,
        action: "execute-api:Invoke",
        resource: API,
        context: &ctx,
    };
    let d = evaluate(
        &request,
        &PolicySet {
            resource: Some(&policy),
            ..PolicySet::default()
        },
    );
    assert_eq!(
        denial_message(&request, &d, DenialFormat::ApiGateway).as_deref(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/PatternARole/s is not authorized to \
             perform: execute-api:Invoke on resource: \
             arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/ with an explicit deny"
        )
    );
    assert_eq!(
        denial_message(&request, &d, DenialFormat::PolicyType).as_deref(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/PatternARole/s is not authorized to \
             perform: execute-api:Invoke on resource: \
             arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/ with an explicit \
             deny in a resource-based policy"
        )
    );

    // Without the resource policy, a role with no permission is implicitly denied.
    let implicit = evaluate(&request, &PolicySet::default());
    assert_eq!(
        denial_message(&request, &implicit, DenialFormat::ApiGateway).as_deref(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/PatternARole/s is not authorized to \
             perform: execute-api:Invoke on resource: \
             arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/ because no \
             identity-based policy allows the execute-api:Invoke action"
        )
    );

    // Anonymous, API Gateway wording: no reason at all.
    let anonymous = Request {
        principal: &Principal::Anonymous,
        ..request
    };
    let d = evaluate(&anonymous, &PolicySet::default());
    assert_eq!(
        denial_message(&anonymous, &d, DenialFormat::ApiGateway).as_deref(),
        Some(
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: \
             arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/"
        )
    );
    assert_eq!(
        denial_message(&anonymous, &d, DenialFormat::PolicyType).as_deref(),
        Some(
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: \
             arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/GET/ because no \
             resource-based policy allows the execute-api:Invoke action"
        )
    );
    let allowed = Decision::Allow { by: vec![] };
    assert_eq!(
        denial_message(&request, &allowed, DenialFormat::PolicyType),
        None
    );
}

/// Pattern A's execution role session and its one identity policy.
fn pattern_a_session() -> (Principal, [NamedPolicy; 1]) {
    let session = Principal::assumed_role(ACCT, "PatternARole", "exec");
    let full = [named(
        "PatternARole/HttpInvokePrivate",
        PolicyKind::IdentityBased,
        pattern_a_document(),
    )];
    (session, full)
}

#[test]
fn pattern_a_role_policy_each_statement_is_needed() {
    let ctx = RequestContext::new();
    let (session, full) = pattern_a_session();
    for (stmt, action, resource) in pattern_a_calls() {
        let d = decide(&session, action, resource, &ctx, &full, None);
        assert_eq!(
            d,
            Decision::Allow {
                by: vec![StatementRef {
                    policy: "PatternARole/HttpInvokePrivate".into(),
                    sid: None,
                    index: stmt
                }]
            },
            "{action}"
        );
    }
    for removed in 0..4 {
        let mut doc = pattern_a_document();
        doc["Statement"].as_array_mut().unwrap().remove(removed);
        let reduced = [named(
            "PatternARole/HttpInvokePrivate",
            PolicyKind::IdentityBased,
            doc,
        )];
        for (stmt, action, resource) in pattern_a_calls() {
            let d = decide(&session, action, resource, &ctx, &reduced, None);
            if stmt == removed {
                assert_eq!(
                    d,
                    Decision::ImplicitDeny {
                        reason: ImplicitDenyReason::NoIdentityPolicyAllows
                    },
                    "removing statement {removed} must deny {action}"
                );
                let request = Request {
                    principal: &session,
                    action,
                    resource,
                    context: &ctx,
                };
                assert_eq!(
                    denial_message(&request, &d, DenialFormat::PolicyType),
                    Some(format!(
                        "User: arn:aws:sts::123456789012:assumed-role/PatternARole/exec is not \
                         authorized to perform: {action} on resource: {resource} because no \
                         identity-based policy allows the {action} action"
                    ))
                );
            } else {
                assert!(
                    d.is_allowed(),
                    "removing statement {removed} must not deny {action}"
                );
            }
        }
    }
}

#[test]
fn pattern_a_secret_pattern_is_scoped_to_the_connection() {
    let ctx = RequestContext::new();
    let (session, full) = pattern_a_session();
    for resource in [
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:events!connection/other-connection/x-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/eb-demo-private-connection/x-AbCdEf",
        "arn:aws:secretsmanager:ap-northeast-1:210987654321:secret:events!connection/eb-demo-private-connection/x-AbCdEf",
    ] {
        let d = decide(
            &session,
            "secretsmanager:GetSecretValue",
            resource,
            &ctx,
            &full,
            None,
        );
        assert!(!d.is_allowed(), "{resource}");
    }
    // Another connection's credentials are not covered either.
    let d = decide(
        &session,
        "events:RetrieveConnectionCredentials",
        "arn:aws:events:ap-northeast-1:123456789012:connection/other/uuid",
        &ctx,
        &full,
        None,
    );
    assert!(!d.is_allowed());
}

#[test]
fn lattice_auth_policies_are_gates() {
    // "For authorization to succeed, both auth policies and identity-based policies need to
    // have explicit allow statements" (vpc-lattice/latest/ug/auth-policies.html).
    let ctx = RequestContext::new().with("aws:SourceVpc", "vpc-0a1b2c3d");
    let (session, full) = pattern_a_session();
    let network = named(
        "sn-0123/auth-policy",
        PolicyKind::LatticeServiceNetwork,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/PatternARole"},
            "Action": "vpc-lattice-svcs:Invoke", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}}]}),
    );
    let gates = [network];
    let request = Request {
        principal: &session,
        action: "vpc-lattice-svcs:Invoke",
        resource: LATTICE_RC,
        context: &ctx,
    };
    let set = PolicySet {
        identity: &full,
        gates: &gates,
        ..PolicySet::default()
    };
    assert!(evaluate(&request, &set).is_allowed());
    // The gate alone, at its own hop.
    assert!(evaluate_policy(&request, &gates[0]).is_allowed());

    let elsewhere = RequestContext::new().with("aws:SourceVpc", "vpc-ffff");
    let request = Request {
        context: &elsewhere,
        ..request
    };
    let d = evaluate(&request, &set);
    assert_eq!(
        d,
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoGatePolicyAllows {
                policy: "sn-0123/auth-policy".into(),
                policy_kind: PolicyKind::LatticeServiceNetwork
            }
        }
    );
    assert_eq!(
        denial_message(&request, &d, DenialFormat::PolicyType).unwrap(),
        format!(
            "User: arn:aws:sts::123456789012:assumed-role/PatternARole/exec is not authorized \
             to perform: vpc-lattice-svcs:Invoke on resource: {LATTICE_RC} because no \
             network-based policy allows the vpc-lattice-svcs:Invoke action"
        )
    );
    // The gate never grants: without the identity policy the request is denied.
    let no_identity = PolicySet {
        gates: &gates,
        ..PolicySet::default()
    };
    let request = Request {
        context: &ctx,
        ..request
    };
    assert_eq!(
        evaluate(&request, &no_identity),
        Decision::ImplicitDeny {
            reason: ImplicitDenyReason::NoIdentityPolicyAllows
        }
    );
}

#[test]
fn vpc_endpoint_policy_filters_private_api_calls() {
    // Seed 003: private API reachable only through one VPC endpoint; the endpoint policy is
    // the default full-access one unless replaced
    // (vpc/latest/privatelink/vpc-endpoints-access.html, "Default endpoint policy").
    let default_endpoint_policy = named(
        "vpce-0abc/endpoint-policy",
        PolicyKind::VpcEndpoint,
        json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
    );
    let restricted = named(
        "vpce-0abc/endpoint-policy",
        PolicyKind::VpcEndpoint,
        json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:ap-northeast-1:123456789012:other/*"}]}),
    );
    let ctx = RequestContext::new().with("aws:SourceVpce", "vpce-0abc");
    let session = Principal::assumed_role(ACCT, "PatternBRole", "s");
    let ids = [pattern_b_role_policy()];
    let request = Request {
        principal: &session,
        action: "execute-api:Invoke",
        resource: API,
        context: &ctx,
    };
    for (gate, allowed) in [(default_endpoint_policy, true), (restricted, false)] {
        let gates = [gate];
        let d = evaluate(
            &request,
            &PolicySet {
                identity: &ids,
                gates: &gates,
                ..PolicySet::default()
            },
        );
        assert_eq!(d.is_allowed(), allowed, "{d}");
        if !allowed {
            assert!(
                denial_message(&request, &d, DenialFormat::PolicyType)
                    .unwrap()
                    .ends_with(
                        "because no VPC endpoint policy allows the execute-api:Invoke action"
                    )
            );
        }
    }
}
