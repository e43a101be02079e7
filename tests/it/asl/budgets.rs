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
