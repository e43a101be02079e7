//! Step Functions APIs of issue 19 on `vpcgate serve`, driven with boto3: definition validation
//! with AWS's diagnostics (shapes AWS-recorded in LocalStack's
//! tests/aws/services/stepfunctions/v2/test_sfn_api_validation.snapshot.json).

use crate::serve_conventions::{py, serve};
use serde_json::json;

use vpcgate_tests::repo;

/// test_sfn_api_validation.snapshot.json: NOT_A_DEF, EMPTY_DICT,
/// INVALID_BASE_NO_STARTAT, VALID_BASE_PASS, INVALID_DOWNGRADE_QUERY_LANGUAGE and ILLEGAL_WFTT
/// (EXPRESS); (EMPTY_STRING, which boto3 refuses to send, is asserted in asl::recorded);
/// CreateStateMachine refuses the same definitions with InvalidDefinition.
#[test]
fn validate_state_machine_definition_gives_aws_diagnostics() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
def val(d, **kw):
    r = sfn.validate_state_machine_definition(definition=d, **kw)
    r.pop("ResponseMetadata", None)
    return r
wftt = {"StartAt": "SendMessageWithWait", "States": {"SendMessageWithWait": {"Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"}, "End": True}}}
out = {
  "not_a_def": val("not a definition"),
  "empty_dict": val("{}"),
  "no_startat": val(json.dumps({"States": {"P": {"Type": "Pass", "End": True}}})),
  "valid": val(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})),
  "downgrade": val(json.dumps({"QueryLanguage": "JSONata", "StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}}})),
  "wftt_standard": val(json.dumps(wftt), type="STANDARD"),
  "wftt_express": val(json.dumps(wftt), type="EXPRESS"),
}
role = v.role("123456789012", ep)
try:
    sfn.create_state_machine(name="x", definition=json.dumps(wftt), roleArn=role, type="EXPRESS")
    out["create_express"] = "ok"
except sfn.exceptions.ClientError as e:
    out["create_express"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
v.emit(out)
"#,
        &[&ep],
    );
    let fail = |diag: serde_json::Value| json!({"result": "FAIL", "diagnostics": [diag], "truncated": false});
    assert_eq!(
        out["not_a_def"]["diagnostics"][0]["code"],
        "INVALID_JSON_DESCRIPTION"
    );
    assert_eq!(out["not_a_def"]["result"], "FAIL");
    assert_eq!(
        out["empty_dict"],
        fail(
            json!({"code": "SCHEMA_VALIDATION_FAILED", "location": "/", "message": "These fields are required: [States, StartAt]", "severity": "ERROR"})
        )
    );
    assert_eq!(
        out["no_startat"],
        fail(
            json!({"code": "SCHEMA_VALIDATION_FAILED", "location": "/", "message": "These fields are required: [StartAt]", "severity": "ERROR"})
        )
    );
    assert_eq!(
        out["valid"],
        json!({"result": "OK", "diagnostics": [], "truncated": false})
    );
    assert_eq!(
        out["downgrade"],
        fail(
            json!({"code": "SCHEMA_VALIDATION_FAILED", "location": "/States/Pass", "message": "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", "severity": "ERROR"})
        )
    );
    assert_eq!(out["wftt_standard"]["result"], "OK", "{out}");
    assert_eq!(
        out["wftt_express"],
        fail(
            json!({"code": "SCHEMA_VALIDATION_FAILED", "location": "/States/SendMessageWithWait/Resource", "message": "Express state machine does not support '.waitForTaskToken' service integration ", "severity": "ERROR"})
        )
    );
    assert_eq!(
        out["create_express"],
        json!([
            "InvalidDefinition",
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/SendMessageWithWait/Resource'"
        ])
    );
}

/// An activity worker with boto3: GetActivityTask hands the task (token and input) to one
/// worker, SendTaskHeartbeat keeps it alive, SendTaskSuccess / SendTaskFailure end it, a worker
/// that stops heartbeating fails it with States.HeartbeatTimeout, and an answered or made-up
/// token is refused (TaskTimedOut, InvalidToken). Events and errors as AWS recorded them in
/// LocalStack's activities/test_activities.snapshot.json and test_sfn_api_activities.snapshot.json.
#[test]
fn activity_worker_and_task_tokens_on_serve() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, time, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
role = v.role("123456789012", ep)
act = sfn.create_activity(name="worker-queue")["activityArn"]
out = {"arn": act, "again": sfn.create_activity(name="worker-queue")["activityArn"]}
d = sfn.describe_activity(activityArn=act)
out["describe"] = [d["name"], d["encryptionConfiguration"]]
out["list"] = [a["name"] for a in sfn.list_activities()["activities"]]
# Nothing queued and nothing running: the 60 s long-poll passes on the virtual clock.
t0 = time.time()
empty = sfn.get_activity_task(activityArn=act, workerName="w0")
out["empty"] = "taskToken" not in empty
out["empty_wall_seconds_under_10"] = time.time() - t0 < 10
machine = {"StartAt": "ActivityTask", "States": {"ActivityTask": {"Type": "Task", "Resource": act,
    "Parameters": {"v.$": "$.v", "token.$": "$$.Task.Token"}, "TimeoutSeconds": 60, "HeartbeatSeconds": 2, "End": True}}}
sm = sfn.create_state_machine(name="act", definition=json.dumps(machine), roleArn=role)["stateMachineArn"]

def run(worker):
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"v": 1}))["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="w1")
    r = worker(task)
    d = v.wait_execution(sfn, ex, seconds=30)
    h = sfn.get_execution_history(executionArn=ex)["events"]
    return task, r, d, h

def ok(task):
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"done": True}))
    return [v.code(sfn.send_task_success, taskToken=task["taskToken"], output="{}"),
            v.code(sfn.send_task_heartbeat, taskToken="not-a-token")]
