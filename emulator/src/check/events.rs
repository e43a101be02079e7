//! `vpcgate check`'s PutEvents cases: put the entries on the scenario's EventBridge, wait for
//! every delivery (retries run on the paused clock), and check what came out.
//!
//! The case's output is PutEvents' answer plus `Deliveries` (one per rule target:
//! [`crate::events::target::DeliveryRecord::to_json`], with the `Execution` a state machine
//! target ran); `Status` is `DELIVERED` (all delivered), `FAILED` (one failed) or `NOT_MATCHED`
//! (no rule matched); `Error`/`Cause` are the first failure's `ErrorCode`/`ErrorMessage`;
//! `StatusCode`/`BodyContains` read the first API destination's answer.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::{CaseOutcome, Observed, check_observed, check_time_and_trace};
use crate::events::target::{DeliveryResult, ExecutionStarter, deliver};
use crate::scenario::Case;
use crate::sfn::execution::{ExecutionRecord, Executions, status_name};
use crate::trace::Trace;
use crate::world::World;

/// Runs the scenario's state machines to their end and keeps their records.
struct CheckStarter {
    world: World,
    executions: Executions,
    records: Mutex<Vec<ExecutionRecord>>,
    trace: Trace,
}

#[async_trait::async_trait]
impl ExecutionStarter for CheckStarter {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: Value,
    ) -> Result<String, (String, String)> {
        let world = &self.world;
        let sm = world
            .model
            .state_machine(state_machine_arn)
            .ok_or_else(|| {
                (
                    "StateMachineDoesNotExist".to_string(),
                    format!("State Machine Does Not Exist: '{state_machine_arn}'"),
                )
            })?;
        let record = self
            .executions
            .run_sync(world, sm, input, None)
            .await
            .map_err(|e| ("StartExecution".to_string(), e.to_string()))?;
        let arn = record.arn.clone();
        if let Some(o) = &record.outcome {
            self.trace.info(
                "sfn",
                format!(
                    "execution {arn} ends {}{}",
                    status_name(o.status),
                    o.error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            );
        }
        self.records.lock().expect("lock").push(record);
        Ok(arn)
    }
}

fn failed(file: &str, case: &Case, why: String) -> CaseOutcome {
    CaseOutcome {
        scenario: file.to_string(),
        case: case.name.clone(),
        passed: false,
        failures: vec![why],
        summary: "bad case".into(),
        elapsed: std::time::Duration::ZERO,
        trace: Trace::disabled(),
        result: Value::Null,
    }
}

/// Runs one PutEvents case.
pub(crate) async fn run(file: &str, world: &World, case: &Case, spec: &Value) -> CaseOutcome {
    let begin = tokio::time::Instant::now();
    let entries = spec
        .get("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut answer, matched) = match world.events.put_events(
        &world.model.region,
        &world.model.account,
        &entries,
        world.clock.now(),
    ) {
        Ok(r) => r,
        Err(e) => {
            let w = e.wire();
            return failed(
                file,
                case,
                format!("PutEvents refused: {}: {}", w.code, w.message),
            );
        }
    };
    let trace = Trace::new();
    trace.info(
        "events",
        format!(
            "PutEvents: {} entries, {} failed, {} deliveries",
            entries.len(),
            answer["FailedEntryCount"],
            matched.len()
        ),
    );
    let starter = CheckStarter {
        world: world.clone(),
        executions: Executions::new(),
        records: Mutex::new(Vec::new()),
        trace: trace.clone(),
    };
    let mut deliveries = Vec::new();
    for m in &matched {
        deliveries.push(deliver(world, Some(&starter), m, &trace).await);
    }
    let elapsed = begin.elapsed();
    let records = starter.records.lock().expect("lock").clone();
    let shown: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            let mut v = d.to_json();
            if let DeliveryResult::Delivered {
                execution_arn: Some(arn),
                ..
            } = &d.result
                && let Some(r) = records.iter().find(|r| &r.arn == arn)
                && let Some(o) = &r.outcome
            {
                v["Execution"] =
                    json!({"Status": status_name(o.status), "Output": o.output, "Error": o.error});
            }
            v
        })
        .collect();
    answer["Deliveries"] = json!(shown);
    let first_failure = deliveries.iter().find_map(|d| match &d.result {
        DeliveryResult::Failed { code, message, .. } => Some((code.clone(), message.clone())),
        _ => None,
    });
    let status = if deliveries.is_empty() {
        "NOT_MATCHED"
    } else if first_failure.is_some() {
        "FAILED"
    } else {
        "DELIVERED"
    };
    let (status_code, body) = deliveries
        .iter()
        .find_map(|d| match &d.result {
            DeliveryResult::Delivered {
                status: Some(s),
                body,
                ..
            } => Some((Some(*s), body.clone())),
            DeliveryResult::Failed {
                status: Some(s), ..
            } => Some((Some(*s), None)),
            _ => None,
        })
        .unwrap_or((None, None));
    let (error, cause) = first_failure.unwrap_or_default();
    let mut failures = Vec::new();
    check_observed(
        &case.expect,
        &Observed {
            status: Some(status),
            output: Some(&answer),
            error: Some(&error),
            cause: Some(&cause),
            status_code,
            body: body.as_deref(),
            ..Observed::default()
        },
        world,
        &mut failures,
    );
    check_time_and_trace(&case.expect, elapsed, &trace, &mut failures);
    CaseOutcome {
        scenario: file.to_string(),
        case: case.name.clone(),
        passed: failures.is_empty(),
        failures,
        summary: if error.is_empty() {
            status.to_string()
        } else {
            format!("{status} {error}")
        },
        elapsed,
        trace,
        result: answer,
    }
}
