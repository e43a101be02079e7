//! `vpcgate check`: run scenarios and compare what comes out with what they expect.
//!
//! Each case runs in a fresh world on a paused tokio clock, so a 60-second time-out takes no wall
//! time and elapsed times are exact. A scenario that expects a load error passes when loading
//! fails with an error naming the expected logical id and property path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::clock::Clock;
use crate::scenario::{Case, Scenario, ScenarioErrors, StackLinks};
use crate::sfn::execution::{Executions, Start, status_name};
use crate::trace::Trace;
use crate::world::World;

mod events;
pub mod request;

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    /// The scenario file.
    pub scenario: String,
    /// The case name.
    pub case: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// What differed.
    pub failures: Vec<String>,
    /// What happened, in one line (status, error).
    pub summary: String,
    /// Virtual time the case took.
    pub elapsed: Duration,
    /// The hop-by-hop trace.
    pub trace: Trace,
    /// The execution's output (or error) as JSON, for `explain`.
    pub result: Value,
}

/// The scenario files under `paths` (folders: every `*.json`, sorted).
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p == Path::new(crate::bundled::ROOT) {
            out.extend(crate::bundled::scenario_paths());
        } else if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// Runs every case of a scenario file (each on its own paused runtime).
pub fn run_file(path: &Path) -> Vec<CaseOutcome> {
    let file = path.display().to_string();
    let scenario = match Scenario::load(path) {
        Ok(s) => s,
        Err(e) => return vec![load_failure(&file, "load", &e)],
    };
    run_scenario(&scenario, None)
}

fn load_failure(file: &str, case: &str, e: &ScenarioErrors) -> CaseOutcome {
    CaseOutcome {
        scenario: file.to_string(),
        case: case.to_string(),
        passed: false,
        failures: vec![e.to_string()],
        summary: "load error".into(),
        elapsed: Duration::ZERO,
        trace: Trace::disabled(),
        result: Value::Null,
    }
}

/// Runs the cases of a parsed scenario; `only` picks one case by name.
pub fn run_scenario(scenario: &Scenario, only: Option<&str>) -> Vec<CaseOutcome> {
    let file = scenario.file.clone();
    let built = scenario.build(&StackLinks::default());
    if let Some(expect) = &scenario.settings.expect_load_error {
        let mut failures = Vec::new();
        let summary;
        match &built {
            Ok(_) => {
                summary = "loaded".to_string();
                failures.push("expected a load error, but the scenario loaded".to_string());
            }
            Err(errors) => {
                summary = format!(
                    "load error: {}",
                    errors
                        .0
                        .first()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                );
                let found = errors.0.iter().any(|e| {
                    expect
                        .logical_id
                        .as_ref()
                        .is_none_or(|id| e.logical_id.as_ref() == Some(id))
                        && expect.path.as_ref().is_none_or(|p| &e.path == p)
                        && expect
                            .message_contains
                            .as_ref()
                            .is_none_or(|m| e.to_string().contains(m.as_str()))
                });
                if !found {
                    failures.push(format!("no error matches {expect:?}; got:\n{errors}"));
                }
            }
        }
        return vec![CaseOutcome {
            scenario: file,
            case: "load-error".into(),
            passed: failures.is_empty(),
            failures,
            summary,
            elapsed: Duration::ZERO,
            trace: Trace::disabled(),
            result: Value::Null,
        }];
    }
    let (model, resolved) = match built {
        Ok(built) => built,
        Err(e) => return vec![load_failure(&file, "load", &e)],
    };
    let subs = substitutions(&resolved);
    let start = match scenario.clock_start() {
        Ok(s) => s,
        Err(e) => return vec![load_failure(&file, "load", &e)],
    };
    scenario
        .settings
        .cases
        .iter()
        .filter(|c| only.is_none_or(|name| c.name == name))
        .map(|case| {
            runtime().block_on(async {
                let clock = match start {
                    Some(t) => Clock::pinned(t),
                    None => Clock::system(),
                };
                match World::build(model.clone(), clock) {
                    Ok(world) => run_case(&file, &world, case, &subs).await,
                    Err(e) => CaseOutcome {
                        scenario: file.clone(),
                        case: case.name.clone(),
                        passed: false,
                        failures: vec![format!("the world could not start: {e}")],
                        summary: "start error".into(),
                        elapsed: Duration::ZERO,
                        trace: Trace::disabled(),
                        result: Value::Null,
                    },
                }
            })
        })
        .collect()
}