task, r, d, h = run(ok)
inp = json.loads(task["input"])
out["success"] = {"input_v": inp["v"], "token_in_input": inp["token"] == task["taskToken"],
    "status": d["status"], "output": json.loads(d["output"]), "after": r,
    "events": [e["type"] for e in h],
    "started": h[3].get("activityStartedEventDetails"),
    "scheduled": sorted(h[2]["activityScheduledEventDetails"].keys())}

def fail(task):
    sfn.send_task_failure(taskToken=task["taskToken"], error="Programmatic Error", cause="it broke")
task, r, d, h = run(fail)
out["failure"] = {"status": d["status"], "error": d.get("error"), "cause": d.get("cause"), "events": [e["type"] for e in h]}

task, r, d, h = run(lambda task: None)  # takes the task, never heartbeats
out["heartbeat"] = {"status": d["status"], "error": d.get("error"), "events": [e["type"] for e in h],
    "timed_out": h[-2].get("activityTimedOutEventDetails")}

sfn.delete_activity(activityArn=act)
ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"v": 1}))["executionArn"]
d = v.wait_execution(sfn, ex)
out["deleted"] = {"status": d["status"], "error": d.get("error"), "cause": d.get("cause")}
out["describe_deleted"] = v.code(sfn.describe_activity, activityArn=act)
v.emit(out)
"#,
        &[&ep],
    );
    let act = out["arn"].as_str().unwrap();
    assert_eq!(
        act,
        "arn:aws:states:us-east-1:123456789012:activity:worker-queue"
    );
    assert_eq!(out["again"], act);
    assert_eq!(
        out["describe"],
        json!(["worker-queue", {"type": "AWS_OWNED_KEY"}])
    );
    assert_eq!(out["list"], json!(["worker-queue"]));
    assert_eq!(out["empty"], true, "{out}");
    assert_eq!(out["empty_wall_seconds_under_10"], true);
    let s = &out["success"];
    assert_eq!(s["input_v"], 1);
    assert_eq!(
        s["token_in_input"], true,
        "$$.Task.Token is the worker's token"
    );
    assert_eq!(s["status"], "SUCCEEDED", "{out}");
    assert_eq!(s["output"], json!({"done": true}));
    assert_eq!(s["after"], json!(["TaskTimedOut", "InvalidToken"]));
    assert_eq!(
        s["events"],
        json!([
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ])
    );
    assert_eq!(s["started"], json!({"workerName": "w1"}));
    assert_eq!(
        s["scheduled"],
        json!([
            "heartbeatInSeconds",
            "input",
            "inputDetails",
            "resource",
            "timeoutInSeconds"
        ])
    );
    let f = &out["failure"];
    assert_eq!(f["status"], "FAILED");
    assert_eq!(f["error"], "Programmatic Error");
    assert_eq!(f["cause"], "it broke");
    assert_eq!(
        f["events"],
        json!([
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityFailed",
            "ExecutionFailed"
        ])
    );
    let hb = &out["heartbeat"];
    assert_eq!(hb["status"], "FAILED");
    assert_eq!(hb["error"], "States.HeartbeatTimeout");
    assert_eq!(hb["timed_out"], json!({"error": "States.HeartbeatTimeout"}));
    assert_eq!(out["deleted"]["status"], "FAILED");
    assert_eq!(out["deleted"]["error"], "States.Runtime");
    assert_eq!(
        out["deleted"]["cause"],
        format!(
            "An error occurred while executing the state 'ActivityTask' (entered at the event id #2). The activity {act} does not exist."
        )
    );
    assert_eq!(out["describe_deleted"], "ActivityDoesNotExist");
}

