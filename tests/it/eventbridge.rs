//! EventBridge's front door on `vpcgate serve`, driven by boto3 (issue 16): buses, rules,
//! targets, PutEvents, TestEventPattern and API destinations, with deliveries observed where
//! users observe them (the state machine's executions, the API destination's answer in
//! `/_vpcgate/events/deliveries`), and AWS's error codes and messages for every refusal (as
//! LocalStack recorded them from AWS in `tests/aws/services/events/*.snapshot.json`).

use crate::serve_conventions::{py, serve};

fn scenario(file: &str) -> String {
    vpcgate_tests::repo(&format!("scenarios/{file}"))
}

/// put_rule / put_targets / put_events on a custom bus: the API destination target reaches the
/// ALB over the private connection (VPC Lattice, resource gateway, TLS) and the state machine
/// target's execution appears in list_executions.
#[test]
fn boto3_puts_an_event_that_reaches_the_alb_and_starts_an_execution() {
    let ep = serve(&[
        "--scenario",
        &scenario("eventbridge-private-api-destination.json"),
    ]);
    let out = py(
        r#"
import json, sys, time, urllib.request
import vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
eb = v.client("events", ep, key="123456789012", region="ap-northeast-1")
sfn = v.client("stepfunctions", ep, key="123456789012", region="ap-northeast-1")
out = {}
out["bus"] = eb.create_event_bus(Name="orders")["EventBusArn"]
out["buses"] = [b["Name"] for b in eb.list_event_buses()["EventBuses"]]
dest = [d for d in eb.list_api_destinations()["ApiDestinations"] if d["Name"] == "eb-demo-orders"][0]
out["dest_method"] = dest["HttpMethod"]
world = json.loads(urllib.request.urlopen(ep + "/_vpcgate/world").read())
role = [r["arn"] for r in world["roles"] if r["name"] == "EventBridgeTargetRole"][0]
machine = [m["arn"] for m in world["stateMachines"] if m["name"] == "eb-demo-pattern-a-private"][0]
out["rule"] = eb.put_rule(Name="big-orders", EventBusName="orders",
    EventPattern=json.dumps({"source": ["shop"], "detail": {"amount": [{"numeric": [">=", 100]}]}}))["RuleArn"]
out["put_targets"] = eb.put_targets(Rule="big-orders", EventBusName="orders", Targets=[
    {"Id": "api", "Arn": dest["ApiDestinationArn"], "RoleArn": role,
     "HttpParameters": {"PathParameterValues": ["$.detail.id"]},
     "RetryPolicy": {"MaximumRetryAttempts": 0}},
    {"Id": "flow", "Arn": machine, "RoleArn": role, "InputPath": "$.detail"},
])["FailedEntryCount"]
out["targets"] = sorted(t["Id"] for t in eb.list_targets_by_rule(Rule="big-orders", EventBusName="orders")["Targets"])
before = len(sfn.list_executions(stateMachineArn=machine)["executions"])
small = eb.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "a1", "amount": 5}), "EventBusName": "orders"}])
big = eb.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "b2", "amount": 500}), "EventBusName": "orders"}])
out["failed"] = [small["FailedEntryCount"], big["FailedEntryCount"]]
deadline = time.time() + 20
while time.time() < deadline:
    ex = sfn.list_executions(stateMachineArn=machine)["executions"]
    d = json.loads(urllib.request.urlopen(ep + "/_vpcgate/events/deliveries").read())["Deliveries"]
    if len(ex) > before and len(d) >= 2:
        break
    time.sleep(0.05)
