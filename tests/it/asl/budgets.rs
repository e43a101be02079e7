//! Issue 11, the ASL side: one hostile definition or input must not crash, stall or bloat the
//! process. Each test ran forever, panicked or grew memory before the budgets.

use super::common::ScriptedHandler;
use serde_json::json;
use std::time::Duration;
use vpcgate::asl::{
    ExecutionConfig, ExecutionStatus, ExecutionType, StateMachine, StopSignal, run, stop_channel,
};
use vpcgate::clock::Clock;

fn cfg() -> ExecutionConfig {
    ExecutionConfig {
        clock: Clock::at_unix(1_440_938_160),
        rng_seed: Some(1),
        ..ExecutionConfig::default()
    }
}

const PASS_CHOICE_LOOP: &str = r#"{"StartAt":"P","States":{
  "P":{"Type":"Pass","Next":"C"},
  "C":{"Type":"Choice","Choices":[{"Variable":"$.never","IsPresent":true,"Next":"End"}],"Default":"P"},
  "End":{"Type":"Succeed"}}}"#;

fn wait_loop(seconds: u64) -> String {
    PASS_CHOICE_LOOP.replace(
        r#""Type":"Pass""#,
        &format!(r#""Type":"Wait","Seconds":{seconds}"#),
    )
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_path_past_the_cap_fails_instead_of_panicking() {
    for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::http:invoke", field: "$.t", "End": true}}});
        let m = StateMachine::parse(&def.to_string()).unwrap();
        let h = ScriptedHandler::default();
        let out = run(&m, json!({"t": 1e20}), cfg(), &h, StopSignal::never()).await;
        assert_eq!(out.status, ExecutionStatus::Failed, "{field}");
        assert_eq!(out.error.as_deref(), Some("States.Runtime"));
        assert!(out.cause.unwrap().contains("99999999"));
    }
    let m = StateMachine::parse(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.t","End":true}}}"#,
    )
    .unwrap();
    let h = ScriptedHandler::default();
    let out = run(&m, json!({"t": 1e20}), cfg(), &h, StopSignal::never()).await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
}

/// service-quotas.html, "Maximum execution history size": 25,000 events, then the execution fails.
#[tokio::test(start_paused = true)]
async fn a_pass_choice_loop_fails_at_25000_history_events() {
    let m = StateMachine::parse(PASS_CHOICE_LOOP).unwrap();
    let h = ScriptedHandler::default();
    let out = run(&m, json!({}), cfg(), &h, StopSignal::never()).await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert!(out.cause.unwrap().contains("25000"));
    assert_eq!(out.history.len(), 25_001);
    assert_eq!(out.history.last().unwrap().event_type, "ExecutionFailed");
}

/// service-quotas.html, "Maximum execution time": one year for Standard.
#[tokio::test(start_paused = true)]
async fn a_standard_wait_loop_times_out_after_one_year() {
    let m = StateMachine::parse(&wait_loop(86400)).unwrap();
    let h = ScriptedHandler::default();
    let start = tokio::time::Instant::now();
    let out = run(&m, json!({}), cfg(), &h, StopSignal::never()).await;
    assert_eq!(out.status, ExecutionStatus::TimedOut);
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(start.elapsed(), Duration::from_secs(365 * 86400));
}

#[tokio::test(start_paused = true)]
async fn an_express_loop_times_out_after_five_minutes() {
    let m = StateMachine::parse(&wait_loop(7)).unwrap();
    let h = ScriptedHandler::default();
    let start = tokio::time::Instant::now();
    let config = ExecutionConfig {
        execution_type: ExecutionType::Express,
        ..cfg()
    };
    let out = run(&m, json!({}), config, &h, StopSignal::never()).await;
    assert_eq!(out.status, ExecutionStatus::TimedOut);
    assert_eq!(start.elapsed(), Duration::from_secs(300));
}

/// StopExecution answered but the loop never gave the stop signal a turn.
#[tokio::test(start_paused = true)]
async fn stop_ends_a_tight_pass_loop_and_history_is_live() {
    let m = std::sync::Arc::new(StateMachine::parse(PASS_CHOICE_LOOP).unwrap());
    let (stop, signal) = stop_channel();
    let config = ExecutionConfig {
        max_history_events: 0, // no cap: only the stop can end it
        ..cfg()
    };
    let live = config.history.clone();
    let mm = m.clone();
    let task = tokio::spawn(async move {
        let h = ScriptedHandler::default();
        run(&mm, json!({}), config, &h, signal).await
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let so_far = live.events();
    assert!(so_far.len() > 2, "events while running: {}", so_far.len());
    assert_eq!(so_far[0].event_type, "ExecutionStarted");
    stop.stop(Some("UserStop".into()), None);
    let out = task.await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Aborted);
    assert_eq!(out.history.last().unwrap().event_type, "ExecutionAborted");
}

// --- The same budgets through the Step Functions API of `vpcgate serve` -------------------

use serde_json::Value;
use std::sync::Arc;
use vpcgate::edge::wire::JsonError;
use vpcgate::edge::{AuthMode, Edge, sfn_api};
use vpcgate::iam::Principal;

fn edge() -> (Arc<Edge>, String) {
    let (model, world) = vpcgate_tests::world(&vpcgate_tests::scenario("pattern-a.json"));
    (
        Arc::new(Edge::new(world, AuthMode::Off)),
        model.roles[0].arn.clone(),
    )
}

async fn call(edge: &Arc<Edge>, op: &str, input: Value) -> Result<Value, JsonError> {
    let root = Principal::Root {
        account: "123456789012".into(),
    };
    let scope = vpcgate::edge::Scope::of_world(&edge.world());
    sfn_api::call(&edge.call_as(root, scope), op, input).await
}

async fn create(edge: &Arc<Edge>, role: &str, name: &str, kind: &str, def: &str) -> String {
    let out = call(
        edge,
        "CreateStateMachine",
        json!({"name": name, "definition": def, "roleArn": role, "type": kind}),
    )
    .await
    .unwrap();
    out["stateMachineArn"].as_str().unwrap().to_string()
}

#[tokio::test(start_paused = true)]
async fn api_stop_execution_ends_a_pass_loop_and_history_shows_while_running() {
    let (edge, role) = edge();
    let sm = create(&edge, &role, "loop", "STANDARD", PASS_CHOICE_LOOP).await;
    let out = call(&edge, "StartExecution", json!({"stateMachineArn": sm}))
        .await
        .unwrap();
    let arn = json!(out["executionArn"]);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let d = call(&edge, "DescribeExecution", json!({"executionArn": arn}))
        .await
        .unwrap();
    assert_eq!(d["status"], "RUNNING");
    let h = call(&edge, "GetExecutionHistory", json!({"executionArn": arn}))
        .await
        .unwrap();
    let events = h["events"].as_array().unwrap();
    assert!(events.len() > 2, "history while running: {h}");
    assert_eq!(events[0]["type"], "ExecutionStarted");
    call(&edge, "StopExecution", json!({"executionArn": arn}))
        .await
        .unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        tokio::task::yield_now().await;
        let d = call(&edge, "DescribeExecution", json!({"executionArn": arn}))
            .await
            .unwrap();
        status = d["status"].clone();
        if status != "RUNNING" {
            break;
        }
    }
    assert_eq!(status, "ABORTED");
}

#[tokio::test(start_paused = true)]
async fn api_express_executions_are_not_kept_after_they_end() {
    let (edge, role) = edge();
    let sm = create(
        &edge,
        &role,
        "fast",
        "EXPRESS",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let out = call(&edge, "StartExecution", json!({"stateMachineArn": sm}))
        .await
        .unwrap();
    let arn = out["executionArn"].as_str().unwrap().to_string();
    for _ in 0..100 {
        if edge.call_as_root().state.executions.get(&arn).is_none() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let e = call(&edge, "DescribeExecution", json!({"executionArn": arn}))
        .await
        .unwrap_err();
    assert_eq!(e.code, "ExecutionDoesNotExist");
}

/// API_StartExecution.html / API_TestState.html: `input` has a maximum length of 262144.
#[tokio::test(start_paused = true)]
async fn api_input_over_256_kib_is_a_validation_error() {
    let (edge, role) = edge();
    let pass = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let std_sm = create(&edge, &role, "std", "STANDARD", pass).await;
    let exp_sm = create(&edge, &role, "exp", "EXPRESS", pass).await;
    let string_of = |n: usize| format!("\"{}\"", "a".repeat(n - 2));
    for (op, sm) in [("StartExecution", &std_sm), ("StartSyncExecution", &exp_sm)] {
        let e = call(
            &edge,
            op,
            json!({"stateMachineArn": sm, "input": string_of(262_145)}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, "ValidationException", "{op}");
        assert!(e.message.contains("262144"));
        call(
            &edge,
            op,
            json!({"stateMachineArn": sm, "input": string_of(262_144)}),
        )
        .await
        .unwrap();
    }
    let e = call(
        &edge,
        "TestState",
        json!({"definition": r#"{"Type":"Pass","End":true}"#, "roleArn": role, "input": string_of(262_145)}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "ValidationException");
}

/// The ~1 KB requests that aborted the process: now an invalid definition or a
/// `States.QueryEvaluationError`.
#[tokio::test(start_paused = true)]
async fn api_deep_jsonata_is_an_error_not_a_crash() {
    let (edge, role) = edge();
    let deep = format!("{{% {}1{} %}}", "(".repeat(1_000), ")".repeat(1_000));
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": deep, "End": true}}});
    let e = call(
        &edge,
        "CreateStateMachine",
        json!({"name": "deep", "definition": def.to_string(), "roleArn": role}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "InvalidDefinition");
    let rec = "{% ( $s := function($n){ $n = 0 ? 0 : $n + $s($n - 1) }; $s(5000) ) %}";
    let state = json!({"QueryLanguage": "JSONata", "Type": "Pass", "Output": rec, "End": true});
    let out = call(
        &edge,
        "TestState",
        json!({"definition": state.to_string(), "roleArn": role}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.QueryEvaluationError");
}