/// RedriveExecution as AWS documents it (redrive-executions.html): a FAILED Standard execution
/// starts again from the state that failed (not from StartAt), in the same history after an
/// `ExecutionRedriven` event, with `$$.Execution.RedriveCount` and DescribeExecution's
/// redriveCount/redriveStatus moving on; a SUCCEEDED one is ExecutionNotRedrivable with the
/// reason AWS records ("Execution is SUCCEEDED and cannot be redriven", LocalStack snapshots).
#[test]
fn redrive_a_failed_execution_from_the_failed_state() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
role = v.role("123456789012", ep)
act = sfn.create_activity(name="flaky")["activityArn"]
machine = {"StartAt": "Before", "States": {
    "Before": {"Type": "Pass", "Assign": {"seen": 1}, "Next": "Work"},
    "Work": {"Type": "Task", "Resource": act, "Parameters": {"n.$": "$$.Execution.RedriveCount", "seen.$": "$seen"}, "End": True}}}
sm = sfn.create_state_machine(name="redrive", definition=json.dumps(machine), roleArn=role)["stateMachineArn"]
ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
t = sfn.get_activity_task(activityArn=act)
sfn.send_task_failure(taskToken=t["taskToken"], error="Flaky", cause="first try")
d = v.wait_execution(sfn, ex)
out = {"first": [d["status"], d["redriveStatus"], d["redriveCount"], json.loads(t["input"])]}
r = sfn.redrive_execution(executionArn=ex)
out["redrive_date"] = "redriveDate" in r
t = sfn.get_activity_task(activityArn=act)
sfn.send_task_success(taskToken=t["taskToken"], output=json.dumps({"ok": True}))
d = v.wait_execution(sfn, ex)
h = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
out["second"] = [d["status"], json.loads(d["output"]), d["redriveCount"], d["redriveStatus"], d.get("redriveStatusReason"), "redriveDate" in d, json.loads(t["input"])]
out["history"] = h
out["again"] = v.code(sfn.redrive_execution, executionArn=ex)
try:
    sfn.redrive_execution(executionArn=ex)
except sfn.exceptions.ClientError as e:
    out["again_message"] = e.response["Error"]["Message"]
