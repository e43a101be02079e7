//! Outcomes recorded against AWS: each case replays a state machine from LocalStack's
//! AWS-validated test suite (`tests/aws/services/stepfunctions/**/*.snapshot.json`, recorded
//! against real Step Functions; the template under `tests/aws/services/stepfunctions/templates/`)
//! and asserts the status, output, error and cause AWS recorded. The snapshot file is named in
//! each test's doc comment.

use super::common::ScriptedHandler;
use serde_json::{Value, json};
use vpcgate::asl::{ExecutionConfig, ExecutionOutcome, StateMachine, StopSignal, run};
use vpcgate::clock::Clock;

const BASE_TIME: u64 = 1_440_938_160;

async fn exec(definition: Value, input: Value) -> ExecutionOutcome {
    let machine = StateMachine::parse(&definition.to_string())
        .unwrap_or_else(|e| panic!("definition rejected: {e}"));
    let handler = ScriptedHandler::new(Value::Null);
    let cfg = ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(7),
        ..ExecutionConfig::default()
    };
    run(&machine, input, cfg, &handler, StopSignal::never()).await
}

fn ok(out: &ExecutionOutcome) -> &Value {
    assert_eq!(
        out.status.as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        out.error,
        out.cause
    );
    out.output.as_ref().expect("output")
}

fn failed(out: &ExecutionOutcome) -> (Option<&str>, Option<&str>) {
    assert_eq!(out.status.as_str(), "FAILED", "output {:?}", out.output);
    (out.error.as_deref(), out.cause.as_deref())
}

fn last_event_details(out: &ExecutionOutcome) -> Value {
    let h = out.history_json();
    let last = h.as_array().unwrap().last().unwrap().clone();
    last.get("executionFailedEventDetails")
        .cloned()
        .unwrap_or(Value::Null)
}

/// assign/test_assign_reference_variables.snapshot.json, BASE_REFERENCE_IN_INPUTPATH and
/// BASE_REFERENCE_IN_OUTPUTPATH: a variable as InputPath / OutputPath gives 42.
#[tokio::test(start_paused = true)]
async fn variables_in_inputpath_and_outputpath() {
    let inp = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Assign": {"theAnswer": 42}, "Next": "State1"},
        "State1": {"Type": "Pass", "InputPath": "$theAnswer", "End": true}}});
    assert_eq!(ok(&exec(inp, json!({})).await), &json!(42));
    let outp = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Result": {"answer": 42}, "Assign": {"theAnswer.$": "$.answer"}, "Next": "State1"},
        "State1": {"Type": "Pass", "OutputPath": "$theAnswer", "End": true}}});
    assert_eq!(ok(&exec(outp, json!({})).await), &json!(42));
}

/// context_object/test_context_object.snapshot.json (CONTEXT_OBJECT_INPUT_PATH with
/// `$$.Execution.Input`): the context object as InputPath gives the execution input.
#[tokio::test(start_paused = true)]
async fn context_object_in_inputpath_and_outputpath() {
    let d = json!({"StartAt": "TestState", "States": {
        "TestState": {"Type": "Pass", "InputPath": "$$.Execution.Input", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$$.Execution.Input.message", "End": true}}});
    assert_eq!(
        ok(&exec(d, json!({"message": "HelloWorld!"})).await),
        &json!("HelloWorld!")
    );
}

/// assign/test_assign_reference_variables.snapshot.json,
/// MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH: `MaxConcurrencyPath: "$maxConcurrency"` with
/// the variable holding the string "1" runs the Map ([1, 2, 3]).
#[tokio::test(start_paused = true)]
async fn variable_in_max_concurrency_path() {
    let d = json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Pass", "Assign": {"maxConcurrency": "1"}, "Result": {"Values": [1, 2, 3]}, "Next": "MapState"},
        "MapState": {"Type": "Map", "ItemsPath": "$.Values", "MaxConcurrencyPath": "$maxConcurrency",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem",
                "States": {"HandleItem": {"Type": "Pass", "End": true}}}, "End": true}}});
    assert_eq!(ok(&exec(d, json!({})).await), &json!([1, 2, 3]));
}

