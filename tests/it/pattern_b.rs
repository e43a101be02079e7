//! Pattern B of seed 000, hop by hop: Step Functions `apigateway:invoke` (IAM_ROLE) -> API
//! Gateway REST API (SigV4, resource policy) -> VPC link V2 -> internal ALB.
//!
//! The `scenarios/pattern-b*.json` cases run through `vpcgate check` (executions through the ASL
//! executor, `Request` cases through `check::request`); the tests here add the exact values a case
//! cannot state (generated ids, the session name, the explicit-deny text) and the in-VPC backend
//! fixture, whose backend the test starts itself. Timeouts run on tokio's paused clock and open
//! no socket.

use std::time::Duration;

use serde_json::{Value, json};
use vpcgate::check::CaseOutcome;
use vpcgate::iam::Principal;
use vpcgate::model::Model;
use vpcgate::sfn::execution::{Executions, execution_principal};
use vpcgate::sfn::{StatesError, TaskContext, apigw};
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::{run_all, scenario, world};

fn outcome<'a>(all: &'a [CaseOutcome], name: &str) -> &'a CaseOutcome {
    all.iter().find(|o| o.case == name).expect("case")
}

/// A UUID: 8-4-4-4-12 lower-case hex.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn pattern_b_cases() {
    let all = run_all("pattern-b.json");
    // The seed's output, field by field: everything but the two request ids is exact.
    let seed = &outcome(&all, "seed-output").result;
    let headers = seed["Headers"].as_object().unwrap();
    let names: Vec<&str> = headers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Connection",
            "Content-Length",
            "Content-Type",
            "Date",
            "x-amz-apigw-id",
            "x-amzn-Remapped-Connection",
            "x-amzn-Remapped-Content-Length",
            "x-amzn-Remapped-Date",
            "x-amzn-Remapped-Server",
            "x-amzn-RequestId",
        ]
    );
    let apigw_id = headers["x-amz-apigw-id"][0].as_str().unwrap();
    assert_eq!(apigw_id.len(), "e5Nw0iQQtjMEJUA=".len());
    assert!(apigw_id.ends_with('='), "{apigw_id}");
    assert!(is_uuid(headers["x-amzn-RequestId"][0].as_str().unwrap()));
    assert!(headers.get("apigw-requestid").is_none());
    assert_eq!(outcome(&all, "seed-output").elapsed, Duration::ZERO);
}

/// The explicit-deny message names the role session and the full resource ARN.
#[test]
fn other_role_gets_the_explicit_deny_message() {
    let all = run_all("pattern-b.json");
    let o = outcome(&all, "other-role-explicit-deny");
    let s = scenario("pattern-b.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    let api = &model.apigw.rest_apis[0].id;
    let cause = o.result["cause"].as_str().unwrap();
    let prefix = "{\"Message\":\"User: arn:aws:sts::123456789012:assumed-role/eb-demo-other-role/";
    let suffix = format!(
        " is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:ap-northeast-1:123456789012:{api}/prod/GET/ with an explicit deny\"}}"
    );
    assert!(
        cause.starts_with(prefix) && cause.ends_with(&suffix),
        "{cause}"
    );
}

#[test]
fn identity_policy_cases() {
    run_all("pattern-b-identity.json");
}

/// The VPC link's group has no egress to port 80: the SYN goes unanswered and API Gateway
/// answers 504 "Endpoint request timed out" when the 29 s integration timeout passes — in
/// virtual time, without a real socket. TimeoutInMillis 3000 gives 3 s; a Retry 29 + 1 + 29.
#[test]
fn vpc_link_security_group_blocking_port_80_times_out_after_29_s() {
    let all = run_all("pattern-b-sg-blocks-80.json");
    let o = outcome(&all, "task-times-out");
    assert_eq!(o.elapsed, Duration::from_secs(29));
    assert_eq!(
        o.result,
        json!({"error": "ApiGateway.504", "cause": "{\"message\": \"Endpoint request timed out\"}"})
    );
    assert_eq!(
        outcome(&all, "timeout-in-millis-lower").elapsed,
        Duration::from_millis(3_000)
    );
    assert_eq!(
        outcome(&all, "retry-on-504").elapsed,
        Duration::from_secs(59)
    );
}

/// The ALB answers after 35 s: API Gateway gives up at 29 s.
#[test]
fn slow_listener_gives_504_at_29_s() {
    let all = run_all("pattern-b-slow-backend.json");
    assert_eq!(
        outcome(&all, "task-times-out-at-29-s").elapsed,
        Duration::from_secs(29)
    );
    assert_eq!(
        outcome(&all, "timeout-in-millis-1500").elapsed,
        Duration::from_millis(1_500)
    );
}

/// The principal Pattern B's state machine runs as in these tests.
fn principal(model: &Model) -> Principal {
    let sm = model.state_machine("StateMachineB").unwrap();
    execution_principal(&sm.role_arn, "vpcgate-test")
}

fn task_context<'a>(
    world: &'a World,
    model: &'a Model,
    principal: &'a Principal,
    trace: &'a Trace,
) -> TaskContext<'a> {
    let sm = model.state_machine("StateMachineB").unwrap();
    TaskContext {
        world,
        principal,
        session: None,
        state_machine_arn: &sm.arn,
        state_name: "CallRestApi",
        entered_event_id: 2,
        trace,
        capture: None,
    }
}