out["executions_added"] = len(ex) - before
run = v.wait_execution(sfn, ex[0]["executionArn"])
out["execution"] = [run["status"], json.loads(run["input"])]
out["deliveries"] = sorted([x["TargetId"], x["Status"], x.get("StatusCode"), x["EventId"] == big["Entries"][0]["EventId"]] for x in d)
print(json.dumps(out))
"#,
        &[&ep],
    );
    assert!(
        out["bus"].as_str().unwrap().ends_with(":event-bus/orders"),
        "{out}"
    );
    assert_eq!(out["buses"], serde_json::json!(["default", "orders"]));
    assert_eq!(out["dest_method"], "POST");
    assert!(
        out["rule"]
            .as_str()
            .unwrap()
            .ends_with(":rule/orders/big-orders"),
        "{out}"
    );
    assert_eq!(out["put_targets"], 0);
    assert_eq!(out["targets"], serde_json::json!(["api", "flow"]));
    assert_eq!(out["failed"], serde_json::json!([0, 0]));
    assert_eq!(out["executions_added"], 1, "{out}");
    assert_eq!(
        out["execution"],
        serde_json::json!(["SUCCEEDED", {"id": "b2", "amount": 500}])
    );
    // Only the big order matched; both targets took it, the ALB answered 200.
    assert_eq!(
        out["deliveries"],
        serde_json::json!([
            ["api", "DELIVERED", 200, true],
            ["flow", "DELIVERED", null, true]
        ])
    );
}

