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

// ---------------------------------------------------------------------------------------------
// 1. Trust policies and iam:PassRole.
// ---------------------------------------------------------------------------------------------

const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

fn role(name: &str, trust_statement: Value) -> Value {
    json!({"Type": "AWS::IAM::Role", "Properties": {"RoleName": name,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust_statement]}}})
}

fn trusts(service: &str) -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Roles for the trust tests, and a user who may create machines and pass `Passable` only to
/// Step Functions (iam:PassedToService, id_roles_use_passrole.html).
fn trust_world() -> Arc<Edge> {
    let world = world_of(json!({
        "States": role("States", trusts("states.amazonaws.com")),
        "Regional": role("Regional", trusts("states.ap-northeast-1.amazonaws.com")),
        "Lambda": role("Lambda", trusts("lambda.amazonaws.com")),
        "Guarded": role("Guarded", json!({"Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ok-*")},
                          "StringEquals": {"aws:SourceAccount": ACCOUNT}}})),
        "Dev": user_with_policy(json!([
            {"Effect": "Allow", "Action": ["states:CreateStateMachine", "states:UpdateStateMachine"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn("States"),
             "Condition": {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}}
        ])),
    }));
    Arc::new(Edge::new(world, AuthMode::Verify))
}

async fn create_as(
    edge: &Arc<Edge>,
    who: Principal,
    name: &str,
    role: &str,
) -> Result<Value, JsonError> {
    call_in(
        edge,
        who,
        REGION,
        "CreateStateMachine",
        json!({"name": name, "definition": PASS, "roleArn": role}),
    )
    .await
}

/// CreateStateMachine with a role Step Functions cannot assume: AccessDeniedException "Neither
/// the global service principal states.amazonaws.com, nor the regional one is authorized to
/// assume the provided role." — the text recorded from AWS by Terraform users and matched by
/// CloudFormation's Step Functions resource provider
/// (aws-cloudformation-resource-providers-stepfunctions, statemachine/.../Constants.java). The
/// role must trust the global or the Regional service principal; a role that does not exist gets
/// the same answer.
#[tokio::test]
async fn create_state_machine_needs_a_role_that_trusts_step_functions() {
    let edge = trust_world();
    let root = Principal::root(ACCOUNT);
    create_as(&edge, root.clone(), "a", &role_arn("States"))
        .await
        .unwrap();
    create_as(&edge, root.clone(), "b", &role_arn("Regional"))
        .await
        .unwrap();
    for role in ["Lambda", "DoesNotExist"] {
        let e = create_as(&edge, root.clone(), "c", &role_arn(role))
            .await
            .unwrap_err();
        assert_eq!(e.code, "AccessDeniedException", "{role}");
        assert_eq!(
            e.message,
            "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
            "{role}"
        );
    }
    // aws:SourceArn / aws:SourceAccount carry the machine being created (confused-deputy guard,
    // step-functions/latest/dg/procedure-create-iam-role.html).
    create_as(&edge, root.clone(), "ok-1", &role_arn("Guarded"))
        .await
        .unwrap();
    let e = create_as(&edge, root.clone(), "other", &role_arn("Guarded"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    // UpdateStateMachine checks a new role the same way.
    let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:a");
    let e = call_in(
        &edge,
        root.clone(),
        REGION,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "roleArn": role_arn("Lambda")}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    call_in(
        &edge,
        root,
        REGION,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "roleArn": role_arn("Regional")}),
    )
    .await
    .unwrap();
}

