//! Execution semantics on tokio's paused clock: Retry back-off, jitter, Wait, timeouts,
//! StopExecution, history shape, TestState, and `Send`-ness of the execution future.

use super::common::ScriptedHandler;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vpcgate::asl::{
    ExecutionConfig, ExecutionStatus, InspectionLevel, StateMachine, StatesError, StopSignal,
    TaskHandler, TaskInvocation, TestStateOptions, TestStateStatus, run, stop_channel, test_state,
};
use vpcgate::clock::Clock;

const BASE_TIME: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z

fn cfg(seed: u64) -> ExecutionConfig {
    ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(seed),
        ..ExecutionConfig::default()
    }
}

/// Fails every call and records the virtual time of each attempt.
struct AlwaysFails {
    origin: tokio::time::Instant,
    at: Mutex<Vec<f64>>,
    attempts: Mutex<Vec<u32>>,
}

impl AlwaysFails {
    fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            at: Mutex::new(vec![]),
            attempts: Mutex::new(vec![]),
        }
    }
}

impl TaskHandler for AlwaysFails {
    fn invoke<'a>(
        &'a self,
        call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>> {
        Box::pin(async move {
            self.at
                .lock()
                .unwrap()
                .push(self.origin.elapsed().as_secs_f64());
            self.attempts.lock().unwrap().push(call.attempt);
            assert_eq!(call.context["State"]["RetryCount"], json!(call.attempt));
            Err(StatesError::new("Flaky", "always"))
        })
    }
}

fn retry_machine(retrier: Value) -> StateMachine {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true, "Retry": [retrier]}}});
    StateMachine::parse(&def.to_string()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_attempts_at_0_1_3_7() {
    // IntervalSeconds 1, BackoffRate 2, MaxAttempts 3 -> waits 1, 2, 4
    // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    let m = retry_machine(
        json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}),
    );
    let h = AlwaysFails::new();
    let out = run(&m, json!({}), cfg(1), &h, StopSignal::never()).await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Flaky"));
    assert_eq!(*h.at.lock().unwrap(), vec![0.0, 1.0, 3.0, 7.0]);
    assert_eq!(*h.attempts.lock().unwrap(), vec![0, 1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn retry_max_delay_caps_the_interval() {
    let m = retry_machine(
        json!({"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 5}),
    );
    let h = AlwaysFails::new();
    run(&m, json!({}), cfg(1), &h, StopSignal::never()).await;
    assert_eq!(*h.at.lock().unwrap(), vec![0.0, 1.0, 6.0, 11.0]);
}

#[tokio::test(start_paused = true)]
async fn retry_full_jitter_stays_within_bounds_and_is_seeded() {
    let m = retry_machine(
        json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 4, "BackoffRate": 2, "MaxAttempts": 4, "JitterStrategy": "FULL"}),
    );
    let mut runs = vec![];
    for _ in 0..2 {
        let h = AlwaysFails::new();
        run(&m, json!({}), cfg(42), &h, StopSignal::never()).await;
        let at = h.at.lock().unwrap().clone();
        assert_eq!(at.len(), 5);
        for k in 1..at.len() {
            let wait = at[k] - at[k - 1];
            let cap = 4.0 * 2f64.powi(k as i32 - 1);
            assert!(
                (0.0..=cap + 1e-6).contains(&wait),
                "wait {k} = {wait}, cap {cap}"
            );
        }
        runs.push(at);
    }
    assert_eq!(runs[0], runs[1], "same seed, same jitter");
    let h = AlwaysFails::new();
    run(&m, json!({}), cfg(43), &h, StopSignal::never()).await;
    assert_ne!(*h.at.lock().unwrap(), runs[0], "another seed, other jitter");
}

#[tokio::test(start_paused = true)]
async fn wait_one_hour_runs_on_virtual_time() {
    // Under a paused clock tokio auto-advances: this test finishes in milliseconds of wall
    // time (see the suite's timing) while an hour passes on the execution's clock.
    let m = StateMachine::parse(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","Parameters":{"t.$":"$$.State.EnteredTime"},"End":true}}}"#).unwrap();
    let h = ScriptedHandler::default();
    let start = tokio::time::Instant::now();
    let out = run(&m, json!({}), cfg(1), &h, StopSignal::never()).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert_eq!(out.output, Some(json!({"t": "2015-08-30T13:36:00.000Z"})));
}

#[tokio::test(start_paused = true)]
async fn stop_execution_aborts() {
    let m = Arc::new(
        StateMachine::parse(
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#,
        )
        .unwrap(),
    );
    let (stop, signal) = stop_channel();
    let mm = m.clone();
    // The execution future is Send: it can be spawned.
    let task = tokio::spawn(async move {
        let h = ScriptedHandler::default();
        run(&mm, json!({}), cfg(1), &h, signal).await
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.stop(Some("UserStop".into()), Some("stopped by test".into()));
    let out = task.await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Aborted);
    assert_eq!(out.error.as_deref(), Some("UserStop"));
    let last = out.history.last().unwrap().to_json();
    assert_eq!(last["type"], "ExecutionAborted");
    assert_eq!(
        last["executionAbortedEventDetails"],
        json!({"error": "UserStop", "cause": "stopped by test"})
    );
    assert_eq!(
        out.stop_date.duration_since(out.start_date).unwrap(),
        Duration::from_secs(10)
    );
}

#[tokio::test(start_paused = true)]
async fn history_has_get_execution_history_shape() {
    let def = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSeconds": 60,
        "Parameters": {"ApiEndpoint": "https://example.com", "Method": "GET"}, "End": true}}});
    let m = StateMachine::parse(&def.to_string()).unwrap();
    let h = ScriptedHandler::new(json!({"Call": [{"result": {"StatusCode": 200}}]}));
    let out = run(&m, json!({"a": 1}), cfg(1), &h, StopSignal::never()).await;
    let ev = out.history_json();
    let types: Vec<&str> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, e) in ev.as_array().unwrap().iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert_eq!(e["previousEventId"], json!(i));
        assert_eq!(e["timestamp"], json!(1_440_938_160.0));
    }
    assert_eq!(
        ev[0]["executionStartedEventDetails"],
        json!({"input": "{\"a\":1}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/vpcgate"})
    );
    assert_eq!(
        ev[1]["stateEnteredEventDetails"],
        json!({"name": "Call", "input": "{\"a\":1}", "inputDetails": {"truncated": false}})
    );
    assert_eq!(
        ev[2]["taskScheduledEventDetails"],
        json!({"resourceType": "http", "resource": "invoke", "region": "us-east-1",
        "parameters": "{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"GET\"}", "timeoutInSeconds": 60})
    );
    assert_eq!(
        ev[3]["taskStartedEventDetails"],
        json!({"resourceType": "http", "resource": "invoke"})
    );
    assert_eq!(
        ev[4]["taskSucceededEventDetails"],
        json!({"resourceType": "http", "resource": "invoke", "output": "{\"StatusCode\":200}", "outputDetails": {"truncated": false}})
    );
    assert_eq!(
        ev[5]["stateExitedEventDetails"],
        json!({"name": "Call", "output": "{\"StatusCode\":200}", "outputDetails": {"truncated": false}})
    );
    assert_eq!(
        ev[6]["executionSucceededEventDetails"],
        json!({"output": "{\"StatusCode\":200}", "outputDetails": {"truncated": false}})
    );
}