/// scenarios/test_base_scenarios.snapshot.json (test_max_concurrency_path_non_integer and
/// the tolerated-failure variants): a non-integer MaxConcurrencyPath / ToleratedFailureCountPath
/// value, and a float ToleratedFailurePercentagePath, fail with AWS's wording.
#[tokio::test(start_paused = true)]
async fn map_path_values_that_are_not_numbers() {
    let map = |field: &str, path: &str| {
        let mut m = json!({"Type": "Map", "ItemsPath": "$.Values",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem",
                "States": {"HandleItem": {"Type": "Pass", "End": true}}}, "End": true});
        m[field] = json!(path);
        json!({"StartAt": "MapState", "States": {"MapState": m}})
    };
    let out = exec(
        map("MaxConcurrencyPath", "$.MaxConcurrencyValue"),
        json!({"Values": [1], "MaxConcurrencyValue": "NoNumber"}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). The MaxConcurrencyPath field refers to value \"NoNumber\" which is not a valid integer: $.MaxConcurrencyValue"
            )
        )
    );
    let out = exec(
        map("ToleratedFailureCountPath", "$.ToleratedFailureCount"),
        json!({"Values": [1], "ToleratedFailureCount": {}}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: $.ToleratedFailureCount"
            )
        )
    );
    let out = exec(
        map(
            "ToleratedFailurePercentagePath",
            "$.ToleratedFailurePercentage",
        ),
        json!({"Values": [1], "ToleratedFailurePercentage": "NoNumber"}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). The ToleratedFailurePercentagePath field refers to value \"NoNumber\" which is not a valid float: $.ToleratedFailurePercentage"
            )
        )
    );
    let out = exec(
        map("ToleratedFailureCountPath", "$.ToleratedFailureCount"),
        json!({"Values": [1], "ToleratedFailureCount": -1}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). ToleratedFailureCount cannot be negative."
            )
        )
    );
    let out = exec(
        map(
            "ToleratedFailurePercentagePath",
            "$.ToleratedFailurePercentage",
        ),
        json!({"Values": [1], "ToleratedFailurePercentage": 101}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). ToleratedFailurePercentage must be between 0 and 100."
            )
        )
    );
}

/// scenarios/test_base_scenarios.snapshot.json, ESCAPE_SEQUENCES_JSONPATH: the bracket name
/// `'Test\""Name"'` selects the key `Test\""Name"` (a backslash before `"` is literal inside
/// single quotes); and bracket names with dots and spaces select one key each
/// (amazon-states-language-paths.html: Step Functions uses Jayway JSONPath).
#[tokio::test(start_paused = true)]
async fn bracket_notation_with_escapes() {
    let d = json!({"StartAt": "JsonPathEscapeTest", "States": {
        "JsonPathEscapeTest": {"Type": "Pass", "Parameters": {"value.$": "$['Test\\\"\"Name\"']"}, "End": true}}});
    let input = json!({"Test\\\"\"Name\"": "Value\"\\"});
    assert_eq!(ok(&exec(d, input).await), &json!({"value": "Value\"\\"}));
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"dot.$": "$['a.b']", "space.$": "$['with space']", "quote.$": "$['it\\'s']", "nested.$": "$['o']['x y'][0]"},
        "InputPath": "$['in put']", "End": true}}});
    let input = json!({"in put": {"a.b": 1, "with space": 2, "it's": 3, "o": {"x y": [4]}}});
    assert_eq!(
        ok(&exec(d, input).await),
        &json!({"dot": 1, "space": 2, "quote": 3, "nested": 4})
    );
}