/// Each refusal with AWS's code and message (LocalStack's snapshots recorded against AWS:
/// test_describe_nonexistent_rule, test_delete_default_event_bus, test_add_exceed_fife_targets_per_rule,
/// test_put_events_exceed_limit_ten_entries, test_events_patterns _EXC cases,
/// test_put_events_with_input_transformer_missing_keys, test_create_multiple_event_buses_same_name).
#[test]
fn boto3_sees_eventbridge_refusals_as_aws_words_them() {
    let ep = serve(&[
        "--scenario",
        &scenario("eventbridge-private-api-destination.json"),
    ]);
    let out = py(
        r#"
import json, sys
import vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
eb = v.client("events", ep, key="123456789012", region="ap-northeast-1")
err = v.code_and_message
out = {}
out["describe"] = err(eb.describe_rule, Name="nope")
out["delete_default"] = err(eb.delete_event_bus, Name="default")
eb.create_event_bus(Name="b1")
out["bus_twice"] = err(eb.create_event_bus, Name="b1")
out["bad_pattern"] = err(eb.put_rule, Name="r", EventPattern=json.dumps({"detail": {"c": [{"numeric": [">", 0, ">", 0]}]}}))
out["prefix_int"] = err(eb.put_rule, Name="r", EventPattern=json.dumps({"time": [{"prefix": 123}]}))
eb.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
t = lambda i: {"Id": f"t{i}", "Arn": "arn:aws:sqs:ap-northeast-1:123456789012:q"}
out["six_targets"] = err(eb.put_targets, Rule="r", Targets=[t(i) for i in range(6)])
out["placeholder"] = err(eb.put_targets, Rule="r", Targets=[dict(t(1), InputTransformer={"InputPathsMap": {}, "InputTemplate": "<notdefinedkey>"})])
out["bad_id"] = err(eb.put_targets, Rule="r", Targets=[dict(t(1), Id="!@#$@!#$")])
eb.put_targets(Rule="r", Targets=[t(1)])
out["delete_with_targets"] = err(eb.delete_rule, Name="r")
e = {"Source": "s", "DetailType": "t", "Detail": "{}"}
out["eleven"] = err(eb.put_events, Entries=[e] * 11)[0]
out["no_bus"] = err(eb.put_events, Entries=[dict(e, EventBusName="nope")])
out["entry_errors"] = eb.put_events(Entries=[{"DetailType": "t", "Detail": "{}"}, dict(e, Detail="[1]"), e])
out["test_pattern"] = [
    eb.test_event_pattern(EventPattern=json.dumps({"source": [{"prefix": "com."}]}), Event=json.dumps({"id": "1", "source": "com.x", "detail-type": "d", "account": "123456789012", "region": "ap-northeast-1", "time": "2022-07-13T13:48:01Z", "detail": {}}))["Result"],
    eb.test_event_pattern(EventPattern=json.dumps({"source": [{"anything-but": "com.x"}]}), Event=json.dumps({"id": "1", "source": "com.x", "detail-type": "d", "account": "123456789012", "region": "ap-northeast-1", "time": "2022-07-13T13:48:01Z", "detail": {}}))["Result"],
]
out["test_pattern_bad_event"] = err(eb.test_event_pattern, EventPattern=json.dumps({"source": ["x"]}), Event="[1]")
# Hostile input: an oversized pattern, a deeply nested detail, a pattern nested past the budget.
out["huge_pattern"] = err(eb.put_rule, Name="h", EventPattern=json.dumps({"source": ["x" * 5000]}))
out["deep_detail"] = eb.put_events(Entries=[dict(e, Detail="{\"a\":" * 300 + "1" + "}" * 300)])["Entries"][0]
deep = ["x"]
for _ in range(40):
    deep = {"a": deep}
out["deep_pattern"] = err(eb.test_event_pattern, EventPattern=json.dumps(deep), Event=json.dumps({"id": "1", "source": "s", "detail-type": "d", "account": "123456789012", "region": "ap-northeast-1", "time": "2022-07-13T13:48:01Z", "detail": {}}))
out["dest_bad"] = err(eb.create_api_destination, Name="d", ConnectionArn="invalid-connection-arn", InvocationEndpoint="https://example.com/api", HttpMethod="INVALID_METHOD")
print(json.dumps(out))
"#,
        &[&ep],
    );
    let pair = |k: &str| {
        (
            out[k][0].as_str().unwrap().to_string(),
            out[k][1].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        pair("describe"),
        (
            "ResourceNotFoundException".into(),
            "Rule nope does not exist on EventBus default.".into()
        )
    );
    assert_eq!(
        pair("delete_default"),
        (
            "ValidationException".into(),
            "Cannot delete event bus default.".into()
        )
    );
    assert_eq!(
        pair("bus_twice"),
        (
            "ResourceAlreadyExistsException".into(),
            "Event bus b1 already exists.".into()
        )
    );
    assert_eq!(
        pair("bad_pattern"),
        (
            "InvalidEventPatternException".into(),
            "Event pattern is not valid. Reason: Bad numeric range operator: >".into()
        )
    );
    assert_eq!(
        pair("prefix_int").1,
        "Event pattern is not valid. Reason: prefix match pattern must be a string"
    );
    assert_eq!(
        pair("six_targets"),
        (
            "LimitExceededException".into(),
            "The requested resource exceeds the maximum number allowed.".into()
        )
    );
    assert_eq!(
        pair("placeholder").1,
        "InputTemplate for target t1 contains invalid placeholder notdefinedkey."
    );
    assert!(
        pair("bad_id")
            .1
            .contains("at 'targets.1.member.id' failed to satisfy constraint")
    );
    assert_eq!(
        pair("delete_with_targets").1,
        "Rule can't be deleted since it has targets."
    );
    assert_eq!(out["eleven"], "ValidationException");
    assert_eq!(
        pair("no_bus"),
        (
            "ResourceNotFoundException".into(),
            "Event bus nope does not exist.".into()
        )
    );
    let entries = &out["entry_errors"];
    assert_eq!(entries["FailedEntryCount"], 2);
    assert_eq!(entries["Entries"][0]["ErrorCode"], "InvalidArgument");
    assert_eq!(entries["Entries"][1]["ErrorCode"], "MalformedDetail");
    assert!(entries["Entries"][2]["EventId"].is_string());
    assert_eq!(out["test_pattern"], serde_json::json!([true, false]));
    assert_eq!(
        pair("test_pattern_bad_event"),
        (
            "ValidationException".into(),
            "Parameter Event is not valid.".into()
        )
    );
    assert!(
        pair("dest_bad")
            .1
            .starts_with("2 validation errors detected:"),
        "{out}"
    );
    // PutRule's EventPattern: "Maximum length of 4096" (API_PutRule.html).
    assert_eq!(pair("huge_pattern").0, "ValidationException");
    assert!(
        pair("huge_pattern")
            .1
            .ends_with("Member must have length less than or equal to 4096")
    );
    assert_eq!(
        out["deep_detail"],
        serde_json::json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
    );
    assert_eq!(pair("deep_pattern").0, "InvalidEventPatternException");
}

/// Paging on the six List operations as AWS recorded it (LocalStack test_list_rule_with_limit,
/// test_list_event_buses_with_limit, test_list_target_by_rule_limit,
/// test_list_rule_names_by_target_with_limit): `Limit` items and a `NextToken` while more remain,
/// none on the last page; a token that is not one of the operation's is AWS's
/// "Parameter NextToken is not valid." (ValidationException).
#[test]
fn boto3_pages_list_operations_with_limit_and_next_token() {
    let ep = serve(&[
        "--scenario",
        &scenario("eventbridge-private-api-destination.json"),
    ]);
    let out = py(
        r#"
import json, sys
import vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
eb = v.client("events", ep, key="123456789012", region="ap-northeast-1")
err = v.code_and_message
def pages(f, key, limit, **k):
    got, token = [], None
    while True:
        args = dict(k, Limit=limit)
        if token:
            args["NextToken"] = token
        r = f(**args)
        got.append([x if isinstance(x, str) else x.get("Name", x.get("Id")) for x in r[key]])
        token = r.get("NextToken")
        if not token:
            return got
for i in range(6):
    eb.create_event_bus(Name=f"page-bus-{i}")
eb.create_event_bus(Name="pb")
q = "arn:aws:sqs:ap-northeast-1:123456789012:q"
for i in range(5):
    eb.put_rule(Name=f"page-rule-{i}", EventBusName="pb", EventPattern=json.dumps({"source": ["x"]}))
    eb.put_targets(Rule=f"page-rule-{i}", EventBusName="pb", Targets=[{"Id": f"t{j}", "Arn": q} for j in range(5 if i == 0 else 1)])
out = {}
out["buses"] = pages(eb.list_event_buses, "EventBuses", 3, NamePrefix="page-bus-")
out["rules"] = pages(eb.list_rules, "Rules", 2, EventBusName="pb")
out["targets"] = pages(eb.list_targets_by_rule, "Targets", 3, Rule="page-rule-0", EventBusName="pb")
out["names"] = pages(eb.list_rule_names_by_target, "RuleNames", 2, TargetArn=q, EventBusName="pb")
out["connections"] = pages(eb.list_connections, "Connections", 1)
out["destinations"] = pages(eb.list_api_destinations, "ApiDestinations", 1)
first = eb.list_rules(EventBusName="pb", Limit=1)
out["foreign_token"] = err(eb.list_event_buses, NextToken=first["NextToken"])
out["bad_token"] = err(eb.list_targets_by_rule, Rule="page-rule-0", EventBusName="pb", NextToken="not-a-token")
out["big_limit"] = err(eb.list_rules, Limit=101)
print(json.dumps(out))
"#,
        &[&ep],
    );
    assert_eq!(
        out["buses"],
        serde_json::json!([
            ["page-bus-0", "page-bus-1", "page-bus-2"],
            ["page-bus-3", "page-bus-4", "page-bus-5"]
        ])
    );
    assert_eq!(
        out["rules"],
        serde_json::json!([
            ["page-rule-0", "page-rule-1"],
            ["page-rule-2", "page-rule-3"],
            ["page-rule-4"]
        ])
    );
    assert_eq!(
        out["targets"],
        serde_json::json!([["t0", "t1", "t2"], ["t3", "t4"]])
    );
    assert_eq!(
        out["names"],
        serde_json::json!([
            ["page-rule-0", "page-rule-1"],
            ["page-rule-2", "page-rule-3"],
            ["page-rule-4"]
        ])
    );
    assert_eq!(
        out["connections"],
        serde_json::json!([
            ["eb-demo-private-connection"],
            ["eb-demo-public-connection"]
        ])
    );
    assert_eq!(out["destinations"], serde_json::json!([["eb-demo-orders"]]));
    for k in ["foreign_token", "bad_token"] {
        assert_eq!(
            out[k],
            serde_json::json!(["ValidationException", "Parameter NextToken is not valid."]),
            "{k}: {out}"
        );
    }
    assert_eq!(out["big_limit"][0], "ValidationException", "{out}");
    assert!(
        out["big_limit"][1]
            .as_str()
            .unwrap()
            .contains("Member must have value less than or equal to 100"),
        "{out}"
    );
}

// ---- public connections (issue 16): the emulated internet and PublicEndpoints --------------

mod public {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use serde_json::{Value, json};
    use vpcgate::events::target::{DeliveryResult, deliver};
    use vpcgate::sfn::execution::Executions;
    use vpcgate::trace::Trace;

    /// A process of the user's on 127.0.0.1:0 that records every request and answers 200 with
    /// `{"ok": true}`.
    async fn local_process() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let log = log.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body.collect().await.unwrap().to_bytes();
                                let headers: serde_json::Map<String, Value> = parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                                    .collect();
                                log.lock().unwrap().push(json!({
                                    "method": parts.method.as_str(),
                                    "uri": parts.uri.to_string(),
                                    "headers": headers,
                                    "body": String::from_utf8_lossy(&body),
                                }));
                                Ok::<_, Infallible>(
                                    hyper::Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from_static(b"{\"ok\": true}")))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, seen)
    }

    /// eventbridge-public-connection.json with `api.partner.example.com` mapped to `addr` by the
    /// environment's `PublicEndpoints`.
    fn mapped_scenario(addr: SocketAddr) -> vpcgate::scenario::Scenario {
        let dir = std::env::temp_dir().join(format!(
            "vpcgate-public-endpoints-{}-{}",
            std::process::id(),
            addr.port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let base = vpcgate_tests::scenarios_dir().join("eventbridge-public-connection.json");
        let file = dir.join("mapped.json");
        let doc = json!({"Vpcgate": {
            "Extends": base.canonicalize().unwrap().display().to_string(),
            "Environment": {"PublicEndpoints": [
                {"Url": "https://api.partner.example.com", "Target": format!("http://{addr}")}
            ]},
            "Cases": []
        }});
        std::fs::write(&file, doc.to_string()).unwrap();
        let s = vpcgate::scenario::Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(&dir);
        s
    }

    /// An API destination over a public connection to a host PublicEndpoints maps: the request
    /// reaches the user's own process on 127.0.0.1 (a real socket, real time) with the public
    /// Host, the connection's API key, EventBridge's headers and the event as body.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn api_destination_over_a_public_connection_reaches_a_mapped_local_process() {
        let (addr, seen) = local_process().await;
        let (model, world) = vpcgate_tests::world(&mapped_scenario(addr));
        let (answer, matched) = world
            .events
            .put_events(
                &model.region,
                &model.account,
                &[json!({"Source": "com.example.partner", "DetailType": "ToPartner", "Detail": "{\"orderId\": \"p-9\"}"})],
                world.clock.now(),
            )
            .unwrap();
        assert_eq!(answer["FailedEntryCount"], 0);
        assert_eq!(matched.len(), 1);
        let trace = Trace::new();
        let record = deliver(&world, None, &matched[0], &trace).await;
        match &record.result {
            DeliveryResult::Delivered { status, body, .. } => {
                assert_eq!(*status, Some(200));
                assert_eq!(body.as_deref(), Some("{\"ok\": true}"));
            }
            other => panic!("{other:?}\n{}", trace.render()),
        }
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let req = &seen[0];
        assert_eq!(req["method"], "POST");
        assert_eq!(req["uri"], "/hook");
        let h = &req["headers"];
        assert_eq!(h["host"], "api.partner.example.com");
        assert_eq!(h["x-dummy-key"], "dummy");
        assert_eq!(h["user-agent"], "Amazon/EventBridge/ApiDestinations");
        assert_eq!(h["content-type"], "application/json; charset=utf-8");
        let event: Value = serde_json::from_str(req["body"].as_str().unwrap()).unwrap();
        assert_eq!(event["detail"]["orderId"], "p-9");
        assert_eq!(event["detail-type"], "ToPartner");
        assert!(
            trace
                .render()
                .contains("is mapped to your process at 127.0.0.1:"),
            "{}",
            trace.render()
        );
    }

    /// `serve --public-endpoint https://api.partner.example.com=http://127.0.0.1:PORT`: boto3
    /// puts an event whose rule's API destination is on the public connection; the delivery
    /// reaches the mapped process and `/_vpcgate/events/deliveries` shows its 200.
    #[test]
    fn serve_public_endpoint_flag_maps_a_public_host_for_boto3_events() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (addr, seen) = rt.block_on(local_process());
        let ep = crate::serve_conventions::serve(&[
            "--scenario",
            &super::scenario("eventbridge-public-connection.json"),
            "--public-endpoint",
            &format!("https://api.partner.example.com=http://{addr}"),
        ]);
        let out = crate::serve_conventions::py(
            r#"
import json, sys, time, urllib.request
import vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
eb = v.client("events", ep, key="123456789012", region="ap-northeast-1")
r = eb.put_events(Entries=[{"Source": "com.example.partner", "DetailType": "ToPartner", "Detail": json.dumps({"orderId": "s-1"})}])
deadline = time.time() + 20
d = []
while time.time() < deadline:
    d = json.loads(urllib.request.urlopen(ep + "/_vpcgate/events/deliveries").read())["Deliveries"]
    if d:
        break
    time.sleep(0.05)
print(json.dumps({"failed": r["FailedEntryCount"], "deliveries": [[x["TargetId"], x["Status"], x.get("StatusCode")] for x in d]}))
"#,
            &[&ep],
        );
        assert_eq!(out["failed"], 0);
        assert_eq!(
            out["deliveries"],
            json!([["partner", "DELIVERED", 200]]),
            "{out}"
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0]["headers"]["host"], "api.partner.example.com");
        assert!(seen[0]["body"].as_str().unwrap().contains("s-1"));
        drop(rt);
    }

    /// The HTTP Task over the same public connection to the mapped host: the process answers
    /// and the task succeeds with its body; Step Functions' own User-Agent reaches it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_task_over_a_public_connection_reaches_a_mapped_local_process() {
        let (addr, seen) = local_process().await;
        let (model, world) = vpcgate_tests::world(&mapped_scenario(addr));
        let sm = model.state_machine("PartnerStateMachine").unwrap();
        let record = Executions::new()
            .run_sync(&world, sm, json!({}), None)
            .await
            .unwrap();
        let outcome = record.outcome.unwrap();
        assert_eq!(outcome.error, None, "{outcome:?}");
        let output = outcome.output.unwrap();
        let output: Value = match output {
            Value::String(s) => serde_json::from_str(&s).unwrap(),
            v => v,
        };
        assert_eq!(output["StatusCode"], 200, "{output}");
        assert_eq!(output["ResponseBody"], json!({"ok": true}));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["method"], "GET");
        assert_eq!(seen[0]["headers"]["host"], "api.partner.example.com");
        assert_eq!(seen[0]["headers"]["x-dummy-key"], "dummy");
        assert!(
            seen[0]["headers"]["user-agent"]
                .as_str()
                .unwrap()
                .starts_with("Amazon|StepFunctions|HttpInvoke|"),
            "{}",
            seen[0]
        );
    }
}

