//! Distributed Map (`ProcessorConfig.Mode: DISTRIBUTED`) over the state input: Map Runs, child
//! executions, MaxConcurrency, tolerated failures and ItemBatcher, against the outcomes AWS
//! recorded (LocalStack's scenarios/test_base_scenarios.snapshot.json and
//! test_sfn_api_map_run.snapshot.json) and the developer guide
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).

use super::common::ScriptedHandler;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vpcgate::asl::{
    ChildExecution, ExecutionConfig, ExecutionOutcome, MapRunControl, MapRunInfo, MapRunObserver,
    StateMachine, StatesError, StopSignal, TaskHandler, TaskInvocation, run, stop_channel,
    validate,
};
use vpcgate::clock::Clock;

const BASE_TIME: u64 = 1_440_938_160;
const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:vpcgate";

/// Runs tasks from a script and keeps what the interpreter reports of Map Runs.
#[derive(Default)]
struct Observed {
    tasks: ScriptedHandler,
    runs: Mutex<Vec<(MapRunInfo, Arc<MapRunControl>)>>,
    started: Mutex<Vec<ChildExecution>>,
    ended: Mutex<BTreeMap<String, ExecutionOutcome>>,
}

impl TaskHandler for Observed {
    fn invoke<'a>(
        &'a self,
        call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>> {
        self.tasks.invoke(call)
    }
    fn map_runs(&self) -> Option<&dyn MapRunObserver> {
        Some(self)
    }
}

impl MapRunObserver for Observed {
    fn map_run_started(&self, run: &MapRunInfo, control: Arc<MapRunControl>) {
        self.runs.lock().unwrap().push((run.clone(), control));
    }
    fn child_started(&self, child: &ChildExecution) {
        self.started.lock().unwrap().push(child.clone());
    }
    fn child_ended(&self, arn: &str, outcome: &ExecutionOutcome) {
        self.ended
            .lock()
            .unwrap()
            .insert(arn.to_string(), outcome.clone());
    }
}

fn config() -> ExecutionConfig {
    ExecutionConfig {
        clock: Clock::at_unix(BASE_TIME),
        rng_seed: Some(7),
        ..ExecutionConfig::default()
    }
}

async fn exec_with(definition: &Value, input: Value, h: &Observed) -> ExecutionOutcome {
    let machine = StateMachine::parse(&definition.to_string())
        .unwrap_or_else(|e| panic!("definition rejected: {e}"));
    run(&machine, input, config(), h, StopSignal::never()).await
}

/// `(type, id, previousEventId)` of each event.
fn shape(out: &ExecutionOutcome) -> Vec<(String, u64, u64)> {
    out.history
        .iter()
        .map(|e| (e.event_type.to_string(), e.id, e.previous_event_id))
        .collect()
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// A one-state distributed Map whose children run `inner`.
fn dmap(extra: Value, inner: Value) -> Value {
    let mut m = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Inner",
            "States": {"Inner": inner},
        },
        "End": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({"StartAt": "MapState", "States": {"MapState": m}})
}

/// scenarios/test_base_scenarios.snapshot.json, test_map_state_label (template
/// map_state_label.json5): the parent's history is MapStateEntered, MapStateStarted (length),
/// MapRunStarted (mapRunArn with the label), MapRunSucceeded, MapStateSucceeded and a
/// MapStateExited that follows MapRunSucceeded (previousEventId 5), as recorded. (The first
/// state's `previousEventId` is 1 in vpcgate, as for every state machine; AWS records 0.)
#[tokio::test(start_paused = true)]
async fn distributed_map_history_as_aws_records_it() {
    let def = dmap(
        json!({"Label": "TestMap"}),
        json!({"Type": "Pass", "End": true}),
    );
    let h = Observed::default();
    let out = exec_with(&def, json!(["Hello", "World"]), &h).await;
    assert_eq!(out.output, Some(json!(["Hello", "World"])));
    let want: Vec<(String, u64, u64)> = [
        ("ExecutionStarted", 1, 0),
        ("MapStateEntered", 2, 1),
        ("MapStateStarted", 3, 2),
        ("MapRunStarted", 4, 3),
        ("MapRunSucceeded", 5, 4),
        ("MapStateSucceeded", 6, 5),
        ("MapStateExited", 7, 5),
        ("ExecutionSucceeded", 8, 7),
    ]
    .iter()
    .map(|(t, i, p)| (t.to_string(), *i, *p))
    .collect();
    assert_eq!(shape(&out), want);
    let ev = out.history_json();
    assert_eq!(ev[2]["mapStateStartedEventDetails"], json!({"length": 2}));
    let arn = ev[3]["mapRunStartedEventDetails"]["mapRunArn"]
        .as_str()
        .unwrap();
    let tail = arn
        .strip_prefix("arn:aws:states:us-east-1:123456789012:mapRun:vpcgate/TestMap:")
        .unwrap_or_else(|| panic!("{arn}"));
    assert!(is_uuid(tail), "{arn}");
    assert!(ev[4].get("mapRunSucceededEventDetails").is_none());
}