/// Whether `actual` contains `expected`: objects by key (recursively), everything else by equality.
pub fn includes(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| includes(av, v))),
        _ => actual == expected,
    }
}

async fn run_case(
    file: &str,
    world: &World,
    case: &Case,
    subs: &HashMap<String, String>,
) -> CaseOutcome {
    // The emulated services behind the public endpoints (crate::ec2::internet), which public
    // connections reach, for every kind of case.
    let edge = std::sync::Arc::new(crate::edge::Edge::new(
        world.clone(),
        crate::edge::AuthMode::Verify,
    ));
    edge.attach_endpoints();
    if let Some(spec) = &case.put_events {
        return events::run(file, world, case, spec).await;
    }
    if let Some(request) = &case.request {
        return run_request_case(file, world, case, request, subs).await;
    }
    let begin = tokio::time::Instant::now();
    let mut failures = Vec::new();
    let Some(start) = &case.start_execution else {
        return CaseOutcome {
            scenario: file.to_string(),
            case: case.name.clone(),
            passed: false,
            failures: vec!["the case has nothing to run (StartExecution or Request)".into()],
            summary: String::new(),
            elapsed: Duration::ZERO,
            trace: Trace::disabled(),
            result: Value::Null,
        };
    };
    let Some(sm) = world.model.state_machine(&start.state_machine) else {
        return CaseOutcome {
            scenario: file.to_string(),
            case: case.name.clone(),
            passed: false,
            failures: vec![format!(
                "no state machine {:?} in the scenario",
                start.state_machine
            )],
            summary: String::new(),
            elapsed: Duration::ZERO,
            trace: Trace::disabled(),
            result: Value::Null,
        };
    };
    // A shared store: `states:startExecution` tasks of the case start children in it.
    let executions = std::sync::Arc::new(Executions::new());
    let input = start.input.clone().unwrap_or_else(|| serde_json::json!({}));
    let record = match executions
        .run_sync_watched(world, sm, Start::new(input, start.name.clone()))
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return CaseOutcome {
                scenario: file.to_string(),
                case: case.name.clone(),
                passed: false,
                failures: vec![e.to_string()],
                summary: "did not start".into(),
                elapsed: begin.elapsed(),
                trace: Trace::disabled(),
                result: Value::Null,
            };
        }
    };
    let elapsed = begin.elapsed();
    let outcome = record.outcome.as_ref().expect("run_sync finishes");
    let status = status_name(outcome.status);
    let exp = &case.expect;
    let output = outcome.output.clone().unwrap_or(Value::Null);
    let error = outcome.error.clone().unwrap_or_default();
    let cause = outcome.cause.clone().unwrap_or_default();
    check_observed(
        exp,
        &Observed {
            status: Some(status),
            output: Some(&output),
            error: Some(&error),
            cause: Some(&cause),
            ..Observed::default()
        },
        world,
        &mut failures,
    );
    check_time_and_trace(exp, elapsed, &record.trace, &mut failures);
    let summary = if error.is_empty() {
        status.to_string()
    } else {
        format!("{status} {error}")
    };
    let result = if outcome.output.is_some() {
        output
    } else {
        serde_json::json!({"error": error, "cause": cause})
    };
    CaseOutcome {
        scenario: file.to_string(),
        case: case.name.clone(),
        passed: failures.is_empty(),
        failures,
        summary,
        elapsed,
        trace: record.trace.clone(),
        result,
    }
}

/// `${LogicalId}` -> `Ref`, `${LogicalId.Attribute}` -> `Fn::GetAtt`, for `Request.Url`.
fn substitutions(resolved: &crate::scenario::template::Resolved) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for r in &resolved.resources {
        if let Some(s) = r.physical.reference.as_str() {
            out.insert(r.logical_id.clone(), s.to_string());
        }
        for (k, v) in &r.physical.attributes {
            if let Some(s) = v.as_str() {
                out.insert(format!("{}.{k}", r.logical_id), s.to_string());
            }
        }
    }
    out
}