/// Deliveries in flight are bounded (README, Limits: `MAX_PENDING_DELIVERIES`, 10,000): an API
/// destination at 1 invocation a second cannot keep up with PutEvents, so past the bound each new
/// matching event is logged as a failed delivery (`VPCGATE_BACKLOG_FULL`, no attempt) instead of
/// held in memory; PutEvents still answers every entry as accepted, as AWS's does.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn deliveries_waiting_for_a_rate_limit_slot_are_bounded() {
    use std::sync::Arc;

    use serde_json::json;
    use vpcgate::edge::{AuthMode, Edge};
    use vpcgate::events::bus::MAX_PENDING_DELIVERIES;
    use vpcgate_tests::edge_call::json_call;

    let s = vpcgate_tests::scenario("eventbridge-rate-limit.json");
    let (model, world) = vpcgate_tests::world(&s);
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let entry = json!({"Source": "com.example.orders", "DetailType": "OrderPlaced",
                       "Detail": "{\"orderId\": \"o-1\", \"amount\": 1}"});
    let calls = MAX_PENDING_DELIVERIES / 10 + 1;
    for _ in 0..calls {
        let body = json!({"Entries": vec![entry.clone(); 10]});
        let host = format!("events.{}.amazonaws.com", model.region);
        let (status, answer) = json_call(&edge, &host, "AWSEvents.PutEvents", &body).await;
        assert_eq!(status, 200);
        assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    }
    let world = edge.world();
    assert_eq!(world.events.pending_deliveries(), MAX_PENDING_DELIVERIES);
    let refused: Vec<_> = world
        .events
        .deliveries()
        .into_iter()
        .filter(|d| d.to_json()["ErrorCode"] == "VPCGATE_BACKLOG_FULL")
        .collect();
    assert_eq!(refused.len(), 10);
    assert_eq!(refused[0].attempts, 0);
}