/// Without a Label the Map Run's middle part is a UUID (concepts-examine-map-run.html:
/// "stateMachine:{stateMachineName}/{MapRunLabel or UUID}"); the children run as executions of
/// their own, `execution:<machine>/<label>:<UUID>`, of the state machine `<machine>/<label>`,
/// with their own histories (ExecutionStarted .. ExecutionSucceeded) and context object.
#[tokio::test(start_paused = true)]
async fn children_are_executions_of_their_own() {
    let def = dmap(
        json!({}),
        json!({"Type": "Pass", "Parameters": {
            "id.$": "$$.Execution.Id", "sm.$": "$$.StateMachine.Id", "in.$": "$"}, "End": true}),
    );
    let h = Observed::default();
    let out = exec_with(&def, json!([1, 2, 3]), &h).await;
    let outputs = out.output.clone().unwrap();
    let runs = h.runs.lock().unwrap();
    assert_eq!(runs.len(), 1);
    let (info, control) = &runs[0];
    let label = info
        .state_machine_arn
        .strip_prefix(&format!("{SM}/"))
        .unwrap();
    assert!(is_uuid(label), "{}", info.state_machine_arn);
    assert!(info.map_run_arn.starts_with(&format!(
        "arn:aws:states:us-east-1:123456789012:mapRun:vpcgate/{label}:"
    )));
    assert_eq!(info.execution_arn, config().execution_arn);
    let started = h.started.lock().unwrap();
    assert_eq!(started.len(), 3);
    for (i, c) in started.iter().enumerate() {
        let name = c
            .arn
            .strip_prefix(&format!(
                "arn:aws:states:us-east-1:123456789012:execution:vpcgate/{label}:"
            ))
            .unwrap_or_else(|| panic!("{}", c.arn));
        assert!(is_uuid(name));
        assert_eq!(name, c.name);
        assert_eq!(c.map_run_arn, info.map_run_arn);
        assert_eq!(outputs[i]["id"], json!(c.arn));
        assert_eq!(outputs[i]["sm"], json!(info.state_machine_arn));
        assert_eq!(outputs[i]["in"], json!(i + 1));
        let ended = h.ended.lock().unwrap();
        let o = &ended[&c.arn];
        let types: Vec<&str> = o.history.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
    }
    let s = control.state();
    assert_eq!(s.status.as_str(), "SUCCEEDED");
    assert_eq!(s.executions.succeeded, 3);
    assert_eq!(s.items.total, 3);
    assert!(s.stop_date.is_some());
}

/// input-output-itembatcher.html, and the recorded batch shape of
/// test_map_item_batching_base_json_max_per_batch_jsonata (`{"BatchInput": {...}, "Items":
/// [...]}`): MaxItemsPerBatch and MaxInputBytesPerBatch bound each child's batch.
#[tokio::test(start_paused = true)]
async fn item_batcher_groups_items_into_batches() {
    let def = dmap(
        json!({"ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"from.$": "$.src"}},
               "ItemsPath": "$.items"}),
        json!({"Type": "Pass", "End": true}),
    );
    let h = Observed::default();
    let out = exec_with(&def, json!({"src": "s", "items": [1, 2, 3, 4, 5]}), &h).await;
    assert_eq!(
        out.output,
        Some(json!([
            {"BatchInput": {"from": "s"}, "Items": [1, 2]},
            {"BatchInput": {"from": "s"}, "Items": [3, 4]},
            {"BatchInput": {"from": "s"}, "Items": [5]},
        ]))
    );
    assert_eq!(
        out.history_json()[2]["mapStateStartedEventDetails"]["length"],
        5
    );
    let s = h.runs.lock().unwrap()[0].1.state();
    assert_eq!((s.items.total, s.executions.total), (5, 3));

    // {"Items":["aaaa","bbbb"]} is 25 bytes: a 25-byte limit holds two such items, not three.
    let def = dmap(
        json!({"ItemBatcher": {"MaxInputBytesPerBatch": 25}}),
        json!({"Type": "Pass", "End": true}),
    );
    let h = Observed::default();
    let out = exec_with(&def, json!(["aaaa", "bbbb", "cccc"]), &h).await;
    assert_eq!(
        out.output,
        Some(json!([{"Items": ["aaaa", "bbbb"]}, {"Items": ["cccc"]}]))
    );
}

