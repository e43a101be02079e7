//! The HTTP Task's request and response rules, against a backend inside the VPC that echoes
//! what reaches it (call-https-apis.html: connection credentials and parameters, the headers Step
//! Functions adds, refused content types, the 256 KiB limit, forbidden headers at run time).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use vpcgate::iam::Principal;
use vpcgate::model::{Model, StateMachine, StateMachineType};
use vpcgate::sfn::execution::Executions;
use vpcgate::sfn::{StatesError, TaskContext, http};
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::world;

fn fixture() -> vpcgate::scenario::Scenario {
    let path = vpcgate_tests::scenarios_dir().join("../tests/fixtures/pattern-a/echo-backend.json");
    vpcgate::scenario::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// An HTTP server on an ENI at 192.168.48.4:8080: `/echo*` answers with the request it got,
/// `/oauth/token` issues a token (counting requests), `/png` answers an image, `/big` 300 KB.
fn backend(world: &World, model: &Model) -> Arc<AtomicU32> {
    let subnet = model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.cidr.to_string() == "192.168.48.0/24")
        .unwrap()
        .id
        .clone();
    let group = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "BackendSecurityGroup")
        .unwrap()
        .id
        .clone();
    let eni = world
        .net
        .create_eni(&subnet, vec![group], "echo backend")
        .unwrap();
    assert_eq!(eni.ip.to_string(), "192.168.48.4");
    let mut listener = world.net.listen(&eni, 8080);
    let tokens = Arc::new(AtomicU32::new(0));
    let counter = tokens.clone();
    tokio::spawn(async move {
        while let Some(inbound) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let path = parts.uri.path().to_string();
                            let (ct, out): (&str, Bytes) = match path.as_str() {
                                "/oauth/token" => {
                                    counter.fetch_add(1, Ordering::SeqCst);
                                    ("application/json", Bytes::from(json!({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600, "request": String::from_utf8_lossy(&body), "authorization": parts.headers.get("authorization").map(|v| v.to_str().unwrap().to_string())}).to_string()))
                                }
                                "/png" => ("image/png", Bytes::from_static(b"\x89PNG\r\n")),
                                "/echo/unauthorized" => {
                                    return Ok::<_, Infallible>(
                                        hyper::Response::builder()
                                            .status(401)
                                            .header("content-type", "application/json")
                                            .body(Full::new(Bytes::from_static(b"{}")))
                                            .unwrap(),
                                    );
                                }
                                "/big" => ("text/plain", Bytes::from("x".repeat(300 * 1024))),
                                _ => {
                                    let headers: serde_json::Map<String, Value> = parts
                                        .headers
                                        .iter()
                                        .map(|(k, v)| {
                                            (k.to_string(), json!(v.to_str().unwrap_or("")))
                                        })
                                        .collect();
                                    ("application/json", Bytes::from(json!({"method": parts.method.as_str(), "uri": parts.uri.to_string(), "headers": headers, "body": String::from_utf8_lossy(&body)}).to_string()))
                                }
                            };
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", ct)
                                    .body(Full::new(out))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(inbound.stream), service)
                    .await;
            });
        }
    });
    tokens
}

fn arn(model: &Model, name: &str) -> String {
    model
        .connections
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .arn
        .clone()
}