/// What a case produced, as the expectations read it; `None` where the case kind has no such
/// thing (the loader refuses expectations a kind cannot check, `Case::check_expectations`).
#[derive(Default)]
pub(crate) struct Observed<'a> {
    pub(crate) status: Option<&'a str>,
    pub(crate) output: Option<&'a Value>,
    pub(crate) error: Option<&'a str>,
    pub(crate) cause: Option<&'a str>,
    pub(crate) status_code: Option<u16>,
    pub(crate) body: Option<&'a str>,
    /// Response headers, names in lowercase.
    pub(crate) headers: Vec<(String, String)>,
}

/// Checks every expectation of `exp` against what the case produced.
pub(crate) fn check_observed(
    exp: &crate::scenario::Expect,
    got: &Observed<'_>,
    world: &World,
    failures: &mut Vec<String>,
) {
    if let Some(s) = &exp.status
        && Some(s.as_str()) != got.status
    {
        failures.push(format!("status: expected {s}, got {:?}", got.status));
    }
    let null = Value::Null;
    let output = got.output.unwrap_or(&null);
    if let Some(o) = &exp.output
        && o != output
    {
        failures.push(format!(
            "output differs:\n    expected {}\n    got      {}",
            serde_json::to_string(o).unwrap_or_default(),
            serde_json::to_string(output).unwrap_or_default()
        ));
    }
    if let Some(o) = &exp.output_includes
        && !includes(output, o)
    {
        failures.push(format!("output does not include {o}: got {output}"));
    }
    let error = got.error.unwrap_or("");
    let cause = got.cause.unwrap_or("");
    if let Some(e) = &exp.error
        && e != error
    {
        failures.push(format!("error: expected {e}, got {error:?} ({cause})"));
    }
    if let Some(c) = &exp.cause
        && c != cause
    {
        failures.push(format!("cause: expected {c:?}, got {cause:?}"));
    }
    if let Some(c) = &exp.cause_contains
        && !cause.contains(c.as_str())
    {
        failures.push(format!("cause does not contain {c:?}: {cause:?}"));
    }
    if let Some(want) = exp.status_code
        && Some(want) != got.status_code
    {
        let got = match got.status_code {
            Some(code) => code.to_string(),
            None => format!("no response ({error})"),
        };
        failures.push(format!("status: expected {want}, got {got}"));
    }
    let body = got.body.unwrap_or("");
    for text in &exp.body_contains {
        if !body.contains(text.as_str()) {
            failures.push(format!("body does not contain {text:?}: {body:?}"));
        }
    }
    for (name, want) in &exp.headers {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = got
            .headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if !values.contains(&want.as_str()) {
            failures.push(format!("header {name}: expected {want:?}, got {values:?}"));
        }
    }
    if let Some(want) = &exp.access_log_includes {
        match world.lattice.access_log().last() {
            Some((_, entry)) if includes(entry, want) => {}
            Some((_, entry)) => failures.push(format!(
                "the last access log entry does not include {want}: {entry}"
            )),
            None => failures.push("no access log entry was written".into()),
        }
    }
}

/// The expectations every case kind shares: `ElapsedSeconds` of virtual time and `TraceContains`.
pub(crate) fn check_time_and_trace(
    exp: &crate::scenario::Expect,
    elapsed: Duration,
    trace: &Trace,
    failures: &mut Vec<String>,
) {
    if let Some(secs) = exp.elapsed_seconds {
        let got = elapsed.as_secs_f64();
        if (got - secs).abs() > 0.001 {
            failures.push(format!(
                "elapsed: expected {secs} s of virtual time, got {got:.3} s"
            ));
        }
    }
    let hops = trace.hops();
    for text in &exp.trace_contains {
        if !hops
            .iter()
            .any(|h| h.message.contains(text.as_str()) || h.component == text)
        {
            failures.push(format!("no hop of the trace mentions {text:?}"));
        }
    }
}