fn endpoint(model: &Model) -> String {
    format!(
        "{}.execute-api.ap-northeast-1.amazonaws.com",
        model.apigw.rest_apis[0].id
    )
}

/// connect-api-gateway.html: `{"error":"ApiGateway.403","cause":"{\"message\":\"Missing
/// Authentication Token\"}"}` — an unsigned task against the AWS_IAM method.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_auth_task_fails_with_api_gateway_403_and_the_body_as_cause() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let trace = Trace::new();
    let err = apigw::invoke(
        &task_context(&world, &model, &principal(&model), &trace),
        &json!({"ApiEndpoint": endpoint(&model), "Method": "GET", "Stage": "prod"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        StatesError::new(
            "ApiGateway.403",
            r#"{"message":"Missing Authentication Token"}"#
        )
    );
}

/// `AuthType: RESOURCE_POLICY` signs too, so the resource policy sees PatternBRole and lets it in.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn resource_policy_auth_type_signs_with_the_execution_role() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let trace = Trace::new();
    let out = apigw::invoke(
        &task_context(&world, &model, &principal(&model), &trace),
        &json!({"ApiEndpoint": endpoint(&model), "Method": "GET", "Stage": "prod", "AuthType": "RESOURCE_POLICY"}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", trace.render()));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(
        out["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
}

/// A forbidden header set at run time is `States.Runtime` with the recorded text.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn forbidden_headers_fail_the_task_with_states_runtime() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let trace = Trace::new();
    let params = json!({"ApiEndpoint": endpoint(&model), "Method": "GET", "Stage": "prod", "Headers": {"Authorization": ["Bearer x"]}});
    let err = apigw::invoke(
        &task_context(&world, &model, &principal(&model), &trace),
        &params,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert_eq!(
        err.cause.unwrap(),
        format!(
            "An error occurred while executing the state 'CallRestApi' (entered at the event id #2). The Parameters '{params}' could not be used to start the Task: [The 'Headers' field contains unsupported values: [authorization]]"
        )
    );
}

/// The fixture `tests/fixtures/apigw/in-vpc-backend.json`: the ALB forwards to an IP target inside
/// the VPC that accepts the connection and never answers. API Gateway gives up at 29 s (before
/// the ALB's 60 s idle timeout) — through the real executor, in milliseconds of wall time.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn in_vpc_backend_slower_than_29_s_gives_504_in_virtual_time() {
    let path = vpcgate_tests::scenarios_dir().join("../tests/fixtures/apigw/in-vpc-backend.json");
    let s = vpcgate::scenario::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let (model, world) = world(&s);
    let _backend = stalled_backend(&world, &model);
    let sm = model.state_machine("StateMachineB").unwrap();
    let begin = tokio::time::Instant::now();
    let record = Executions::new()
        .run_sync(&world, sm, json!({}), None)
        .await
        .unwrap();
    let outcome = record.outcome.as_ref().unwrap();
    assert_eq!(begin.elapsed(), Duration::from_secs(29));
    assert_eq!(outcome.error.as_deref(), Some("ApiGateway.504"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some(r#"{"message": "Endpoint request timed out"}"#)
    );
    let trace = record.trace.render();
    assert!(
        trace.contains("allows tcp/8080 from 192.168.0.4"),
        "the ALB node reaches the target through the virtual network:\n{trace}"
    );

    // The /quick method: TimeoutInMillis 1500.
    let case: Value = s.settings.cases[1].request.clone().unwrap();
    let req = vpcgate::check::request::from_value(&case).unwrap();
    let begin = tokio::time::Instant::now();
    let out = vpcgate::check::request::run(&world, &req, &Default::default(), &Trace::new())
        .await
        .unwrap();
    assert_eq!(begin.elapsed(), Duration::from_millis(1_500));
    assert_eq!(out.output["StatusCode"], 504);
}

/// The fixture's stalled backend: an ENI in `BackendSubnet` (its first address, .4) with
/// `BackendSecurityGroup`, listening on 8080, accepting connections and never answering.
fn stalled_backend(world: &World, model: &Model) -> tokio::task::JoinHandle<()> {
    let subnet = model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.cidr.to_string() == "192.168.48.0/24")
        .expect("BackendSubnet")
        .id
        .clone();
    let group = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "BackendSecurityGroup")
        .expect("BackendSecurityGroup")
        .id
        .clone();
    let eni = world
        .net
        .create_eni(&subnet, vec![group], "instance i-backend (never answers)")
        .unwrap();
    assert_eq!(eni.ip.to_string(), "192.168.48.4");
    let mut listener = world.net.listen(&eni, 8080);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(conn) = listener.accept().await {
            held.push(conn);
        }
    })
}

