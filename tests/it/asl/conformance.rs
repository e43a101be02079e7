//! Conformance suite: examples from the AWS Step Functions developer guide, one fixture
//! directory per case under `fixtures/asl/<case>/` (each cites its page in `source.txt`).

use super::common::{FIXTURES, ScriptedHandler, load};
use serde_json::Value;
use vpcgate::asl::{ExecutionConfig, ExecutionType, StateMachine, run, stop_channel};
use vpcgate::clock::Clock;

const BASE_TIME: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z

async fn run_case(name: &str) {
    let f = load(name);
    assert!(
        f.source.starts_with("https://docs.aws.amazon.com/"),
        "{name}: source must cite an AWS page"
    );
    let exp = &f.expected;
    let parsed = StateMachine::parse(&f.definition);
    if let Some(codes) = exp.get("definition_error") {
        let err = parsed.expect_err(&format!("{name}: definition should be rejected"));
        let mut got: Vec<&str> = err.diagnostics().iter().map(|d| d.code).collect();
        let mut want: Vec<&str> = codes
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: diagnostics were {err}");
        if let Some(m) = exp.get("message_contains").and_then(Value::as_str) {
            assert!(
                err.to_string().contains(m),
                "{name}: message {err} lacks {m}"
            );
        }
        return;
    }
    let machine = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
    let handler = ScriptedHandler::new(f.tasks.clone());
    let mut cfg = ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(1),
        ..ExecutionConfig::default()
    };
    if exp.get("type").and_then(Value::as_str) == Some("EXPRESS") {
        cfg.execution_type = ExecutionType::Express;
    }
    let (_stop, signal) = stop_channel();
    let started = tokio::time::Instant::now();
    let out = run(&machine, f.input.clone(), cfg, &handler, signal).await;
    let elapsed = started.elapsed().as_secs_f64();
    let ctx = format!(
        "{name}: outcome {:?} {:?} {:?} {:?}",
        out.status, out.output, out.error, out.cause
    );
    assert_eq!(
        out.status.as_str(),
        exp["status"].as_str().unwrap(),
        "{ctx}"
    );
    if let Some(o) = exp.get("output") {
        assert_eq!(out.output.as_ref(), Some(o), "{ctx}");
    }
    if let Some(e) = exp.get("output_error") {
        assert_eq!(
            out.output.as_ref().and_then(|o| o.get("Error")),
            Some(e),
            "{ctx}"
        );
    }
    if let Some(e) = exp.get("error") {
        assert_eq!(out.error.as_deref(), e.as_str(), "{ctx}");
    }
    if let Some(c) = exp.get("cause") {
        assert_eq!(out.cause.as_deref(), c.as_str(), "{ctx}");
    }
    if let Some(c) = exp.get("cause_contains").and_then(Value::as_str) {
        assert!(out.cause.as_deref().unwrap_or("").contains(c), "{ctx}");
    }
    if let Some(s) = exp.get("elapsed_seconds").and_then(Value::as_f64) {
        assert!(
            (elapsed - s).abs() < 0.01,
            "{name}: elapsed {elapsed} s, expected {s} s"
        );
    }
    if let Some(calls) = exp.get("task_calls").and_then(Value::as_object) {
        for (state, n) in calls {
            assert_eq!(
                handler.count(state) as u64,
                n.as_u64().unwrap(),
                "{name}: calls of {state}"
            );
        }
    }
    if let Some(params) = exp.get("task_params").and_then(Value::as_object) {
        for (state, p) in params {
            assert_eq!(
                handler.first_params(state).as_ref(),
                Some(p),
                "{name}: parameters of {state}"
            );
        }
    }
    // Every history ends with exactly one execution-level terminal event.
    let last = out.history.last().expect("history");
    assert!(
        last.event_type.starts_with("Execution"),
        "{name}: last event {}",
        last.event_type
    );
    assert_eq!(out.history[0].event_type, "ExecutionStarted");
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(start_paused = true)]
            async fn $name() {
                run_case(stringify!($name)).await;
            }
        )*
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

cases!(
    assign_sees_entry_values,
    choice_default_fail,
    choice_no_match,
    choice_operators,
    choice_public,
    choice_twenties,
    choice_zero,
    context_object,
    data_limit_exceeded,
    execution_timeout,
    express_five_minute_cap,
    fail_state,
    fail_state_paths,
    inputpath_dataset,
    inputpath_missing_runtime,
    intrinsic_failure_caught,
    intrinsics_mix,
    invalid_bad_intrinsic_and_path,
    invalid_distributed_map,
    invalid_heartbeat_not_below_timeout,
    invalid_jsonpath_fields_in_jsonata,
    invalid_missing_next_target,
    invalid_states_all_not_last,
    invalid_unreachable_and_missing_next,
    jsonata_catch_error_output,
    jsonata_choice_condition,
    jsonata_conversion_example,
    jsonata_map_items,
    jsonata_query_evaluation_error,
    jsonata_task_arguments_output,
    jsonata_wait_and_functions,
    map_exceed_tolerated,
    map_itemselector_ship,
    map_legacy_iterator_parameters,
    map_max_concurrency_timing,
    map_tolerated_failures,
    outputpath_null_input_filter_combo,
    outputpath_payload,
    parallel_branch_failure_caught,
    parallel_lookup,
    parameters_path_missing_is_runtime,
    parameters_product,
    pass_result_coords,
    resultpath_append,
    resultpath_catch_error,
    resultpath_child_node,
    resultpath_match_failure,
    resultpath_null,
    resultpath_replace,
    resultpath_update_node,
    resultselector_emr,
    retry_complex_scenario,
    retry_max_attempts_zero,
    retry_states_all_not_runtime,
    retry_timeout_then_succeed,
    task_failed_wildcard,
    variables_jsonpath_assign,
    variables_parallel_scope,
    wait_secondspath,
    wait_seconds,
    wait_timestamp,
    wait_timestamppath,
);

#[test]
fn every_fixture_directory_is_a_listed_case() {
    let mut dirs: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed);
}