/// A caller other than the account root needs iam:PassRole on the role it gives a service,
/// with iam:PassedToService the service's principal
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>); the refusal
/// is IAM's "User: … is not authorized to perform: iam:PassRole on resource: <role>".
#[tokio::test]
async fn a_user_needs_pass_role_for_the_execution_role() {
    let edge = trust_world();
    create_as(&edge, user("dev"), "mine", &role_arn("States"))
        .await
        .unwrap();
    let e = create_as(&edge, user("dev"), "theirs", &role_arn("Regional"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(
        e.message.starts_with(&format!(
            "User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: iam:PassRole on resource: {}",
            role_arn("Regional")
        )),
        "{}",
        e.message
    );
}

/// vpcgate holds IAM for the scenario's account only (it has no IAM API to declare roles
/// elsewhere): a machine made in another account names a role vpcgate cannot know, and is
/// accepted unchecked (README, fidelity notes).
#[tokio::test]
async fn roles_of_other_accounts_are_not_checked() {
    let edge = trust_world();
    let other = "111111111111";
    let out = sfn_api::call(
        &edge.call_as(Principal::root(other), Scope::new(other, REGION)),
        "CreateStateMachine",
        json!({"name": "x", "definition": PASS, "roleArn": format!("arn:aws:iam::{other}:role/any")}),
    )
    .await;
    assert!(out.is_ok(), "{out:?}");
}

/// CloudFormation fails the stack of a state machine whose role does not trust Step Functions,
/// with CreateStateMachine's message (the bundled gotcha-role-*.json scenarios show the same).
#[test]
fn a_template_state_machine_needs_a_trusting_role() {
    let doc = json!({
        "Vpcgate": {"Region": REGION, "AccountId": ACCOUNT},
        "Resources": {
            "Lambda": role("Lambda", trusts("lambda.amazonaws.com")),
            "M": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "RoleArn": {"Fn::GetAtt": ["Lambda", "Arn"]},
                "DefinitionString": PASS}}
        }
    });
    let s = Scenario::parse(&doc.to_string(), "inline.json").unwrap();
    let err = s.build(&StackLinks::default()).unwrap_err().to_string();
    assert!(err.contains("Resources.M.Properties.RoleArn"), "{err}");
    assert!(
        err.contains("Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role."),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. ResourceConfigDnsResolution.
// ---------------------------------------------------------------------------------------------

/// Runs a scenario that extends pattern-a.json with `patch` (its Resources) and `cases`.
fn run_pattern_a_variant(
    name: &str,
    resources: Value,
    cases: Value,
) -> Vec<vpcgate::check::CaseOutcome> {
    let dir = std::env::temp_dir().join(format!("vpcgate-fidelity-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = vpcgate_tests::scenarios_dir().join("pattern-a.json");
    let doc = json!({
        "Vpcgate": {"Extends": base.canonicalize().unwrap(), "Cases": cases},
        "Resources": resources,
    });
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, doc.to_string()).unwrap();
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = vpcgate::check::run_scenario(&s, None);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// PUBLIC (the default) resolves with public resolvers, IN_VPC with the VPC's DNS
/// (vpc-lattice/latest/ug/resource-gateway.html, "ResourceConfigDnsResolution"): a name only
/// in the VPC's private hosted zone is NXDOMAIN publicly (the bundled
/// gotcha-dns-resolution-public.json), while a name AWS publishes — an internal ALB's DNS name,
/// which public DNS answers with its private addresses — resolves either way.
#[test]
fn public_resolution_sees_published_names_only() {
    let trace_of = |o: &vpcgate::check::CaseOutcome| format!("{:?}", o.trace);
    let private = run_pattern_a_variant(
        "public-private-zone",
        json!({"ResourceGateway": {"Properties": {"ResourceConfigDnsResolution": "PUBLIC"}}}),
        json!([{"Name": "nx", "StartExecution": {"StateMachine": "StateMachineA"},
                "Expect": {"Status": "FAILED", "Error": "States.Http.Socket", "CauseContains": "NXDOMAIN"}}]),
    );
    assert!(
        private[0].passed,
        "{:?} {}",
        private[0].failures, private[0].summary
    );
    assert!(
        trace_of(&private[0]).contains("198.51.100.53"),
        "the public resolver answered"
    );

    let published = run_pattern_a_variant(
        "public-alb-name",
        json!({
            "ResourceGateway": {"Properties": {"ResourceConfigDnsResolution": null}},
            "ResourceConfiguration": {"Properties": {"ResourceConfigurationDefinition": {
                "DnsResource": {"DomainName": {"Fn::GetAtt": ["ALB", "DNSName"]}, "IpAddressType": "IPV4"}}}}
        }),
        json!([{"Name": "ok", "StartExecution": {"StateMachine": "StateMachineA"},
                "Expect": {"Status": "SUCCEEDED"}}]),
    );
    assert!(
        published[0].passed,
        "{:?} {}",
        published[0].failures, published[0].summary
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Configuration AWS keeps; 6. Secrets Manager's API.
// ---------------------------------------------------------------------------------------------

/// Secrets Manager through `serve`, with boto3: the connection's secret is listed, described
/// with `OwningService: events` (secrets managed by another service,
/// secretsmanager/latest/userguide/service-linked-secrets.html) and readable, and
/// PutSecretValue on it is refused with InvalidRequestException, whose documented cause is
/// "The secret is managed by another service, and you must use that service to update it."
/// (API_PutSecretValue.html, Errors). An unknown id is ResourceNotFoundException "Secrets Manager
/// can't find the specified secret." (API_GetSecretValue.html).
#[test]
fn boto3_reads_connection_secrets_and_cannot_overwrite_them() {
    let (addr, _conn, _role) = crate::serve::start(AuthMode::Verify);
    let script = r#"
import json, sys, boto3
ep = sys.argv[1]
sm = boto3.client("secretsmanager", endpoint_url=ep, region_name="ap-northeast-1",
    aws_access_key_id="test", aws_secret_access_key="test")
out = {}
secrets = sm.list_secrets()["SecretList"]
out["names"] = [s["Name"] for s in secrets]
arn = secrets[0]["ARN"]
out["owning"] = sm.describe_secret(SecretId=arn).get("OwningService")
v = sm.get_secret_value(SecretId=arn)
out["value"] = json.loads(v["SecretString"])
out["stages"] = v["VersionStages"]
try:
    sm.put_secret_value(SecretId=arn, SecretString="{}")
    out["put"] = "ok"
except sm.exceptions.ClientError as e:
    out["put"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
try:
    sm.get_secret_value(SecretId="nope")
except sm.exceptions.ClientError as e:
    out["missing"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
east = boto3.client("secretsmanager", endpoint_url=ep, region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test")
out["east"] = len(east.list_secrets()["SecretList"])
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["names"][0]
            .as_str()
            .unwrap()
            .starts_with("events!connection/eb-demo-private-connection/"),
        "{v}"
    );
    assert_eq!(v["owning"], "events");
    assert_eq!(v["stages"], json!(["AWSCURRENT"]));
    assert!(v["value"].is_object(), "{v}");
    assert_eq!(
        v["put"],
        json!([
            "InvalidRequestException",
            "The secret is managed by another service, and you must use that service to update it."
        ])
    );
    assert_eq!(
        v["missing"],
        json!([
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret."
        ])
    );
    assert_eq!(v["east"], 0, "secrets live in their own Region");
}

/// UpdateStateMachine keeps the logging and tracing configurations it is given, and
/// DescribeStateMachine returns them (API_UpdateStateMachine.html, API_DescribeStateMachine.html).
#[tokio::test]
async fn update_state_machine_keeps_logging_and_tracing() {
    let edge = trust_world();
    let root = Principal::root(ACCOUNT);
    let arn = create_as(&edge, root.clone(), "logged", &role_arn("States"))
        .await
        .unwrap()["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let logging = json!({"level": "ALL", "includeExecutionData": true,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:ap-northeast-1:123456789012:log-group:l:*"}}]});
    call_in(&edge, root.clone(), REGION, "UpdateStateMachine", json!({
        "stateMachineArn": arn, "loggingConfiguration": logging, "tracingConfiguration": {"enabled": true}}))
        .await
        .unwrap();
    let d = call_in(
        &edge,
        root,
        REGION,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await
    .unwrap();
    assert_eq!(d["loggingConfiguration"], logging);
    assert_eq!(d["tracingConfiguration"], json!({"enabled": true}));
}

/// An invocation sends the credentials the connection's secret holds now (EventBridge stores a
/// connection's authorization parameters in its secret, eb-target-connection.html), not the
/// ones the connection was made with.
#[test]
fn credentials_come_from_the_secret() {
    use vpcgate::events::Authorization;
    let (model, _) = vpcgate_tests::scenario("pattern-a.json")
        .build(&StackLinks::default())
        .unwrap();
    let conn = model.connections[0].clone();
    let mut secret = conn.secret_value();
    let changed = match &conn.authorization {
        Authorization::ApiKey { .. } => {
            secret["api_key_value"] = json!("rotated");
            conn.with_secret(&secret)
        }
        Authorization::Basic { .. } => {
            secret["password"] = json!("rotated");
            conn.with_secret(&secret)
        }
        Authorization::OAuthClientCredentials { .. } => {
            secret["client_secret"] = json!("rotated");
            conn.with_secret(&secret)
        }
    };
    let text = format!("{:?}", changed.authorization);
    assert!(text.contains("rotated"), "{text}");
}

/// UpdateConnection moves `LastModifiedTime` ("A time stamp for the time that the connection was
/// last modified", API_DescribeConnection.html) and leaves `CreationTime`.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn update_connection_moves_last_modified_time() {
    let edge = trust_world();
    let cx = edge.call_as(Principal::root(ACCOUNT), Scope::new(ACCOUNT, REGION));
    let events = |op: &'static str, input: Value| {
        let cx = &cx;
        async move {
            vpcgate::edge::events_api::call(cx, op, input)
                .await
                .unwrap()
        }
    };
    events(
        "CreateConnection",
        json!({"Name": "c", "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}}),
    )
    .await;
    let before = events("DescribeConnection", json!({"Name": "c"})).await;
    assert_eq!(before["LastModifiedTime"], before["CreationTime"]);
    tokio::time::advance(std::time::Duration::from_secs(60)).await;
    let cx2 = edge.call_as(Principal::root(ACCOUNT), Scope::new(ACCOUNT, REGION));
    vpcgate::edge::events_api::call(
        &cx2,
        "UpdateConnection",
        json!({"Name": "c", "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "w"}}}),
    )
    .await
    .unwrap();
    let after = vpcgate::edge::events_api::call(&cx2, "DescribeConnection", json!({"Name": "c"}))
        .await
        .unwrap();
    assert_eq!(after["CreationTime"], before["CreationTime"]);
    let moved =
        after["LastModifiedTime"].as_f64().unwrap() - before["CreationTime"].as_f64().unwrap();
    assert_eq!(moved, 60.0);
}

/// aws:PrincipalTag/<key>: "the tag attached to the principal making the request"
/// (reference_policies_condition-keys.html, aws:PrincipalTag/tag-key): a user tagged
/// team=platform is allowed by a policy conditioned on it; the same policy on a user tagged
/// team=data allows nothing.
#[tokio::test]
async fn principal_tags_come_from_the_users_tags() {
    let tagged = |name: &str, team: &str| {
        json!({
            "Type": "AWS::IAM::User",
            "Properties": {
                "UserName": name,
                "Tags": [{"Key": "team", "Value": team}],
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "states:ListStateMachines", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "platform"}}}]}}]
            }
        })
    };
    let world = world_of(json!({
        "Platform": tagged("platform-dev", "platform"),
        "Data": tagged("data-dev", "data"),
    }));
    let edge = Arc::new(Edge::new(world, AuthMode::Verify));
    call_in(
        &edge,
        user("platform-dev"),
        REGION,
        "ListStateMachines",
        json!({}),
    )
    .await
    .expect("team=platform is allowed");
    let e = call_in(
        &edge,
        user("data-dev"),
        REGION,
        "ListStateMachines",
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException", "{}", e.message);
}