/// JSONata: `Items` feeds the Map Run and ItemBatcher's fields take expressions (template
/// map_item_batcher_base_max_per_batch_jsonata.json5).
#[tokio::test(start_paused = true)]
async fn jsonata_items_and_batcher() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map",
        "Items": "{% $states.input.xs %}",
        "ItemBatcher": {"MaxItemsPerBatch": "{% $states.input.n %}",
                        "BatchInput": {"k": "{% $states.input.n * 10 %}"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $count($states.input.Items) %}", "End": true}}},
        "End": true}}});
    let h = Observed::default();
    let out = exec_with(&def, json!({"xs": [1, 2, 3], "n": 2}), &h).await;
    assert_eq!(out.output, Some(json!([2, 1])));
    // EXPRESS children are `express:` executions.
    assert!(
        h.started.lock().unwrap()[0]
            .arn
            .starts_with("arn:aws:states:us-east-1:123456789012:express:vpcgate/")
    );
}

/// maprun-fail-threshold.html: with no tolerance set, one failed child fails the Map Run with
/// States.ExceedToleratedFailureThreshold ("The specified tolerated failure threshold was
/// exceeded", the cause AWS records: test_state/test_state_configuration.snapshot.json,
/// test_map_state_failure_count); MapRunFailed carries them, then MapStateFailed.
#[tokio::test(start_paused = true)]
async fn one_failed_child_fails_the_map_run_by_default() {
    let def = dmap(
        json!({}),
        json!({"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Ok"}),
    );
    let mut def = def;
    def["States"]["MapState"]["ItemProcessor"]["States"]["Boom"] =
        json!({"Type": "Fail", "Error": "Bad", "Cause": "two"});
    def["States"]["MapState"]["ItemProcessor"]["States"]["Ok"] = json!({"Type": "Succeed"});
    let h = Observed::default();
    let out = exec_with(&def, json!([1, 2, 3]), &h).await;
    assert_eq!(out.status.as_str(), "FAILED");
    assert_eq!(
        out.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        out.cause.as_deref(),
        Some("The specified tolerated failure threshold was exceeded")
    );
    let ev = out.history_json();
    let failed = ev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "MapRunFailed")
        .unwrap();
    assert_eq!(
        failed["mapRunFailedEventDetails"],
        json!({"error": "States.ExceedToleratedFailureThreshold",
               "cause": "The specified tolerated failure threshold was exceeded"})
    );
    let types: Vec<&str> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        &types[types.len() - 3..],
        ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    );
    assert_eq!(
        h.runs.lock().unwrap()[0].1.state().status.as_str(),
        "FAILED"
    );
}

