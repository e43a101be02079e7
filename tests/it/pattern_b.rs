//! Pattern B of seed 000, hop by hop: Step Functions `apigateway:invoke` (IAM_ROLE) -> API
//! Gateway REST API (SigV4, resource policy) -> VPC link V2 -> internal ALB.
//!
//! Every scenario case under `scenarios/pattern-b*.json` runs here through a small driver that
//! stands in for `vpcgate check` until the scenario runner and the state-machine executor exist:
//! `StartExecution` cases run the definition's single Task (with its `Retry`) through
//! `sfn::apigw::invoke`; `Request` cases go through `apigw::case::run`. Timeouts run on tokio's
//! paused clock and open no socket.

use std::time::Duration;

use serde_json::{Value, json};
use vpcgate::apigw::case::{RequestCase, run as run_request};
use vpcgate::iam::Principal;
use vpcgate::model::Model;
use vpcgate::scenario::{Case, Expect, Scenario};
use vpcgate::sfn::{StatesError, TaskContext, apigw};
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::{scenario, world};

/// What a case produced.
#[derive(Debug)]
struct Outcome {
    status: &'static str,
    output: Option<Value>,
    error: Option<StatesError>,
    elapsed: Duration,
    trace: Trace,
}

/// The session name the driver gives execution roles.
const SESSION: &str = "vpcgate-execution";

fn session_of(model: &Model, role_arn: &str) -> Principal {
    let role = model
        .role(role_arn)
        .expect("state machine role in the scenario");
    Principal::AssumedRole {
        account: model.account.clone(),
        role_name: role.name.clone(),
        role_path: role.path.clone(),
        session_name: SESSION.into(),
    }
}

/// Runs the single Task state of a state machine, retrying as its `Retry` says (`ErrorEquals`
/// by name or `States.ALL`, `IntervalSeconds`, `MaxAttempts`, `BackoffRate`).
async fn start_execution(world: &World, model: &Model, name: &str) -> Outcome {
    let sm = model.state_machine(name).expect("state machine");
    let definition: Value = serde_json::from_str(&sm.definition).expect("definition JSON");
    let start = definition["StartAt"].as_str().unwrap();
    let state = &definition["States"][start];
    assert_eq!(
        state["Resource"], "arn:aws:states:::apigateway:invoke",
        "the driver runs apigateway:invoke tasks only"
    );
    let trace = Trace::new();
    let began = tokio::time::Instant::now();
    let ctx = TaskContext {
        world,
        principal: session_of(model, &sm.role_arn),
        state_machine_arn: &sm.arn,
        state_name: start,
        entered_event_id: 2,
        trace: &trace,
    };
    let retriers = state["Retry"].as_array().cloned().unwrap_or_default();
    let mut attempts = vec![0u64; retriers.len()];
    let result = loop {
        match apigw::invoke(&ctx, &state["Parameters"]).await {
            Ok(out) => break Ok(out),
            Err(e) => {
                let Some(i) = retriers.iter().position(|r| {
                    r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|n| n == "States.ALL" || *n == e.error)
                }) else {
                    break Err(e);
                };
                let r = &retriers[i];
                let max = r["MaxAttempts"].as_u64().unwrap_or(3);
                if attempts[i] >= max {
                    break Err(e);
                }
                let interval = r["IntervalSeconds"].as_f64().unwrap_or(1.0);
                let rate = r["BackoffRate"].as_f64().unwrap_or(2.0);
                let wait = interval * rate.powi(attempts[i] as i32);
                attempts[i] += 1;
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            }
        }
    };
    let elapsed = began.elapsed();
    match result {
        Ok(out) => Outcome {
            status: "SUCCEEDED",
            output: Some(out),
            error: None,
            elapsed,
            trace,
        },
        Err(e) => Outcome {
            status: "FAILED",
            output: None,
            error: Some(e),
            elapsed,
            trace,
        },
    }
}

async fn request(world: &World, spec: &Value) -> Outcome {
    let case = RequestCase::from_value(spec).unwrap_or_else(|e| panic!("{e}"));
    let trace = Trace::new();
    let began = tokio::time::Instant::now();
    let out = run_request(world, &case, &trace)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Outcome {
        status: "SUCCEEDED",
        output: Some(out),
        error: None,
        elapsed: began.elapsed(),
        trace,
    }
}