v.emit(out)
"#,
        &[&ep],
    );
    assert_eq!(
        out["first"],
        json!(["FAILED", "REDRIVABLE", 0, {"n": 0, "seen": 1}]),
        "{out}"
    );
    assert_eq!(out["redrive_date"], true);
    assert_eq!(
        out["second"],
        json!([
            "SUCCEEDED",
            {"ok": true},
            1,
            "NOT_REDRIVABLE",
            "Execution is SUCCEEDED and cannot be redriven",
            true,
            {"n": 1, "seen": 1}
        ]),
        "{out}"
    );
    assert_eq!(
        out["history"],
        json!([
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityFailed",
            "ExecutionFailed",
            "ExecutionRedriven",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ])
    );
    assert_eq!(out["again"], "ExecutionNotRedrivable");
    assert_eq!(
        out["again_message"],
        "Execution is SUCCEEDED and cannot be redriven"
    );
}

/// `states:startExecution.sync:2` and `.sync` on a vpcgate state machine: the parent waits for
/// the child and gets its DescribeExecution fields (Input/Output as JSON with `:2`, as strings
/// without); a failing child fails the task with States.TaskFailed and those fields (with
/// Error and Cause) as the cause. AWS-recorded in LocalStack's callback/test_callback.snapshot.json
/// (test_start_execution_sync2, test_start_execution_sync, _sync_delegate_failure).
#[test]
fn start_execution_sync_runs_a_child_machine() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
role = v.role("123456789012", ep)
child = sfn.create_state_machine(name="child", roleArn=role, definition=json.dumps(
    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}}))["stateMachineArn"]
bad = sfn.create_state_machine(name="bad", roleArn=role, definition=json.dumps(
    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}}}))["stateMachineArn"]
def parent(name, resource):
    return sfn.create_state_machine(name=name, roleArn=role, definition=json.dumps(
        {"StartAt": "StartExecution", "States": {"StartExecution": {"Type": "Task", "Resource": resource,
            "Parameters": {"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input", "Name.$": "$.Name"}, "End": True}}}))["stateMachineArn"]
p2 = parent("parent2", "arn:aws:states:::states:startExecution.sync:2")
p1 = parent("parent1", "arn:aws:states:::states:startExecution.sync")
out = {}
for key, p, target, name in [("sync2", p2, child, "c2"), ("sync", p1, child, "c1"), ("fail", p2, bad, "c3")]:
    ex = sfn.start_execution(stateMachineArn=p, input=json.dumps({"StateMachineArn": target, "Input": None, "Name": name}))["executionArn"]
    d = v.wait_execution(sfn, ex)
    h = sfn.get_execution_history(executionArn=ex)["events"]
    out[key] = {"status": d["status"], "output": json.loads(d.get("output") or "null"), "error": d.get("error"),
        "cause": json.loads(d["cause"]) if d.get("cause") else None, "events": [e["type"] for e in h]}
v.emit(out)
"#,
        &[&ep],
    );
    let child = "arn:aws:states:us-east-1:123456789012:stateMachine:child";
    let s2 = &out["sync2"];
    assert_eq!(s2["status"], "SUCCEEDED", "{out}");
    assert_eq!(s2["output"]["Output"], json!({"Arg1": "argument1"}));
    assert_eq!(s2["output"]["Input"], json!({}));
    assert_eq!(s2["output"]["Status"], "SUCCEEDED");
    assert_eq!(s2["output"]["StateMachineArn"], child);
    assert_eq!(
        s2["output"]["ExecutionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:child:c2"
    );
    assert_eq!(
        s2["events"],
        json!([
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ])
    );
    assert_eq!(
        out["sync"]["output"]["Output"],
        json!("{\"Arg1\":\"argument1\"}")
    );
    assert_eq!(out["sync"]["output"]["Input"], json!("{}"));
    let f = &out["fail"];
    assert_eq!(f["status"], "FAILED");
    assert_eq!(f["error"], "States.TaskFailed");
    assert_eq!(f["cause"]["Error"], "SomeFailure");
    assert_eq!(
        f["cause"]["Cause"],
        "This state machines raises a 'SomeFailure' failure."
    );
    assert_eq!(f["cause"]["Status"], "FAILED");
}