#[tokio::test(start_paused = true)]
async fn history_apigateway_and_parallel_threads() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}});
    let m = StateMachine::parse(&def.to_string()).unwrap();
    let h = ScriptedHandler::default();
    let out = run(&m, json!({}), cfg(1), &h, StopSignal::never()).await;
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    let ev = out.history_json();
    let ev = ev.as_array().unwrap();
    let started = ev
        .iter()
        .find(|e| e["type"] == "ParallelStateStarted")
        .unwrap()["id"]
        .clone();
    let entered: Vec<&Value> = ev
        .iter()
        .filter(|e| e["type"] == "TaskStateEntered" || e["type"] == "PassStateEntered")
        .collect();
    assert_eq!(entered.len(), 2);
    for e in entered {
        assert_eq!(
            e["previousEventId"], started,
            "each branch starts from ParallelStateStarted"
        );
    }
    let sched = ev.iter().find(|e| e["type"] == "TaskScheduled").unwrap();
    assert_eq!(
        sched["taskScheduledEventDetails"]["resourceType"],
        "apigateway"
    );
    assert_eq!(sched["taskScheduledEventDetails"]["resource"], "invoke");
}

#[tokio::test(start_paused = true)]
async fn any_resource_string_goes_to_the_handler() {
    for r in [
        "",
        "x",
        "arn",
        "arn:aws",
        "arn:aws:states:::",
        "arn:aws:states:::a:b:c:d",
        ":::::::",
        "arn:aws:lambda:eu-west-1:1:function:f",
        "🦀",
    ] {
        let def =
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": r, "End": true}}});
        match StateMachine::parse(&def.to_string()) {
            Ok(m) => {
                let h = ScriptedHandler::default();
                let out = run(&m, json!({"k": 1}), cfg(1), &h, StopSignal::never()).await;
                assert_eq!(out.output, Some(json!({"k": 1})), "resource {r:?}");
            }
            Err(e) => assert!(r.is_empty(), "resource {r:?} rejected: {e}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn test_state_debug_inspection() {
    let def = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "InputPath": "$.payload",
        "Parameters": {"data.$": "$.data"}, "ResultSelector": {"code.$": "$.StatusCode"}, "ResultPath": "$.result", "Next": "NextState"});
    let h = ScriptedHandler::new(json!({"TestState": [{"result": {"StatusCode": 200}}]}));
    let out = test_state(
        &def.to_string(),
        json!({"payload": {"data": 1}}),
        TestStateOptions {
            inspection_level: InspectionLevel::Debug,
            config: cfg(1),
            ..Default::default()
        },
        &h,
    )
    .await
    .unwrap();
    assert_eq!(out.status, TestStateStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("NextState"));
    assert_eq!(
        out.output,
        Some(json!({"payload": {"data": 1}, "result": {"code": 200}}))
    );
    let d = out.inspection_data.clone().unwrap();
    assert_eq!(d["input"], "{\"payload\":{\"data\":1}}");
    assert_eq!(d["afterInputPath"], "{\"data\":1}");
    assert_eq!(d["afterParameters"], "{\"data\":1}");
    assert_eq!(d["result"], "{\"StatusCode\":200}");
    assert_eq!(d["afterResultSelector"], "{\"code\":200}");
    assert_eq!(
        d["afterResultPath"],
        "{\"payload\":{\"data\":1},\"result\":{\"code\":200}}"
    );
    assert_eq!(out.to_json()["status"], "SUCCEEDED");
}

#[tokio::test(start_paused = true)]
async fn test_state_retriable_caught_failed() {
    let h = ScriptedHandler::new(json!({"TestState": [{"error": "Boom", "cause": "c"}]}));
    let base = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true});
    let opts = || TestStateOptions {
        inspection_level: InspectionLevel::Debug,
        config: cfg(1),
        ..Default::default()
    };

    let mut d = base.clone();
    d["Retry"] = json!([{"ErrorEquals": ["Boom"], "IntervalSeconds": 3}]);
    d["Catch"] = json!([{"ErrorEquals": ["Boom"], "Next": "Handler"}]);
    let out = test_state(&d.to_string(), json!({}), opts(), &h)
        .await
        .unwrap();
    assert_eq!(out.status, TestStateStatus::Retriable);
    assert_eq!(
        out.inspection_data.unwrap()["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 3})
    );

    let mut d = base.clone();
    d["Catch"] = json!([{"ErrorEquals": ["Other"], "Next": "X"}, {"ErrorEquals": ["States.ALL"], "Next": "Handler"}]);
    let out = test_state(&d.to_string(), json!({}), opts(), &h)
        .await
        .unwrap();
    assert_eq!(out.status, TestStateStatus::CaughtError);
    assert_eq!(out.next_state.as_deref(), Some("Handler"));
    assert_eq!(out.output, Some(json!({"Error": "Boom", "Cause": "c"})));
    assert_eq!(
        out.inspection_data.unwrap()["errorDetails"],
        json!({"catchIndex": 1})
    );

    let out = test_state(&base.to_string(), json!({}), opts(), &h)
        .await
        .unwrap();
    assert_eq!(out.status, TestStateStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Boom"));
}

#[tokio::test(start_paused = true)]
async fn test_state_jsonata_variables() {
    let def = json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"total": "{% $base + $states.input.n %}"}, "Output": {"n": "{% $states.input.n %}"}, "End": true});
    let mut vars = serde_json::Map::new();
    vars.insert("base".into(), json!(10));
    let out = test_state(
        &def.to_string(),
        json!({"n": 5}),
        TestStateOptions {
            inspection_level: InspectionLevel::Debug,
            variables: vars,
            config: cfg(1),
            ..Default::default()
        },
        &ScriptedHandler::default(),
    )
    .await
    .unwrap();
    assert_eq!(out.output, Some(json!({"n": 5})));
    assert_eq!(
        out.inspection_data.unwrap()["variables"],
        "{\"base\":10,\"total\":15}"
    );
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = StateMachine::parse("{\n  \"StartAt\": \"A\",\n  \"States\": {,}\n}").unwrap_err();
    let s = err.to_string();
    assert!(
        s.starts_with("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION:"),
        "{s}"
    );
    assert!(s.contains("(line 3, column 14)"), "{s}");
}

#[test]
fn execution_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let m = StateMachine::parse(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .unwrap();
    let h = ScriptedHandler::default();
    let fut = run(
        &m,
        json!({}),
        ExecutionConfig::default(),
        &h,
        StopSignal::never(),
    );
    assert_send(&fut);
}