/// base/test_base.snapshot.json, test_state_fail_intrinsic (template RAISE_FAILURE_PATH_INTRINSIC):
/// ErrorPath and CausePath as `States.Format(...)`.
#[tokio::test(start_paused = true)]
async fn fail_error_and_cause_paths_as_intrinsics() {
    let d = json!({"StartAt": "FailState", "States": {"FailState": {"Type": "Fail",
        "ErrorPath": "States.Format('{}', $.Error)",
        "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)"}}});
    let out = exec(d, json!({"Error": "error string", "Cause": "cause string"})).await;
    assert_eq!(
        failed(&out),
        (
            Some("error string"),
            Some("This is a custom error message for error string, caused by cause string.")
        )
    );
}

/// base/test_base.snapshot.json, test_state_fail_empty: a Fail state without Error or Cause
/// ends in an ExecutionFailed event with empty details, and no error or cause.
#[tokio::test(start_paused = true)]
async fn empty_fail_leaves_error_and_cause_out() {
    let d = json!({"StartAt": "FailState", "States": {"FailState": {"Type": "Fail"}}});
    let out = exec(d, json!({})).await;
    assert_eq!(failed(&out), (None, None));
    assert_eq!(last_event_details(&out), json!({}));
}

/// test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE: a JSONPath state in
/// a JSONata machine is refused at create.
#[test]
fn jsonpath_state_in_a_jsonata_machine_is_refused() {
    let d = json!({"QueryLanguage": "JSONata", "StartAt": "Pass", "States": {
        "Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}});
    let err = StateMachine::parse(&d.to_string()).unwrap_err();
    let diags = err.diagnostics();
    assert_eq!(diags.len(), 1, "{err}");
    assert_eq!(diags[0].code, "SCHEMA_VALIDATION_FAILED");
    assert_eq!(diags[0].location, "/States/Pass");
    assert_eq!(
        diags[0].message,
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    );
}

async fn function_result(call: &str, function_input: Value) -> Value {
    let d = json!({"StartAt": "S", "States": {"S": {"Type": "Pass",
        "Parameters": {"FunctionResult.$": call}, "End": true}}});
    let out = exec(d, json!({"FunctionInput": function_input})).await;
    ok(&out)["FunctionResult"].clone()
}

/// intrinsic_functions/test_generic.snapshot.json, test_format_1 / test_format_2: States.Format
/// writes strings raw, null as `null`, numbers as JSON, and objects and arrays Java-style
/// (`{Arg1=1, Arg2=[]}`).
#[tokio::test(start_paused = true)]
async fn states_format_prints_values_as_aws() {
    let cases = [
        (
            json!({"fst": "", "snd": ""}),
            "Formatting arguments fst= and snd=.",
        ),
        (
            json!({"fst": null, "snd": null}),
            "Formatting arguments fst=null and snd=null.",
        ),
        (
            json!({"fst": 1.1, "snd": 1}),
            "Formatting arguments fst=1.1 and snd=1.",
        ),
        (
            json!({"fst": "{\"Arg1\": 1, \"Arg2\": []}", "snd": "x"}),
            "Formatting arguments fst={\"Arg1\": 1, \"Arg2\": []} and snd=x.",
        ),
        (
            json!({"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}),
            "Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.",
        ),
        (
            json!({"fst": [1, "a", true, null, {"k": [2.5]}], "snd": {}}),
            "Formatting arguments fst=[1, a, true, null, {k=[2.5]}] and snd={}.",
        ),
    ];
    for (input, want) in cases {
        let got = function_result(
            "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
            input.clone(),
        )
        .await;
        assert_eq!(got, json!(want), "input {input}");
    }
}

/// intrinsic_functions/test_math_operations.snapshot.json, test_math_add: each argument is
/// rounded half up to an integer before adding.
#[tokio::test(start_paused = true)]
async fn states_math_add_has_integer_semantics() {
    let cases: [(f64, f64, i64); 21] = [
        (-9.0, 3.0, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, 0.0, 1),
        (1.49, -1.49, 0),
        (1.5, 0.0, 2),
        (1.51, 0.0, 2),
        (-1.49, 0.0, -1),
        (-1.5, 0.0, -1),
        (-1.51, 0.0, -2),
        (0.5, 0.0, 1),
        (1.5, 0.0, 2),
        (2.5, 0.0, 3),
        (3.5, 0.0, 4),
        (-0.5, 0.5, 1),
        (-0.5, 0.0, 0),
        (-1.5, 0.0, -1),
        (-2.5, 0.0, -2),
        (-3.5, 0.0, -3),
    ];
    for (a, b, want) in cases {
        let got = function_result(
            "States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)",
            json!({"fst": a, "snd": b}),
        )
        .await;
        assert_eq!(got, json!(want), "MathAdd({a}, {b})");
    }
}

/// intrinsic_functions/test_json_manipulation.snapshot.json, test_string_to_json: "" and " "
/// give null; other JSON texts their value.
#[tokio::test(start_paused = true)]
async fn states_string_to_json_of_blank_is_null() {
    let cases = [
        ("", json!(null)),
        (" ", json!(null)),
        ("null", json!(null)),
        ("-0", json!(0)),
        ("1.1", json!(1.1)),
        ("\"HelloWorld\"", json!("HelloWorld")),
        ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
        (
            "{\"Arg1\": 1, \"Arg2\": []}",
            json!({"Arg1": 1, "Arg2": []}),
        ),
    ];
    for (s, want) in cases {
        let got = function_result("States.StringToJson($.FunctionInput)", json!(s)).await;
        assert_eq!(got, want, "StringToJson({s:?})");
    }
}

/// base/test_wait.snapshot.json, test_base_wait_seconds_path: SecondsPath at 1.5, -1.5, -1 or
/// missing fails the execution with States.Runtime, right after WaitStateEntered (#2).
#[tokio::test(start_paused = true)]
async fn wait_seconds_path_must_be_a_non_negative_integer() {
    let d = json!({"StartAt": "WaitState", "States": {"WaitState": {"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": true}}});
    let prefix =
        "An error occurred while executing the state 'WaitState' (entered at the event id #2). ";
    for (input, msg) in [
        (
            json!({"waitSeconds": 1.5}),
            "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 1.5",
        ),
        (
            json!({"waitSeconds": -1.5}),
            "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == -1.5",
        ),
        (
            json!({"waitSeconds": -1}),
            "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
        ),
        (
            json!({}),
            "The SecondsPath parameter does not reference an input value: $.input.waitSeconds",
        ),
    ] {
        let out = exec(d.clone(), json!({"input": input})).await;
        let want = format!("{prefix}{msg}");
        assert_eq!(failed(&out), (Some("States.Runtime"), Some(want.as_str())));
        let types: Vec<String> = out
            .history
            .iter()
            .map(|e| e.event_type.to_string())
            .collect();
        assert_eq!(
            types,
            ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
        );
    }
    let out = exec(d, json!({"input": {"waitSeconds": 0}})).await;
    ok(&out);
}

/// The context object documents `$$.Map.Item.Source` next to Index and Value
/// (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html,
/// "Context object data for Map states"): for an inline Map over the state input it reads
/// `STATE_DATA`.
#[tokio::test(start_paused = true)]
async fn map_item_source_in_the_context_object() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemSelector": {"src.$": "$$.Map.Item.Source", "i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    assert_eq!(
        ok(&exec(d, json!(["a"])).await),
        &json!([{"src": "STATE_DATA", "i": 0, "v": "a"}])
    );
}

/// query_language/test_mixed_query_language.snapshot.json, JSONPATH_ASSIGN_JSONATA_REF: a
/// variable assigned by a JSONPath state is read by a JSONata state; and (issue 19) one
/// computed by an intrinsic (`States.MathAdd($count, 1)`) adds in JSONata, even when, as in the
/// issue, it is named like a JSONata built-in (`$count`): the workflow's variables shadow the
/// built-ins, as jsonata-js binds `evaluate`'s bindings below them.
#[tokio::test(start_paused = true)]
async fn jsonpath_assigned_variable_read_by_jsonata() {
    let d = json!({"StartAt": "JSONPathState", "States": {
        "JSONPathState": {"QueryLanguage": "JSONPath", "Type": "Pass", "Assign": {"theAnswer": 42}, "Next": "JSONataState"},
        "JSONataState": {"QueryLanguage": "JSONata", "Type": "Pass", "Assign": {"theAnswer": 18, "oldAnswer": "{% $theAnswer %}"}, "Next": "Read"},
        "Read": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": {"old": "{% $oldAnswer %}", "new": "{% $theAnswer %}"}, "End": true}}});
    assert_eq!(
        ok(&exec(d, json!({})).await),
        &json!({"old": 42, "new": 18})
    );
    let d = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"counter": 0}, "Next": "Inc"},
        "Inc": {"Type": "Pass", "Assign": {"counter.$": "States.MathAdd($counter, 1)"}, "Next": "Use"},
        "Use": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": "{% $counter + 1 %}", "End": true}}});
    assert_eq!(ok(&exec(d, json!({})).await), &json!(2));
    let d = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"count": 0}, "Next": "Inc"},
        "Inc": {"Type": "Pass", "Assign": {"count.$": "States.MathAdd($count, 1)"}, "Next": "Use"},
        "Use": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": "{% $count + 1 %}", "End": true}}});
    assert_eq!(ok(&exec(d, json!({})).await), &json!(2));
    // Without such a variable, `$count` is the function.
    let d = json!({"QueryLanguage": "JSONata", "StartAt": "Use", "States": {
        "Use": {"Type": "Pass", "Output": "{% $count([1, 2, 3]) %}", "End": true}}});
    assert_eq!(ok(&exec(d, json!({})).await), &json!(3));
}

/// scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath: causes name the state,
/// the event id it was entered at, and the path (InputPath, OutputPath and
/// TimeoutSecondsPath misses print the normalized path `$['NoSuchInputPath']`).
#[tokio::test(start_paused = true)]
async fn runtime_causes_name_the_entered_event() {
    let out = exec(
        json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}}}),
        json!({"int-literal": 0}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
            )
        )
    );
    let out = exec(
        json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "OutputPath": "$.NoSuchOutputPath", "End": true}}}),
        json!({"int-literal": 0}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']"
            )
        )
    );
    let out = exec(
        json!({"StartAt": "pass", "States": {
            "pass": {"Type": "Pass", "Result": {"Error": "error-value"}, "Next": "fail"},
            "fail": {"Type": "Fail", "ErrorPath": "$.ErrorX", "Cause": "c"}}}),
        json!({"int-literal": 0}),
    )
    .await;
    let (e, c) = failed(&out);
    assert_eq!(e, Some("States.Runtime"));
    assert!(c.unwrap().starts_with("An error occurred while executing the state 'fail' (entered at the event id #4). The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '"), "{c:?}");
    let out = exec(
        json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "Parameters": {"value.$": "$$.Execution.Input.no_such_jsonpath"}, "End": true}}}),
        json!({"int-literal": 0}),
    )
    .await;
    let (e, c) = failed(&out);
    assert_eq!(e, Some("States.Runtime"));
    assert!(c.unwrap().starts_with("An error occurred while executing the state 'pass' (entered at the event id #2). The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '"), "{c:?}");
    let out = exec(
        json!({"StartAt": "task", "States": {"task": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSecondsPath": "$.NoSuchTimeoutSecondsPath", "End": true}}}),
        json!({}),
    )
    .await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'task' (entered at the event id #2). Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']"
            )
        )
    );
}