/// maprun-fail-threshold.html: failures up to ToleratedFailureCount (or within
/// ToleratedFailurePercentage) let the Map Run succeed; the failed children's places in the
/// output hold their Error and Cause.
#[tokio::test(start_paused = true)]
async fn tolerated_failures_let_the_map_run_succeed() {
    let inner = json!({"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Ok"});
    for extra in [
        json!({"ToleratedFailureCount": 1}),
        json!({"ToleratedFailurePercentage": 34}),
    ] {
        let mut def = dmap(extra.clone(), inner.clone());
        def["States"]["MapState"]["ItemProcessor"]["States"]["Boom"] =
            json!({"Type": "Fail", "Error": "Bad", "Cause": "two"});
        def["States"]["MapState"]["ItemProcessor"]["States"]["Ok"] = json!({"Type": "Succeed"});
        let h = Observed::default();
        let out = exec_with(&def, json!([1, 2, 3]), &h).await;
        assert_eq!(
            out.output,
            Some(json!([1, {"Error": "Bad", "Cause": "two"}, 3])),
            "{extra}"
        );
        let s = h.runs.lock().unwrap()[0].1.state();
        assert_eq!((s.executions.succeeded, s.executions.failed), (2, 1));
    }
    // 1 of 3 is 33.3 %: over a 33 % threshold.
    let mut def = dmap(json!({"ToleratedFailurePercentage": 33}), inner);
    def["States"]["MapState"]["ItemProcessor"]["States"]["Boom"] = json!({"Type": "Fail"});
    def["States"]["MapState"]["ItemProcessor"]["States"]["Ok"] = json!({"Type": "Succeed"});
    let out = exec_with(&def, json!([1, 2, 3]), &Observed::default()).await;
    assert_eq!(
        out.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

/// MaxConcurrency bounds the children running at once (state-map-distributed.html): four
/// ten-second children, two at a time, take twenty virtual seconds; unbounded, ten.
#[tokio::test(start_paused = true)]
async fn max_concurrency_bounds_running_children() {
    for (extra, secs) in [
        (json!({"MaxConcurrency": 2}), 20),
        (json!({"MaxConcurrencyPath": "$.c"}), 20),
        (json!({}), 10),
    ] {
        let mut extra = extra;
        extra["ItemsPath"] = json!("$.xs");
        let def = dmap(
            extra.clone(),
            json!({"Type": "Wait", "Seconds": 10, "End": true}),
        );
        let clock = tokio::time::Instant::now();
        let input = json!({"c": 2, "xs": [1, 2, 3, 4]});
        let out = exec_with(&def, input, &Observed::default()).await;
        assert_eq!(out.status.as_str(), "SUCCEEDED");
        assert_eq!(clock.elapsed(), Duration::from_secs(secs), "{extra}");
    }
}

/// UpdateMapRun (API_UpdateMapRun.html) raises a running Map Run's MaxConcurrency: the waiting
/// children start at once.
#[tokio::test(start_paused = true)]
async fn update_map_run_raises_concurrency_of_a_running_map_run() {
    let def = dmap(
        json!({"MaxConcurrency": 1}),
        json!({"Type": "Wait", "Seconds": 10, "End": true}),
    );
    let machine = StateMachine::parse(&def.to_string()).unwrap();
    let h = Arc::new(Observed::default());
    let h2 = h.clone();
    let t0 = tokio::time::Instant::now();
    let task = tokio::spawn(async move {
        run(
            &machine,
            json!([1, 2, 3, 4]),
            config(),
            &*h2,
            StopSignal::never(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let control = h.runs.lock().unwrap()[0].1.clone();
    assert_eq!(control.state().executions.running, 1);
    control.update(Some(0), None, None);
    let out = task.await.unwrap();
    assert_eq!(out.status.as_str(), "SUCCEEDED");
    // The first child ends at 10 s, the other three (started at 5 s) at 15 s.
    assert_eq!(t0.elapsed(), Duration::from_secs(15));
    assert_eq!(control.state().max_concurrency, 0);
}

/// Stopping the parent stops its Map Run's children (API_MapRunExecutionCounts.html: aborted
/// children were "stopped by the user or by Step Functions"): each running child ends ABORTED
/// and the Map Run too.
#[tokio::test(start_paused = true)]
async fn stopping_the_parent_aborts_the_children() {
    let def = dmap(
        json!({}),
        json!({"Type": "Wait", "Seconds": 100, "End": true}),
    );
    let machine = StateMachine::parse(&def.to_string()).unwrap();
    let h = Arc::new(Observed::default());
    let h2 = h.clone();
    let (stop, signal) = stop_channel();
    let task =
        tokio::spawn(async move { run(&machine, json!([1, 2]), config(), &*h2, signal).await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.stop(None, None);
    let out = task.await.unwrap();
    assert_eq!(out.status.as_str(), "ABORTED");
    let ended = h.ended.lock().unwrap();
    assert_eq!(ended.len(), 2);
    for o in ended.values() {
        assert_eq!(o.status.as_str(), "ABORTED");
        assert_eq!(o.history.last().unwrap().event_type, "ExecutionAborted");
    }
    let s = h.runs.lock().unwrap()[0].1.state();
    assert_eq!(s.status.as_str(), "ABORTED");
    assert_eq!(s.executions.aborted, 2);
}

fn diagnostics(def: &Value) -> Vec<(String, String, String)> {
    validate(&def.to_string(), false)
        .into_iter()
        .map(|d| (d.code.to_string(), d.message, d.location))
        .collect()
}

/// Definitions: a valid Distributed Map validates; ExecutionType is required in DISTRIBUTED
/// mode (state-map-distributed.html, "ItemProcessor"); Label's rules (state-map-distributed.html,
/// "Label"; the messages LocalStack's test_sfn_api_map_run.py checks against AWS); ItemBatcher
/// and Label only in DISTRIBUTED mode; ItemReader and ResultWriter (S3) refused.
#[test]
fn distributed_map_definitions() {
    let pass = json!({"Type": "Pass", "End": true});
    assert_eq!(
        diagnostics(&dmap(json!({"Label": "TestMap"}), pass.clone())),
        []
    );
    let mut def = dmap(json!({}), pass.clone());
    def["States"]["MapState"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED"});
    assert_eq!(
        diagnostics(&def),
        [(
            "SCHEMA_VALIDATION_FAILED".into(),
            "The field \"ExecutionType\" should be non-null".into(),
            "/States/MapState/ItemProcessor/ProcessorConfig".into()
        )]
    );
    for (label, msg) in [
        ("", "Label cannot be empty"),
        (
            "12345678901234567890123456789012345678901",
            "Label cannot exceed 40 characters",
        ),
        ("label_ ", "Label contains invalid character: ' '"),
        ("label_?", "Label contains invalid character: '?'"),
        ("label_:", "Label contains invalid character: ':'"),
    ] {
        let d = diagnostics(&dmap(json!({"Label": label}), pass.clone()));
        assert_eq!(
            d,
            [(
                "SCHEMA_VALIDATION_FAILED".into(),
                msg.into(),
                "/States/MapState/Label".into()
            )],
            "{label:?}"
        );
    }
    let d = diagnostics(&dmap(
        json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
               "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}),
        pass.clone(),
    ));
    let at: Vec<&str> = d.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(
        at,
        [
            "/States/MapState/ItemReader",
            "/States/MapState/ResultWriter"
        ]
    );
    assert!(d[0].1.contains("Amazon S3, which vpcgate does not emulate"));
    let mut inline = dmap(
        json!({"Label": "L", "ItemBatcher": {"MaxItemsPerBatch": 2}}),
        pass.clone(),
    );
    inline["States"]["MapState"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "INLINE"});
    let at: Vec<String> = diagnostics(&inline).into_iter().map(|x| x.2).collect();
    assert_eq!(
        at,
        ["/States/MapState/ItemBatcher", "/States/MapState/Label"]
    );
    let d = diagnostics(&dmap(json!({"ItemBatcher": {}}), pass));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].2, "/States/MapState/ItemBatcher");
    // EXPRESS children may not wait for a task token, as an Express machine may not
    // (AWS-recorded: test_sfn_api_validation.snapshot.json, ILLEGAL_WFTT).
    let mut def = dmap(
        json!({}),
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}),
    );
    assert_eq!(diagnostics(&def), []);
    def["States"]["MapState"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] =
        json!("EXPRESS");
    assert_eq!(
        diagnostics(&def),
        [(
            "SCHEMA_VALIDATION_FAILED".into(),
            "Express state machine does not support '.waitForTaskToken' service integration "
                .into(),
            "/States/MapState/ItemProcessor/States/Inner/Resource".into()
        )]
    );
}

/// Budgets: a Map Run starts at most MAX_MAP_RUN_CHILDREN children; past that the state fails
/// with States.Runtime before any starts (README, Limits).
#[tokio::test(start_paused = true)]
async fn a_map_run_has_a_bounded_number_of_children() {
    let n = vpcgate::asl::MAX_MAP_RUN_CHILDREN + 1;
    let def = dmap(json!({}), json!({"Type": "Pass", "End": true}));
    let h = Observed::default();
    let out = exec_with(&def, Value::Array(vec![json!(0); n]), &h).await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert!(out.cause.as_deref().unwrap().contains("at most 10000"));
    assert!(h.started.lock().unwrap().is_empty());
}