/// `expected` is contained in `actual`: objects key by key, everything else equal.
fn includes(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| includes(av, v))),
        _ => actual == expected,
    }
}

fn check(case: &Case, o: &Outcome) {
    let e: &Expect = &case.expect;
    let name = &case.name;
    let rendered = o.trace.render();
    if let Some(status) = &e.status {
        assert_eq!(status, o.status, "{name}: status; {o:?}\n{rendered}");
    }
    if let Some(out) = &e.output {
        assert_eq!(Some(out), o.output.as_ref(), "{name}: output\n{rendered}");
    }
    if let Some(inc) = &e.output_includes {
        let actual = o.output.clone().unwrap_or(Value::Null);
        assert!(
            includes(&actual, inc),
            "{name}: output {actual:#} does not include {inc:#}\n{rendered}"
        );
    }
    if let Some(error) = &e.error {
        assert_eq!(
            Some(error),
            o.error.as_ref().map(|x| &x.error),
            "{name}: error; {o:?}\n{rendered}"
        );
    }
    if let Some(cause) = &e.cause {
        assert_eq!(
            Some(cause),
            o.error.as_ref().and_then(|x| x.cause.as_ref()),
            "{name}: cause"
        );
    }
    if let Some(part) = &e.cause_contains {
        let cause = o
            .error
            .as_ref()
            .and_then(|x| x.cause.clone())
            .unwrap_or_default();
        assert!(
            cause.contains(part),
            "{name}: cause {cause:?} lacks {part:?}"
        );
    }
    if let Some(secs) = e.elapsed_seconds {
        assert_eq!(
            o.elapsed,
            Duration::from_secs_f64(secs),
            "{name}: virtual time\n{rendered}"
        );
    }
    for text in &e.trace_contains {
        assert!(
            o.trace
                .hops()
                .iter()
                .any(|h| h.message.contains(text.as_str())),
            "{name}: no hop mentions {text:?}\n{rendered}"
        );
    }
}

async fn run_case(world: &World, model: &Model, case: &Case) -> Outcome {
    if let Some(start) = &case.start_execution {
        start_execution(world, model, &start.state_machine).await
    } else if let Some(spec) = &case.request {
        request(world, spec).await
    } else {
        panic!("case {} has neither StartExecution nor Request", case.name)
    }
}

/// Runs every case of a scenario, each in a fresh world (as `vpcgate check` will).
async fn run_all(file: &str) -> Vec<(String, Outcome)> {
    let s: Scenario = scenario(file);
    assert!(!s.settings.cases.is_empty(), "{file} has no cases");
    let mut outcomes = Vec::new();
    for case in &s.settings.cases {
        let (model, world) = world(&s);
        let o = run_case(&world, &model, case).await;
        check(case, &o);
        outcomes.push((case.name.clone(), o));
    }
    outcomes
}

fn outcome<'a>(all: &'a [(String, Outcome)], name: &str) -> &'a Outcome {
    &all.iter().find(|(n, _)| n == name).expect("case").1
}

/// A UUID: 8-4-4-4-12 lower-case hex.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pattern_b_cases() {
    let all = run_all("pattern-b.json").await;
    // The seed's output, field by field: everything but the two request ids is exact.
    let seed = outcome(&all, "seed-output").output.clone().unwrap();
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
}