/// error_handling/test_states_errors.snapshot.json, test_start_large_input: the payload quota's
/// cause is "The state/task '<state>' returned a result with a size exceeding the maximum
/// number of bytes service limit." (no figures).
#[tokio::test(start_paused = true)]
async fn data_limit_cause_as_aws_words_it() {
    let d = json!({"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", "End": true}}});
    let big = "x".repeat(300 * 1024);
    let out = exec(d, json!({"big": big})).await;
    assert_eq!(
        failed(&out),
        (
            Some("States.DataLimitExceeded"),
            Some(
                "The state/task 'State_1' returned a result with a size exceeding the maximum number of bytes service limit."
            )
        )
    );
}

/// test_state/test_state_configuration.snapshot.json, test_map_state_failure_count: the cause of
/// States.ExceedToleratedFailureThreshold is "The specified tolerated failure threshold was
/// exceeded".
#[tokio::test(start_paused = true)]
async fn tolerated_failure_cause_as_aws_words_it() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": 0,
        "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}, "End": true}}});
    let out = exec(d, json!([1, 2])).await;
    assert_eq!(
        failed(&out),
        (
            Some("States.ExceedToleratedFailureThreshold"),
            Some("The specified tolerated failure threshold was exceeded")
        )
    );
}

/// scenarios/test_base_scenarios.snapshot.json (test_wait_timestamppath): a TimestampPath value
/// that is no ISO-8601 extended offset date-time fails with AWS's wording.
#[tokio::test(start_paused = true)]
async fn wait_timestamp_path_must_be_iso8601() {
    let d = json!({"StartAt": "WaitUntil", "States": {"WaitUntil": {"Type": "Wait", "TimestampPath": "$.TimestampValue", "End": true}}});
    let out = exec(d, json!({"TimestampValue": "2016-12-05T25:29:29Z"})).await;
    assert_eq!(
        failed(&out),
        (
            Some("States.Runtime"),
            Some(
                "An error occurred while executing the state 'WaitUntil' (entered at the event id #2). The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == 2016-12-05T25:29:29Z"
            )
        )
    );
}

