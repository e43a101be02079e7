//! Step Functions' Map Run operations (Distributed Map): DescribeMapRun, ListMapRuns,
//! UpdateMapRun, and ListExecutions of a Map Run's child executions (`mapRunArn`)
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html>,
//! API_ListMapRuns.html, API_UpdateMapRun.html, API_ListExecutions.html). Shapes AWS-recorded in
//! LocalStack's test_sfn_api_map_run.snapshot.json (test_list_map_runs_and_describe_map_run).

use serde_json::{Map, Value, json};

use super::Call;
use super::sfn_api::{check_arn, field, no_execution};
use super::sfn_error::{Rule, Shown, StepFunctionsError as E};
use super::wire::epoch;
use crate::sfn::execution::ExecutionRecord;
use crate::sfn::map_run::MapRunRecord;

/// The operations this module answers.
pub const OPERATIONS: &[&str] = &["DescribeMapRun", "ListMapRuns", "UpdateMapRun"];

/// Dispatches one Map Run operation.
pub fn call(c: &Call<'_>, op: &str, input: &Value) -> Result<Value, E> {
    match op {
        "DescribeMapRun" => describe_map_run(c, input),
        "ListMapRuns" => list_map_runs(c, input),
        "UpdateMapRun" => update_map_run(c, input),
        other => Err(E::UnknownOperation {
            op: other.to_string(),
        }),
    }
}

fn map_run(c: &Call<'_>, arn: &str) -> Result<MapRunRecord, E> {
    check_arn(arn, "mapRun")?;
    c.state
        .executions
        .map_runs
        .get(arn)
        .ok_or_else(|| E::MapRunNotFound {
            arn: arn.to_string(),
        })
}

/// DescribeMapRun: status, dates, the run's settings (0 when not set) and the item and
/// child-execution counts.
fn describe_map_run(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "mapRunArn")?;
    let r = map_run(c, arn)?;
    c.authorize("states:DescribeMapRun", arn)?;
    let s = r.control.state();
    let mut out = Map::new();
    out.insert("mapRunArn".into(), json!(r.info.map_run_arn));
    out.insert("executionArn".into(), json!(r.info.execution_arn));
    out.insert("status".into(), json!(s.status.as_str()));
    out.insert("startDate".into(), epoch(r.info.start_date));
    if let Some(d) = s.stop_date {
        out.insert("stopDate".into(), epoch(d));
    }
    out.insert("maxConcurrency".into(), json!(s.max_concurrency));
    out.insert(
        "toleratedFailurePercentage".into(),
        json!(s.tolerated_failure_percentage.unwrap_or(0.0)),
    );
    out.insert(
        "toleratedFailureCount".into(),
        json!(s.tolerated_failure_count.unwrap_or(0)),
    );
    out.insert("itemCounts".into(), s.items.to_json());
    out.insert("executionCounts".into(), s.executions.to_json());
    Ok(Value::Object(out))
}

/// ListMapRuns: the Map Runs an execution started, newest first.
fn list_map_runs(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "executionArn")?;
    check_arn(arn, "execution")?;
    if c.state.executions.get(arn).is_none() {
        return Err(no_execution(arn));
    }
    c.authorize("states:ListMapRuns", arn)?;
    let runs: Vec<Value> = c
        .state
        .executions
        .map_runs
        .of_execution(arn)
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("executionArn".into(), json!(r.info.execution_arn));
            m.insert("mapRunArn".into(), json!(r.info.map_run_arn));
            m.insert("stateMachineArn".into(), json!(r.info.state_machine_arn));
            m.insert("startDate".into(), epoch(r.info.start_date));
            if let Some(d) = r.control.state().stop_date {
                m.insert("stopDate".into(), epoch(d));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json!({"mapRuns": runs}))
}

/// A number field of UpdateMapRun, checked against its range with the SDK model's wording.
fn number(input: &Value, name: &str, max: Option<f64>) -> Result<Option<f64>, E> {
    let Some(v) = input.get(name) else {
        return Ok(None);
    };
    let Some(n) = v.as_f64() else {
        return Err(E::invalid(name, Shown::Omitted, Rule::Number));
    };
    if n < 0.0 {
        return Err(E::invalid(
            name,
            Shown::Value(v.to_string()),
            Rule::AtLeast(0.0),
        ));
    }
    if let Some(m) = max
        && n > m
    {
        return Err(E::invalid(
            name,
            Shown::Value(v.to_string()),
            Rule::AtMost(m),
        ));
    }
    Ok(Some(n))
}

/// UpdateMapRun: a running Map Run takes the new MaxConcurrency at once (more children start)
/// and the new thresholds at the next child that ends.
fn update_map_run(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "mapRunArn")?;
    let max_concurrency = number(input, "maxConcurrency", None)?;
    let count = number(input, "toleratedFailureCount", None)?;
    let pct = number(input, "toleratedFailurePercentage", Some(100.0))?;
    let r = map_run(c, arn)?;
    c.authorize("states:UpdateMapRun", arn)?;
    r.control.update(
        max_concurrency.map(|n| n as u64),
        count.map(|n| n as u64),
        pct,
    );
    Ok(json!({}))
}

/// ListExecutions with `mapRunArn`: the Map Run's child executions, newest first (as
/// ListExecutions lists a state machine's); `statusFilter` applies.
pub fn list_child_executions(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    if input.get("stateMachineArn").is_some() {
        return Err(E::StateMachineAndMapRun);
    }
    let arn = field(input, "mapRunArn")?;
    let r = map_run(c, arn)?;
    c.authorize("states:ListExecutions", &r.info.state_machine_arn)?;
    let filter = input.get("statusFilter").and_then(Value::as_str);
    let list: Vec<Value> = c
        .state
        .executions
        .map_runs
        .children_of(arn)
        .iter()
        .filter(|r| filter.is_none_or(|f| f == r.status()))
        .map(list_item)
        .collect();
    Ok(json!({"executions": list}))
}

fn list_item(r: &ExecutionRecord) -> Value {
    let mut m = super::sfn_api::execution_list_item(r);
    if let Some(a) = &r.map_run_arn {
        m.insert("mapRunArn".into(), json!(a));
    }
    Value::Object(m)
}