/// connect-api-gateway.html: "{"error":"ApiGateway.403","cause":"{\"message\":\"Missing
/// Authentication Token\"}"}" — an unsigned task against the AWS_IAM method.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_auth_task_fails_with_api_gateway_403_and_the_body_as_cause() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let sm = model.state_machine("StateMachineB").unwrap();
    let api = &model.apigw.rest_apis[0];
    let trace = Trace::new();
    let ctx = TaskContext {
        world: &world,
        principal: session_of(&model, &sm.role_arn),
        state_machine_arn: &sm.arn,
        state_name: "CallRestApi",
        entered_event_id: 2,
        trace: &trace,
    };
    let err = apigw::invoke(
        &ctx,
        &json!({"ApiEndpoint": format!("{}.execute-api.ap-northeast-1.amazonaws.com", api.id), "Method": "GET", "Stage": "prod"}),
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

/// The explicit-deny message names the role session and the full resource ARN.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn other_role_gets_the_explicit_deny_message() {
    let all = run_all("pattern-b.json").await;
    let o = outcome(&all, "other-role-explicit-deny");
    let s = scenario("pattern-b.json");
    let (model, _) = world(&s);
    let api = &model.apigw.rest_apis[0].id;
    assert_eq!(
        o.error.as_ref().unwrap().cause.as_deref().unwrap(),
        format!(
            r#"{{"Message":"User: arn:aws:sts::123456789012:assumed-role/eb-demo-other-role/{SESSION} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:ap-northeast-1:123456789012:{api}/prod/GET/ with an explicit deny"}}"#
        )
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn identity_policy_cases() {
    run_all("pattern-b-identity.json").await;
}

/// The VPC link's group has no egress to port 80: the SYN goes unanswered and API Gateway
/// answers 504 "Endpoint request timed out" when the 29 s integration timeout passes — in
/// virtual time, without a real socket.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn vpc_link_security_group_blocking_port_80_times_out_after_29_s() {
    let all = run_all("pattern-b-sg-blocks-80.json").await;
    let o = outcome(&all, "task-times-out");
    assert_eq!(o.elapsed, Duration::from_secs(29));
    assert_eq!(
        o.error.clone().unwrap(),
        StatesError::new(
            "ApiGateway.504",
            r#"{"message": "Endpoint request timed out"}"#
        )
    );
    let lower = outcome(&all, "timeout-in-millis-lower");
    assert_eq!(lower.elapsed, Duration::from_millis(3_000));
    let retried = outcome(&all, "retry-on-504");
    assert_eq!(retried.elapsed, Duration::from_secs(59));
}
/// The ALB forwards to an in-VPC target that accepts and never answers: API Gateway gives up at
/// 29 s (before the ALB's 60 s idle timeout), and the whole test takes milliseconds of wall time.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn backend_slower_than_29_s_gives_504_in_virtual_time() {
    let s = scenario("pattern-b-slow-backend.json");
    for case in &s.settings.cases {
        let (model, world) = world(&s);
        let _backend = stalled_backend(&world, &model).await;
        let o = run_case(&world, &model, case).await;
        check(case, &o);
    }
}

/// The scenario's stalled backend: an ENI in `BackendSubnet` (its first address, .4) with
/// `BackendSecurityGroup`, listening on 8080, accepting connections and never answering.
/// (The runner will start it from the proposed `Vpcgate.Backends` entry; see the note.)
async fn stalled_backend(world: &World, model: &Model) -> tokio::task::JoinHandle<()> {
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

/// `AuthType: RESOURCE_POLICY` signs too, so the resource policy sees PatternBRole and lets it in.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn resource_policy_auth_type_signs_with_the_execution_role() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let sm = model.state_machine("StateMachineB").unwrap();
    let api = &model.apigw.rest_apis[0];
    let trace = Trace::new();
    let ctx = TaskContext {
        world: &world,
        principal: session_of(&model, &sm.role_arn),
        state_machine_arn: &sm.arn,
        state_name: "CallRestApi",
        entered_event_id: 2,
        trace: &trace,
    };
    let out = apigw::invoke(
        &ctx,
        &json!({"ApiEndpoint": format!("{}.execute-api.ap-northeast-1.amazonaws.com", api.id), "Method": "GET", "Stage": "prod", "AuthType": "RESOURCE_POLICY"}),
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
    let sm = model.state_machine("StateMachineB").unwrap();
    let trace = Trace::new();
    let ctx = TaskContext {
        world: &world,
        principal: session_of(&model, &sm.role_arn),
        state_machine_arn: &sm.arn,
        state_name: "CallRestApi",
        entered_event_id: 2,
        trace: &trace,
    };
    let params = json!({"ApiEndpoint": format!("{}.execute-api.ap-northeast-1.amazonaws.com", model.apigw.rest_apis[0].id), "Method": "GET", "Stage": "prod", "Headers": {"Authorization": ["Bearer x"]}});
    let err = apigw::invoke(&ctx, &params).await.unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert_eq!(
        err.cause.unwrap(),
        format!(
            "An error occurred while executing the state 'CallRestApi' (entered at the event id #2). The Parameters '{params}' could not be used to start the Task: [The 'Headers' field contains unsupported values: [authorization]]"
        )
    );
}