/// The pass/fail table `vpcgate check` prints.
pub fn table(outcomes: &[CaseOutcome]) -> String {
    let mut out = String::new();
    let w_file = outcomes
        .iter()
        .map(|o| short(&o.scenario).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let w_case = outcomes
        .iter()
        .map(|o| o.case.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "{:<6} {:<w_file$} {:<w_case$} {:>9}  {}\n",
        "RESULT", "SCENARIO", "CASE", "VIRTUAL", "OUTCOME"
    ));
    for o in outcomes {
        out.push_str(&format!(
            "{:<6} {:<w_file$} {:<w_case$} {:>8.3}s  {}\n",
            if o.passed { "pass" } else { "FAIL" },
            short(&o.scenario),
            o.case,
            o.elapsed.as_secs_f64(),
            o.summary
        ));
        for f in &o.failures {
            for line in f.lines() {
                out.push_str(&format!("         {line}\n"));
            }
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    out.push_str(&format!(
        "\n{} passed, {} failed\n",
        passed,
        outcomes.len() - passed
    ));
    out
}

fn short(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| path.to_string())
}

// ---------------------------------------------------------------------------------------------
// `Request` cases — one HTTP request ([`request`]). The result is `{"StatusCode", "StatusText",
// "Headers", "Body"}` or `{"Error", "Message"}`; `Output`, `OutputIncludes`, `ElapsedSeconds` and
// `TraceContains` apply as for executions, `StatusCode`, `BodyContains` and `Headers` to the answer.
// ---------------------------------------------------------------------------------------------

async fn run_request_case(
    file: &str,
    world: &World,
    case: &Case,
    spec: &Value,
    subs: &HashMap<String, String>,
) -> CaseOutcome {
    let trace = Trace::new();
    let outcome = |passed, failures, summary: String, elapsed, result| CaseOutcome {
        scenario: file.to_string(),
        case: case.name.clone(),
        passed,
        failures,
        summary,
        elapsed,
        trace: trace.clone(),
        result,
    };
    let exchange = match request::from_value(spec) {
        Ok(req) => request::run(world, &req, subs, &trace).await,
        Err(e) => Err(e),
    };
    let exchange = match exchange {
        Ok(x) => x,
        Err(e) => {
            return outcome(
                false,
                vec![e.to_string()],
                "not sent".into(),
                Duration::ZERO,
                Value::Null,
            );
        }
    };
    let output = exchange.output;
    let elapsed = exchange.elapsed;
    let exp = &case.expect;
    let mut failures = Vec::new();
    // `Headers` in the output: {name as sent: [values]}.
    let headers = output
        .get("Headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .flat_map(|(name, values)| {
                    let values: Vec<String> = match values {
                        Value::Array(vs) => vs
                            .iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect(),
                        Value::String(v) => vec![v.clone()],
                        other => vec![other.to_string()],
                    };
                    values
                        .into_iter()
                        .map(move |v| (name.to_ascii_lowercase(), v))
                })
                .collect()
        })
        .unwrap_or_default();
    check_observed(
        exp,
        &Observed {
            output: Some(&output),
            error: output.get("Error").and_then(Value::as_str),
            cause: output.get("Message").and_then(Value::as_str),
            status_code: output
                .get("StatusCode")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok()),
            body: exchange.body.as_deref(),
            headers,
            ..Observed::default()
        },
        world,
        &mut failures,
    );
    check_time_and_trace(exp, elapsed, &trace, &mut failures);
    let summary = match output.get("Error").and_then(Value::as_str) {
        // A request From an instance or subnet that got no response.
        Some(error) => error.to_string(),
        None => format!(
            "HTTP {} {}",
            output["StatusCode"],
            output["StatusText"].as_str().unwrap_or("")
        ),
    };
    outcome(failures.is_empty(), failures, summary, elapsed, output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn includes_is_a_recursive_subset() {
        let actual = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        assert!(includes(&actual, &json!({"a": {"b": 1}})));
        assert!(!includes(&actual, &json!({"a": {"b": 2}})));
        assert!(includes(&actual, &json!({"d": [1]})));
        assert!(!includes(&actual, &json!({"e": 1})));
    }
}