/// test_sfn_api_validation.snapshot.json, EMPTY_STRING: an empty definition has one diagnostic
/// without a location.
#[test]
fn validate_empty_definition() {
    let d = vpcgate::asl::validate("", false);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "SCHEMA_VALIDATION_FAILED");
    assert_eq!(d[0].message, "Definition must be a valid JSON object");
    assert_eq!(d[0].location, "");
}

/// callback/test_callback.snapshot.json (SQS_WAIT_FOR_TASK_TOKEN): a `.waitForTaskToken` Task
/// reads its token as `$$.Task.Token` in Parameters; the handler gets the same token (and the
/// state's HeartbeatSeconds) to wait on. A Task without the suffix has no token.
#[tokio::test(start_paused = true)]
async fn wait_for_task_token_exposes_the_token() {
    let d = json!({"StartAt": "SendMessageWithWait", "States": {
        "SendMessageWithWait": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke.waitForTaskToken",
            "Parameters": {"MessageBody": {"Message.$": "$.Message", "TaskToken.$": "$$.Task.Token"}},
            "TimeoutSeconds": 600, "HeartbeatSeconds": 60, "Next": "Plain"},
        "Plain": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": {}, "End": true}}});
    let machine = StateMachine::parse(&d.to_string()).unwrap();
    let handler = ScriptedHandler::new(Value::Null);
    let cfg = ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(7),
        ..ExecutionConfig::default()
    };
    let out = run(
        &machine,
        json!({"Message": "m"}),
        cfg,
        &handler,
        StopSignal::never(),
    )
    .await;
    ok(&out);
    let calls = handler.calls.lock().unwrap();
    let call = &calls["SendMessageWithWait"][0];
    let token = call.task_token.clone().expect("a token");
    assert!(vpcgate::asl::is_task_token(&token));
    assert_eq!(call.parameters["MessageBody"]["TaskToken"], json!(token));
    assert_eq!(call.parameters["MessageBody"]["Message"], json!("m"));
    assert_eq!(call.context["Task"]["Token"], json!(token));
    assert_eq!(call.heartbeat, Some(std::time::Duration::from_secs(60)));
    assert_eq!(calls["Plain"][0].task_token, None);
}