/// A Distributed Map on `serve` (state-map-distributed.html): ListMapRuns and DescribeMapRun
/// answer with the shapes AWS recorded (LocalStack test_sfn_api_map_run.snapshot.json,
/// test_list_map_runs_and_describe_map_run: the Map Run's ARN, the children's state machine
/// `<machine>/<label>`, maxConcurrency 1, toleratedFailureCount 0, toleratedFailurePercentage
/// 0.0, itemCounts / executionCounts); ListExecutions with `mapRunArn` lists the child
/// executions, DescribeExecution of a child gives its `mapRunArn`, GetExecutionHistory its own
/// history; UpdateMapRun changes maxConcurrency; an unknown Map Run is ResourceNotFound.
#[test]
fn distributed_map_runs_on_serve() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
role = v.role("123456789012", ep)
machine = {"StartAt": "MapState", "States": {"MapState": {"Type": "Map", "MaxConcurrency": 1, "Label": "TestMap",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "IteratorInner", "States": {"IteratorInner": {"Type": "Pass", "End": True}}}, "End": True}}}
sm = sfn.create_state_machine(name="dmap", definition=json.dumps(machine), roleArn=role)["stateMachineArn"]
ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps(["Hello", "World"]))["executionArn"]
d = v.wait_execution(sfn, ex)
out = {"status": d["status"], "output": json.loads(d["output"])}
runs = sfn.list_map_runs(executionArn=ex)["mapRuns"]
out["runs"] = [{k: r[k] for k in ("executionArn", "mapRunArn", "stateMachineArn")} | {"dates": ["startDate" in r, "stopDate" in r]} for r in runs]
mr = runs[0]["mapRunArn"]
dm = sfn.describe_map_run(mapRunArn=mr)
dm.pop("ResponseMetadata")
out["describe"] = {k: (v_ if not hasattr(v_, "isoformat") else "date") for k, v_ in dm.items()}
kids = sfn.list_executions(mapRunArn=mr)["executions"]
out["kids"] = [[k["status"], k["stateMachineArn"], k.get("mapRunArn")] for k in kids]
kid = sfn.describe_execution(executionArn=kids[0]["executionArn"])
out["kid"] = [kid["mapRunArn"], kid["stateMachineArn"], kid["status"], kids[0]["executionArn"].split(":")[5:7]]
out["kid_history"] = [e["type"] for e in sfn.get_execution_history(executionArn=kids[0]["executionArn"])["events"]]
sfn.update_map_run(mapRunArn=mr, maxConcurrency=5, toleratedFailureCount=2)
dm = sfn.describe_map_run(mapRunArn=mr)
out["updated"] = [dm["maxConcurrency"], dm["toleratedFailureCount"]]
out["missing"] = v.code(sfn.describe_map_run, mapRunArn=mr[:-3] + "abc")
out["bad_arn"] = v.code(sfn.describe_map_run, mapRunArn=ex)
v.emit(out)
"#,
        &[&ep],
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!(["Hello", "World"]));
    let ex = "arn:aws:states:us-east-1:123456789012:execution:dmap:";
    let run = &out["runs"][0];
    assert!(run["executionArn"].as_str().unwrap().starts_with(ex));
    let mr = run["mapRunArn"].as_str().unwrap();
    assert!(
        mr.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:dmap/TestMap:"),
        "{mr}"
    );
    let child_sm = "arn:aws:states:us-east-1:123456789012:stateMachine:dmap/TestMap";
    assert_eq!(run["stateMachineArn"], child_sm);
    assert_eq!(run["dates"], json!([true, true]));
    let counts = json!({"aborted": 0, "failed": 0, "pending": 0, "resultsWritten": 0,
        "running": 0, "succeeded": 2, "timedOut": 0, "total": 2});
    let d = &out["describe"];
    assert_eq!(d["status"], "SUCCEEDED", "{out}");
    assert_eq!(d["maxConcurrency"], 1);
    assert_eq!(d["toleratedFailureCount"], 0);
    assert_eq!(d["toleratedFailurePercentage"], 0.0);
    assert_eq!(d["itemCounts"], counts);
    assert_eq!(d["executionCounts"], counts);
    assert_eq!(
        (d["startDate"].clone(), d["stopDate"].clone()),
        (json!("date"), json!("date"))
    );
    assert_eq!(d["mapRunArn"], mr);
    assert_eq!(
        out["kids"],
        json!([["SUCCEEDED", child_sm, mr], ["SUCCEEDED", child_sm, mr]])
    );
    assert_eq!(out["kid"][0], mr);
    assert_eq!(out["kid"][1], child_sm);
    assert_eq!(out["kid"][3], json!(["execution", "dmap/TestMap"]));
    assert_eq!(
        out["kid_history"],
        json!([
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ])
    );
    assert_eq!(out["updated"], json!([5, 2]));
    assert_eq!(out["missing"], "ResourceNotFound");
    assert_eq!(out["bad_arn"], "InvalidArn");
}