fn vpc_link_group(world: &World) -> vpcgate::vpc::SecurityGroup {
    let eni = world
        .net
        .enis()
        .into_iter()
        .find(|e| e.description.contains("VPC link"))
        .expect("the VPC link's ENI");
    world.net.group(&eni.groups[0]).expect("its group")
}

/// API Gateway keeps its connection to the load balancer open (vpc::pool): the second execution
/// goes over the first one's connection, without the security-group checks of an opening, and
/// the ALB's hops land in the second execution's own trace. A security group changed in the
/// running world closes the kept-alive connection: the next execution opens one under the new
/// rule, which drops it, and API Gateway times out at 29 s.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn executions_reuse_the_vpc_link_connection_until_a_security_group_changes() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let sm = model.state_machine("StateMachineB").unwrap();
    let executions = Executions::new();
    let mut traces = Vec::new();
    for _ in 0..2 {
        let record = executions
            .run_sync(&world, sm, json!({}), None)
            .await
            .unwrap();
        let trace = record.trace.render();
        assert!(record.outcome.as_ref().unwrap().error.is_none(), "{trace}");
        traces.push(trace);
    }
    assert_eq!(
        (world.net.pool().opened(), world.net.pool().reused()),
        (1, 1)
    );
    assert!(
        traces[0].contains("allows tcp/80 from 192.168.0.5"),
        "{}",
        traces[0]
    );
    assert!(!traces[1].contains("allows tcp/80 from"), "{}", traces[1]);
    assert!(
        traces[1].contains("the kept-alive connection from ENI"),
        "{}",
        traces[1]
    );
    for t in &traces {
        assert!(
            t.contains("fixed-response 200"),
            "the ALB's hop in each trace:\n{t}"
        );
    }

    let mut group = vpc_link_group(&world);
    group.egress.clear();
    world.net.put_group(group);
    let begin = tokio::time::Instant::now();
    let record = executions
        .run_sync(&world, sm, json!({}), None)
        .await
        .unwrap();
    assert_eq!(begin.elapsed(), Duration::from_secs(29));
    assert_eq!(
        record.outcome.as_ref().unwrap().error.as_deref(),
        Some("ApiGateway.504")
    );
    assert_eq!(
        world.net.pool().opened(),
        1,
        "no connection opened under the new rule"
    );
}

/// Each execution assumes its role in a session of its own (AWS issues one per execution) and
/// ends it when it finishes: the key that signed its call no longer resolves, and the credential
/// store holds no session once the executions are done, however many ran.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn each_execution_ends_its_role_session() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let sm = model.state_machine("StateMachineB").unwrap();
    let executions = Executions::new();
    let before = world.iam.credentials().live_sessions();
    let mut keys = Vec::new();
    for _ in 0..3 {
        let record = executions
            .run_sync(&world, sm, json!({}), None)
            .await
            .unwrap();
        let trace = record.trace.render();
        assert!(record.outcome.as_ref().unwrap().error.is_none(), "{trace}");
        let at = trace
            .find(") with ASIA")
            .expect("the signing hop names its key")
            + ") with ".len();
        let key = trace[at..at + 20].to_owned();
        assert!(
            world.iam.credentials().lookup(&key).is_none(),
            "{key} still resolves after its execution ended"
        );
        keys.push(key);
    }
    keys.dedup();
    assert_eq!(keys.len(), 3, "one session per execution: {keys:?}");
    assert_eq!(world.iam.credentials().live_sessions(), before);
}

/// The kept-alive connection closes after the ALB's 60 s idle timeout (on the virtual clock):
/// an execution after a longer pause opens a new one, with its security-group checks.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_idle_vpc_link_connection_closes_after_60_s() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let sm = model.state_machine("StateMachineB").unwrap();
    let executions = Executions::new();
    executions
        .run_sync(&world, sm, json!({}), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    let record = executions
        .run_sync(&world, sm, json!({}), None)
        .await
        .unwrap();
    let trace = record.trace.render();
    assert!(trace.contains("allows tcp/80 from 192.168.0.5"), "{trace}");
    assert_eq!(
        (world.net.pool().opened(), world.net.pool().reused()),
        (2, 0)
    );
}