/// Deliveries waiting for an API destination's rate-limit slot are data in the destination's
/// queue, not tasks (`vpcgate::events::queue`): 300 matching events for a destination at 1
/// invocation a second add one task (the queue's drainer) to the runtime however many wait, each
/// waiting delivery takes `WAITING_BYTES` in the queue; and they are all delivered, in the order
/// they were put, one a second of virtual time (eb-api-destinations.html: past its
/// `InvocationRateLimitPerSecond` EventBridge holds events and delivers them later, within the
/// retry window).
/// PutEvents of ten OrderPlaced events (order ids `o-{call*10}` to `o-{call*10+9}`), all
/// accepted; their event ids in order.
async fn put_ten_orders(
    edge: &std::sync::Arc<vpcgate::edge::Edge>,
    host: &str,
    call: usize,
) -> Vec<String> {
    use serde_json::json;
    use vpcgate_tests::edge_call::json_call;
    let entries: Vec<_> = (0..10)
        .map(|i| {
            json!({"Source": "com.example.orders", "DetailType": "OrderPlaced",
                   "Detail": json!({"orderId": format!("o-{}", call * 10 + i), "amount": 1}).to_string()})
        })
        .collect();
    let (status, answer) = json_call(
        edge,
        host,
        "AWSEvents.PutEvents",
        &json!({"Entries": entries}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    answer["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn deliveries_waiting_for_a_slot_are_queued_data_delivered_in_order() {
    use std::sync::Arc;
    use std::time::Duration;

    use vpcgate::edge::{AuthMode, Edge};
    use vpcgate::events::queue::WAITING_BYTES;

    const EVENTS: usize = 300;
    let s = vpcgate_tests::scenario("eventbridge-rate-limit.json");
    let (model, world) = vpcgate_tests::world(&s);
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let host = format!("events.{}.amazonaws.com", model.region);
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let mut ids = Vec::new();
    for call in 0..EVENTS / 10 {
        ids.extend(put_ten_orders(&edge, &host, call).await);
    }
    let world = edge.world();
    assert_eq!(world.events.pending_deliveries(), EVENTS);
    // The first delivery took the free slot at once; the others wait in the queue.
    assert!(
        world.events.queued_deliveries() >= EVENTS - 1,
        "{}",
        world.events.queued_deliveries()
    );
    assert!(
        tasks() <= before + 2,
        "one drainer (and at most the first invocation's connection) for {EVENTS} waiting deliveries: {before} tasks before, {} after",
        tasks()
    );
    const {
        assert!(
            WAITING_BYTES <= 64,
            "bytes per waiting delivery in its queue"
        )
    };

    // Half-way on the virtual clock, about half are delivered: one a second.
    tokio::time::sleep(Duration::from_millis(EVENTS as u64 / 2 * 1000 + 500)).await;
    let half = world.events.deliveries().len();
    assert!(
        (EVENTS / 2..=EVENTS / 2 + 2).contains(&half),
        "{half} delivered after {} s",
        EVENTS / 2
    );
    tokio::time::sleep(Duration::from_secs(EVENTS as u64)).await;
    let log = world.events.deliveries();
    assert_eq!(world.events.pending_deliveries(), 0);
    assert_eq!(world.events.queued_deliveries(), 0);
    let delivered: Vec<_> = log
        .iter()
        .filter(|d| d.to_json()["Status"] == "DELIVERED")
        .map(|d| d.event_id.clone())
        .collect();
    assert_eq!(
        delivered, ids,
        "every event delivered, in the order it was put"
    );
    // Each waited its turn: the last one 299 s for its slot.
    assert!(
        log[EVENTS - 1].trace.contains(&format!(
            "rate limit 1/s: waits {} ms for a slot",
            (EVENTS - 1) * 1000
        )),
        "{}",
        log[EVENTS - 1].trace
    );
    assert!(tasks() <= before + 1, "the drainer ended");
}

/// A queued delivery that the destination answers 503 twice (the scenario's fault injection) is
/// retried through its destination's queue (eb-api-destinations.html, error handling: 5xx is
/// retried per the target's RetryPolicy): back-off 1 s then 2 s, delivered by the third attempt
/// at t = 3 s of virtual time, with every attempt's hops in one record, as `vpcgate check`
/// shows the same scenario.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_queued_delivery_is_retried_through_its_queue() {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;
    use vpcgate::edge::{AuthMode, Edge};
    use vpcgate_tests::edge_call::json_call;

    let s = vpcgate_tests::scenario("eventbridge-retry-transient-503.json");
    let (model, world) = vpcgate_tests::world(&s);
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let host = format!("events.{}.amazonaws.com", model.region);
    let entry = json!({"Source": "com.example.orders", "DetailType": "OrderPlaced",
                       "Detail": "{\"orderId\": \"o-1\", \"amount\": 42}"});
    let (status, answer) = json_call(
        &edge,
        &host,
        "AWSEvents.PutEvents",
        &json!({"Entries": [entry]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    let world = edge.world();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let log = world.events.deliveries();
    assert_eq!(log.len(), 1, "{log:?}");
    let d = log[0].to_json();
    assert_eq!(d["Status"], "DELIVERED", "{}", log[0].trace);
    assert_eq!(d["StatusCode"], 200);
    assert_eq!(d["Attempts"], 3);
    let trace = &log[0].trace;
    for needle in [
        "API destination eb-demo-orders answered 503",
        "retry in 1 s",
        "retry in 2 s",
        "API destination eb-demo-orders answered 200",
    ] {
        assert!(trace.contains(needle), "{needle}:\n{trace}");
    }
    let last = trace.lines().last().unwrap();
    assert!(last.trim_start().starts_with("3.0"), "{trace}");
    assert_eq!(world.events.pending_deliveries(), 0);
    assert_eq!(world.events.queued_deliveries(), 0);
}

/// An event still waiting for its API destination's slot when its target's
/// `MaximumEventAgeInSeconds` has passed is not sent ("some events may not be delivered within
/// the … retry window", API_CreateApiDestination.html): at 1 invocation a second and a 60 s
/// window, of 70 events put at once the first 60 are delivered and the rest are logged as
/// failed without an attempt (`VPCGATE_EVENT_AGE_EXCEEDED`, README's fidelity notes).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_delivery_whose_slot_comes_after_its_maximum_event_age_is_not_sent() {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;
    use vpcgate::edge::{AuthMode, Edge};
    use vpcgate_tests::edge_call::json_call;

    let s = vpcgate_tests::scenario("eventbridge-rate-limit.json");
    let (model, world) = vpcgate_tests::world(&s);
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let host = format!("events.{}.amazonaws.com", model.region);
    let (_, targets) = json_call(
        &edge,
        &host,
        "AWSEvents.ListTargetsByRule",
        &json!({"Rule": "eb-demo-order-placed"}),
    )
    .await;
    let mut target = targets["Targets"][0].clone();
    assert_eq!(target["Id"], "orders-api", "{targets}");
    target["RetryPolicy"] = json!({"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 185});
    let (status, put) = json_call(
        &edge,
        &host,
        "AWSEvents.PutTargets",
        &json!({"Rule": "eb-demo-order-placed", "Targets": [target]}),
    )
    .await;
    assert_eq!(
        (status, put["FailedEntryCount"].clone()),
        (200, json!(0)),
        "{put}"
    );
    for call in 0..7 {
        put_ten_orders(&edge, &host, call).await;
    }
    let world = edge.world();
    tokio::time::sleep(Duration::from_secs(90)).await;
    let log: Vec<_> = world
        .events
        .deliveries()
        .iter()
        .map(|d| d.to_json())
        .collect();
    assert_eq!(log.len(), 70);
    let delivered = log.iter().filter(|d| d["Status"] == "DELIVERED").count();
    assert_eq!(
        delivered, 60,
        "slots at 0 … 59 s are within the 60 s window"
    );
    let aged = &log[69];
    assert_eq!(aged["ErrorCode"], "VPCGATE_EVENT_AGE_EXCEEDED", "{aged}");
    assert_eq!(aged["Attempts"], 0);
    assert_eq!(world.events.pending_deliveries(), 0);
}