async fn call(world: &World, model: &Model, params: Value) -> (Result<Value, StatesError>, Trace) {
    let trace = Trace::new();
    let sm = model.state_machine("StateMachineA").unwrap();
    let ctx = TaskContext {
        world,
        principal: &Principal::assumed_role(&model.account, "PatternARole", "test"),
        session: None,
        state_machine_arn: &sm.arn,
        state_name: "Call",
        entered_event_id: 2,
        trace: &trace,
        capture: None,
    };
    (http::invoke(&ctx, &params).await, trace)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn basic_credentials_and_connection_parameters_are_merged_into_the_request() {
    let s = fixture();
    let (model, world) = world(&s);
    backend(&world, &model);
    let (out, trace) = call(
        &world,
        &model,
        json!({
            "ApiEndpoint": "https://eb-demo.example.com/echo",
            "Method": "POST",
            "Authentication": {"ConnectionArn": arn(&model, "basic-connection")},
            "Headers": {"x-task-header": "from-task", "x-conn-header": "task-loses"},
            "QueryParameters": {"q": "task-loses", "page": "2"},
            "RequestBody": {"fromTask": 1},
        }),
    )
    .await;
    let out = out.unwrap_or_else(|e| panic!("{e:?}\n{}", trace.render()));
    let echo = &out["ResponseBody"];
    let headers = &echo["headers"];
    let basic = base64::engine::general_purpose::STANDARD.encode("user:pass");
    assert_eq!(headers["authorization"], format!("Basic {basic}"));
    // The connection wins on a duplicate key (call-https-apis.html, "merging").
    assert_eq!(headers["x-conn-header"], "from-connection");
    assert_eq!(headers["x-task-header"], "from-task");
    assert_eq!(
        headers["user-agent"],
        "Amazon|StepFunctions|HttpInvoke|ap-northeast-1"
    );
    assert_eq!(headers["range"], "bytes=0-262144");
    assert_eq!(headers["content-type"], "application/json; charset=UTF-8");
    assert_eq!(headers["host"], "eb-demo.example.com");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["uri"], "/echo?page=2&q=connection-wins");
    assert_eq!(
        serde_json::from_str::<Value>(echo["body"].as_str().unwrap()).unwrap(),
        json!({"fromTask": 1, "fromConnection": "yes"})
    );
    // The trace never carries the credentials.
    let rendered = trace.render();
    assert!(
        !rendered.contains(&basic) && !rendered.contains("user:pass"),
        "{rendered}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn oauth_tokens_are_fetched_from_the_authorization_endpoint_and_cached() {
    let s = fixture();
    let (model, world) = world(&s);
    let tokens = backend(&world, &model);
    let params = json!({"ApiEndpoint": "https://eb-demo.example.com/echo", "Method": "GET", "Authentication": {"ConnectionArn": arn(&model, "oauth-connection")}});
    let (first, _) = call(&world, &model, params.clone()).await;
    assert_eq!(
        first.unwrap()["ResponseBody"]["headers"]["authorization"],
        "Bearer tok-1"
    );
    let (second, trace) = call(&world, &model, params).await;
    assert_eq!(
        second.unwrap()["ResponseBody"]["headers"]["authorization"],
        "Bearer tok-1"
    );
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "the second call uses the cached token"
    );
    assert!(trace.render().contains("cached OAuth token"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn refused_content_types_fail_with_states_runtime() {
    let s = fixture();
    let (model, world) = world(&s);
    backend(&world, &model);
    let (out, _) = call(&world, &model, json!({"ApiEndpoint": "https://eb-demo.example.com/png", "Method": "GET", "Authentication": {"ConnectionArn": arn(&model, "eb-demo-private-connection")}})).await;
    let err = out.unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert!(err.cause.unwrap().contains("image/png"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn forbidden_headers_from_the_input_fail_at_run_time() {
    let s = fixture();
    let (model, world) = world(&s);
    let (out, _) = call(&world, &model, json!({"ApiEndpoint": "https://eb-demo.example.com/echo", "Method": "GET", "Headers": {"Authorization": "Bearer mine"}, "Authentication": {"ConnectionArn": arn(&model, "eb-demo-private-connection")}})).await;
    let err = out.unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert!(
        err.cause
            .unwrap()
            .contains("The 'Headers' field contains unsupported values: [authorization]")
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outputs_over_256_kib_fail_with_states_data_limit_exceeded() {
    let s = fixture();
    let (model, world) = world(&s);
    backend(&world, &model);
    let sm = StateMachine {
        logical_id: "Big".into(),
        name: "big".into(),
        arn: format!("arn:aws:states:{}:{}:stateMachine:big", model.region, model.account),
        role_arn: model.roles[0].arn.clone(),
        definition: json!({"StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true,
            "Parameters": {"ApiEndpoint": "https://eb-demo.example.com/big", "Method": "GET", "Authentication": {"ConnectionArn": arn(&model, "eb-demo-private-connection")}}}}}).to_string(),
        kind: StateMachineType::Express,
    };
    let record = Executions::new()
        .run_sync(&world, &sm, json!({}), None)
        .await
        .unwrap();
    let outcome = record.outcome.unwrap();
    assert_eq!(
        outcome.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{:?}",
        outcome.cause
    );
}

/// ALB answers for targets that are down
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html>):
/// a target that resets the connection gives 502, one that never answers the SYN gives 504 after
/// the 10-second connection timeout.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_down_target_gives_alb_502_or_504() {
    let s = fixture();
    let (model, world) = world(&s);
    let params = json!({"ApiEndpoint": "https://eb-demo.example.com/echo", "Method": "GET", "Authentication": {"ConnectionArn": arn(&model, "eb-demo-private-connection")}});

    // No ENI holds the target's address: the SYN goes unanswered.
    let begin = tokio::time::Instant::now();
    let (out, trace) = call(&world, &model, params.clone()).await;
    let err = out.unwrap_err();
    assert_eq!(
        (err.error.as_str(), err.cause.as_deref()),
        ("States.Http.StatusCode.504", Some("Gateway Timeout")),
        "{}",
        trace.render()
    );
    assert_eq!(begin.elapsed(), std::time::Duration::from_secs(10));

    // The target's ENI exists but nothing listens on 8080: reset, 502.
    let subnet = model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.cidr.to_string() == "192.168.48.0/24")
        .unwrap()
        .id
        .clone();
    let group = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "BackendSecurityGroup")
        .unwrap()
        .id
        .clone();
    world
        .net
        .create_eni(&subnet, vec![group], "stopped backend")
        .unwrap();
    let (out, _) = call(&world, &model, params).await;
    let err = out.unwrap_err();
    assert_eq!(
        (err.error.as_str(), err.cause.as_deref()),
        ("States.Http.StatusCode.502", Some("Bad Gateway"))
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_401_deauthorizes_a_basic_connection_until_it_is_updated() {
    // eb-target-connection-deauthorize.html: "For connections using Basic or API Key
    // authentication, EventBridge receives a 401 (UnAuthorize) or 407 … error code" → the
    // connection is de-authorized; updating it with credentials authorizes it again.
    let s = fixture();
    let (model, world) = world(&s);
    backend(&world, &model);
    let conn = arn(&model, "basic-connection");
    let to = |path: &str| json!({"ApiEndpoint": format!("https://eb-demo.example.com{path}"), "Method": "GET", "Authentication": {"ConnectionArn": conn}});
    let (first, _) = call(&world, &model, to("/echo/unauthorized")).await;
    assert_eq!(first.unwrap_err().error, "States.Http.StatusCode.401");
    assert!(world.connections.is_deauthorized(&conn));
    let (next, trace) = call(&world, &model, to("/echo")).await;
    let e = next.unwrap_err();
    assert_eq!(e.error, "Events.ConnectionResource.InvalidConnectionState");
    assert!(
        trace.render().contains("DEAUTHORIZED"),
        "{}",
        trace.render()
    );
    // UpdateConnection puts the connection again: authorized.
    let config = model
        .connections
        .iter()
        .find(|c| c.arn == conn)
        .unwrap()
        .clone();
    world.connections.put(config);
    assert!(!world.connections.is_deauthorized(&conn));
    let (after, _) = call(&world, &model, to("/echo")).await;
    assert!(after.is_ok());
}
