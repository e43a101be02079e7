//! RedriveExecution of a failed Parallel or Map: only the branches / iterations that did not
//! succeed run again (API_RedriveExecution.html: "For workflows that include an Inline Map or
//! Parallel state, RedriveExecution API action reschedules and redrives only the iterations and
//! branches that failed or aborted"), and the redrive window and limits on the virtual clock.

use super::common::ScriptedHandler;
use serde_json::{Value, json};
use std::time::Duration;
use vpcgate::asl::{ExecutionConfig, ExecutionOutcome, StateMachine, StopSignal, run};
use vpcgate::clock::Clock;
use vpcgate::model::{StateMachine as Machine, StateMachineType};
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::sfn::execution::{Executions, RedriveError};
use vpcgate::world::World;

const BASE_TIME: u64 = 1_440_938_160;

fn config() -> ExecutionConfig {
    ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(7),
        ..ExecutionConfig::default()
    }
}

/// Runs, then redrives once from the failure; returns both outcomes.
async fn run_and_redrive(
    definition: &Value,
    input: Value,
    h: &ScriptedHandler,
) -> (ExecutionOutcome, ExecutionOutcome) {
    let machine = StateMachine::parse(&definition.to_string()).unwrap();
    let first = run(&machine, input.clone(), config(), h, StopSignal::never()).await;
    assert_eq!(first.status.as_str(), "FAILED", "{:?}", first.output);
    let point = first.redrive_point.clone().expect("redrivable");
    let cfg = ExecutionConfig {
        redrive_count: 1,
        redrive_from: Some(point.clone()),
        ..config()
    };
    let second = run(&machine, point.input.clone(), cfg, h, StopSignal::never()).await;
    (first, second)
}

fn types_after_redrive(o: &ExecutionOutcome) -> Vec<String> {
    let at = o
        .history
        .iter()
        .position(|e| e.event_type == "ExecutionRedriven")
        .expect("redriven");
    o.history[at + 1..]
        .iter()
        .map(|e| e.event_type.to_string())
        .collect()
}

/// A Parallel whose second branch fails: the redrive runs that branch only; the first
/// branch's output is the one it had.
#[tokio::test(start_paused = true)]
async fn redrive_runs_only_the_failed_parallel_branch() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true}}}
    ]}}});
    let h = ScriptedHandler::new(json!({
        "A": [{"result": "a"}],
        "B": [{"delay": 1, "error": "Flaky"}, {"result": "b"}],
    }));
    let (first, second) = run_and_redrive(&def, json!({}), &h).await;
    assert_eq!(first.error.as_deref(), Some("Flaky"));
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(second.output, Some(json!(["a", "b"])));
    assert_eq!((h.count("A"), h.count("B")), (1, 2));
    let t = types_after_redrive(&second);
    assert_eq!(
        t.iter().filter(|e| *e == "TaskStateEntered").count(),
        1,
        "{t:?}"
    );
}

/// An inline Map whose second iteration fails: the redrive runs the iterations that did not
/// succeed (the failed one and the one never started), not the first.
#[tokio::test(start_paused = true)]
async fn redrive_runs_only_the_unsuccessful_map_iterations() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true}}}}}});
    let h = ScriptedHandler::new(json!({
        "W": [{"result": 10}, {"error": "Flaky"}, {"result": 20}, {"result": 30}],
    }));
    let (_, second) = run_and_redrive(&def, json!([1, 2, 3]), &h).await;
    assert_eq!(second.output, Some(json!([10, 20, 30])));
    assert_eq!(h.count("W"), 4);
    let t = types_after_redrive(&second);
    assert_eq!(
        t.iter().filter(|e| *e == "MapIterationStarted").count(),
        2,
        "{t:?}"
    );
}

/// A Distributed Map whose Map Run failed: the parent's redrive starts a Map Run that runs only
/// the unsuccessful children (redrive-map-run.html).
#[tokio::test(start_paused = true)]
async fn redrive_runs_only_the_unsuccessful_children_of_a_map_run() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true}}}}}});
    let h = ScriptedHandler::new(json!({
        "W": [{"result": 10}, {"error": "Flaky"}, {"result": 20}, {"result": 30}],
    }));
    let (first, second) = run_and_redrive(&def, json!([1, 2, 3]), &h).await;
    assert_eq!(
        first.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(second.output, Some(json!([10, 20, 30])));
    assert_eq!(h.count("W"), 4);
}

/// The pattern-a world on a clock that tokio's (paused) clock advances.
fn world() -> World {
    let path = vpcgate_tests::scenarios_dir().join("pattern-a.json");
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    World::build(model, Clock::at_unix(BASE_TIME)).unwrap()
}

fn failing_machine() -> Machine {
    Machine {
        logical_id: "F".into(),
        name: "fails".into(),
        arn: "arn:aws:states:us-east-1:123456789012:stateMachine:fails".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        definition: json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
            .to_string(),
        kind: StateMachineType::Standard,
    }
}

/// API_RedriveExecution.html: only executions that ended in the last 14 days may be redriven;
/// past that DescribeExecution says "Execution redrivable period exceeded." (a reason
/// API_DescribeExecution.html lists) and RedriveExecution refuses with it. The window runs on
/// the world's virtual clock.
#[tokio::test(start_paused = true)]
async fn redrive_window_is_fourteen_days() {
    let world = world();
    let sm = failing_machine();
    let store = std::sync::Arc::new(Executions::new());
    let (arn, _) = store
        .start(&world, &sm, json!({}), Some("x".into()))
        .unwrap();
    store.wait_ended(&arn).await.unwrap();
    tokio::time::advance(Duration::from_secs(14 * 24 * 3600)).await;
    assert_eq!(
        store.redrive_status(&arn, world.clock.now()),
        ("REDRIVABLE", None)
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    let reason = "Execution redrivable period exceeded.".to_string();
    assert_eq!(
        store.redrive_status(&arn, world.clock.now()),
        ("NOT_REDRIVABLE", Some(reason.clone()))
    );
    assert_eq!(
        store.redrive(&world, &sm, &arn),
        Err(RedriveError::NotRedrivable(reason))
    );
}
