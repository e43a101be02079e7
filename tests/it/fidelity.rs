//! Issue 17, fidelity on the path: request-context keys, trust policies and PassRole, the
//! resource gateway's DNS resolution and ingress, configuration AWS would not drop, and Secrets
//! Manager's API. Each test cites the AWS page or recorded response it checks.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use serde_json::{Value, json};
use vpcgate::edge::wire::JsonError;
use vpcgate::edge::{AuthMode, Edge, Scope, request_context, sfn_api};
use vpcgate::iam::Principal;
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::world::World;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "ap-northeast-1";

/// A world of `resources` (an inline template) in ap-northeast-1, on a pinned clock.
fn world_of(resources: Value) -> World {
    let doc = json!({
        "Vpcgate": {"Region": REGION, "AccountId": ACCOUNT, "Clock": "2026-06-14T03:00:00Z"},
        "Resources": resources,
    });
    let s = Scenario::parse(&doc.to_string(), "inline.json").unwrap_or_else(|e| panic!("{e}"));
    let (model, _) = s
        .build(&StackLinks::default())
        .unwrap_or_else(|e| panic!("{e}"));
    World::build(
        model,
        vpcgate::clock::Clock::pinned(s.clock_start().unwrap().unwrap()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn user(name: &str) -> Principal {
    Principal::User {
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
    }
}

fn user_with_policy(statements: Value) -> Value {
    json!({
        "Type": "AWS::IAM::User",
        "Properties": {
            "UserName": "dev",
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
        }
    })
}

async fn call_in(
    edge: &Arc<Edge>,
    who: Principal,
    region: &str,
    op: &str,
    input: Value,
) -> Result<Value, JsonError> {
    sfn_api::call(&edge.call_as(who, Scope::new(ACCOUNT, region)), op, input).await
}

// ---------------------------------------------------------------------------------------------
// 2. Condition keys of the request context.
// ---------------------------------------------------------------------------------------------

/// AWS's "Denies access to AWS based on the requested Region" example
/// (reference_policies_examples_aws_deny-requested-region.html): `Deny` with
/// `StringNotEquals aws:RequestedRegion` leaves the listed Regions usable. aws:RequestedRegion
/// is "always included in the request context" (reference_policies_condition-keys.html), so the
/// deny does not catch requests to the allowed Region.
#[tokio::test]
async fn requested_region_is_in_every_request_context() {
    let world = world_of(json!({"Dev": user_with_policy(json!([
        {"Effect": "Allow", "Action": "states:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["ap-northeast-1"]}}}
    ]))}));
    let edge = Arc::new(Edge::new(world, AuthMode::Verify));
    call_in(&edge, user("dev"), REGION, "ListStateMachines", json!({}))
        .await
        .expect("ap-northeast-1 is allowed");
    let e = call_in(
        &edge,
        user("dev"),
        "us-east-1",
        "ListStateMachines",
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(
        e.message
            .contains("with an explicit deny in an identity-based policy"),
        "{}",
        e.message
    );
}

/// Through an interface endpoint, aws:SourceVpce, aws:SourceVpc and aws:VpcSourceIp are in the
/// request context of every policy — identity policies too, not only the endpoint policy
/// (reference_policies_condition-keys.html, "aws:SourceVpce": "This key is included in the
/// request context if the requester uses a VPC endpoint to make the request"); aws:SourceIp is
/// then absent.
#[tokio::test]
async fn endpoint_keys_reach_identity_policies() {
    let world = world_of(json!({"Dev": user_with_policy(json!([
        {"Effect": "Allow", "Action": "states:ListStateMachines", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0",
                                        "aws:SourceVpc": "vpc-1"},
                       "IpAddress": {"aws:VpcSourceIp": "10.0.0.0/16"}}}
    ]))}));
    let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
    let scope = Scope::new(ACCOUNT, REGION);
    let direct = sfn_api::call(
        &edge.call_as(user("dev"), scope.clone()),
        "ListStateMachines",
        json!({}),
    )
    .await;
    assert_eq!(direct.unwrap_err().code, "AccessDeniedException");

    let mut ext = http::Extensions::new();
    ext.insert(vpcgate::ec2::Arrival::Endpoint {
        vpce_id: "vpce-0123456789abcdef0".into(),
        vpc_id: "vpc-1".into(),
        source_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 5)),
        policy: None,
    });
    let mut call = edge.call_as(user("dev"), scope.clone());
    call.context = request_context(&world, &scope, Some(&ext));
    assert_eq!(call.context.get("aws:SourceIp"), None);
    sfn_api::call(&call, "ListStateMachines", json!({}))
        .await
        .expect("the endpoint's keys satisfy the identity policy");
}

/// A request from the host's socket carries aws:SourceIp (its peer address) and, like every
/// signed request, aws:ViaAWSService = false ("This key is always included in the request
/// context", reference_policies_condition-keys.html); no aws:PrincipalOrgID (the emulated
/// accounts are in no organization) and no aws:CalledVia (no forward access sessions).
#[test]
fn derived_keys_follow_the_global_keys_page() {
    let world = world_of(json!({"Dev": user_with_policy(json!([
        {"Effect": "Allow", "Action": "states:ListStateMachines", "Resource": "*"}
    ]))}));
    let scope = Scope::new(ACCOUNT, REGION);
    let mut ext = http::Extensions::new();
    ext.insert(vpcgate::edge::PeerAddr("192.0.2.7:50000".parse().unwrap()));
    let ctx = request_context(&world, &scope, Some(&ext));
    assert_eq!(ctx.get_single("aws:SourceIp"), Some("192.0.2.7"));
    let full = vpcgate::iam::derived_context(&user("dev"), &ctx);
    assert_eq!(full.get_single("aws:ViaAWSService"), Some("false"));
    assert_eq!(full.get_single("aws:PrincipalAccount"), Some(ACCOUNT));
    assert_eq!(full.get_single("aws:username"), Some("dev"));
    assert_eq!(full.get_single("aws:RequestedRegion"), Some(REGION));
    assert_eq!(full.get_single("aws:SecureTransport"), Some("true"));
    assert!(full.get_single("aws:CurrentTime").is_some());
    assert_eq!(full.get("aws:PrincipalOrgID"), None);
    assert_eq!(full.get("aws:CalledVia"), None);
    assert_eq!(full.get("aws:SourceArn"), None);
}