/// `states:startExecution` from StartSyncExecution: an EXPRESS machine starts a STANDARD child
/// (the request-response form; EXPRESS machines may not hold `.sync`, refused at create as AWS
/// records: test_sfn_api_express.snapshot.json), and the child runs in the scope's store.
/// Stopping a `.sync` parent stops the child it waits for (connect-to-resource.html#connect-sync).
#[test]
fn start_execution_from_sync_express_and_stop_parent_stops_child() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, time, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)
role = v.role("123456789012", ep)
child = sfn.create_state_machine(name="child", roleArn=role, definition=json.dumps(
    {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
def task(resource):
    return json.dumps({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": resource,
        "Parameters": {"StateMachineArn": child, "Input": {"a": 1}, "Name": "kid"}, "End": True}}})
out = {}
try:
    sfn.create_state_machine(name="x", roleArn=role, type="EXPRESS", definition=task("arn:aws:states:::states:startExecution.sync:2"))
except sfn.exceptions.ClientError as e:
    out["express_sync"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
ex = sfn.create_state_machine(name="fire", roleArn=role, type="EXPRESS", definition=task("arn:aws:states:::states:startExecution"))["stateMachineArn"]
r = sfn.start_sync_execution(stateMachineArn=ex, input="{}")
out["sync"] = [r["status"], json.loads(r["output"])["ExecutionArn"]]
d = v.wait_execution(sfn, json.loads(r["output"])["ExecutionArn"])
out["kid"] = [d["status"], json.loads(d["input"])]
# A .sync parent whose child waits on an activity worker; stopping the parent stops the child.
act = sfn.create_activity(name="never")["activityArn"]
slow = sfn.create_state_machine(name="slow", roleArn=role, definition=json.dumps(
    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "End": True}}}))["stateMachineArn"]
parent = sfn.create_state_machine(name="parent", roleArn=role, definition=json.dumps(
    {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": slow, "Name": "slowkid"}, "End": True}}}))["stateMachineArn"]
p = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
kid = slow.replace(":stateMachine:", ":execution:") + ":slowkid"
for _ in range(100):
    if v.code(sfn.describe_execution, executionArn=kid) == "ok":
        break
    time.sleep(0.05)
sfn.stop_execution(executionArn=p)
out["parent"] = v.wait_execution(sfn, p)["status"]
out["slowkid"] = v.wait_execution(sfn, kid)["status"]
v.emit(out)
"#,
        &[&ep],
    );
    assert_eq!(
        out["express_sync"],
        json!([
            "InvalidDefinition",
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource'"
        ]),
        "{out}"
    );
    assert_eq!(
        out["sync"],
        json!([
            "SUCCEEDED",
            "arn:aws:states:us-east-1:123456789012:execution:child:kid"
        ])
    );
    assert_eq!(out["kid"], json!(["SUCCEEDED", {"a": 1}]));
    assert_eq!(out["parent"], "ABORTED");
    assert_eq!(out["slowkid"], "ABORTED");
}
