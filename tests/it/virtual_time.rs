//! `serve`'s virtual clock seen by real clients (issue 13): the world's clock jumps to the next
//! timer whenever every piece of work in flight waits on a timer, and holds while anything
//! real is in flight. boto3 drives `vpcgate serve` (started through the command line, default
//! `--clock virtual`); times are asserted on the execution's own record, and wall time only as a
//! bound far from the virtual figure (half of it), never as a target.

use std::process::{Child, Command};

use serde_json::json;

use crate::serve_conventions::{aws, py, serve};

struct Backend(Child);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_seed_gotcha_times_out_after_60_virtual_seconds_without_waiting_them() {
    // The seed's gotcha (the gateway's group narrowed to the VPC's range): the HTTP Task's SYN
    // is never answered and the 60 s limit ends it with States.Http.Socket.
    let ep = serve(&[
        "--scenario",
        &repo("scenarios/gotcha-narrowed-gateway-sg.json"),
    ]);
    let out = py(
        r#"
import json, sys, time, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
began = time.monotonic()
ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
while True:
    d = sfn.describe_execution(executionArn=ex)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.02)
wall = time.monotonic() - began
events = sfn.get_execution_history(executionArn=ex)["events"]
print(json.dumps({"status": d["status"], "error": d.get("error"), "wall": wall,
    "virtual": (d["stopDate"] - d["startDate"]).total_seconds(),
    "history": (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds()}))
"#,
        &[&ep],
    );
    assert_eq!(out["status"], "FAILED", "{out}");
    assert_eq!(out["error"], "States.Http.Socket", "{out}");
    let virtual_secs = out["virtual"].as_f64().unwrap();
    assert!((60.0..61.0).contains(&virtual_secs), "{out}");
    assert!(
        (60.0..61.0).contains(&out["history"].as_f64().unwrap()),
        "{out}"
    );
    assert!(out["wall"].as_f64().unwrap() < 30.0, "{out}");

    // The AWS CLI sees the same: start, then describe until the execution ends (bounded).
    let arn = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:eb-demo-pattern-a-private";
    let cli = |args: &[&str]| aws(&ep, "test", "test", "ap-northeast-1", args).unwrap();
    let started = cli(&[
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        arn,
    ]);
    let ex = started["executionArn"].as_str().unwrap().to_string();
    let mut described = serde_json::Value::Null;
    for _ in 0..200 {
        described = cli(&[
            "stepfunctions",
            "describe-execution",
            "--execution-arn",
            &ex,
        ]);
        if described["status"] != "RUNNING" {
            break;
        }
    }
    assert_eq!(described["status"], "FAILED", "{described}");
    assert_eq!(described["error"], "States.Http.Socket", "{described}");
}

#[test]
fn a_slow_service_behind_the_alb_still_answers_and_a_one_hour_wait_is_skipped() {
    // The user's own service answers 2 s late (real time): the clock holds while the ALB's
    // socket to it is open, so the ALB's 60 s idle time-out is not skipped past and the answer
    // arrives. A Standard machine waiting an hour finishes at once with a one-hour history.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _backend = Backend(
        Command::new("python3")
            .arg(repo("examples/backend.py"))
            .env("PORT", port.to_string())
            .env("DELAY_SECONDS", "2")
            .spawn()
            .expect("python3 runs the example backend"),
    );
    let dir = std::env::temp_dir().join(format!("vpcgate-virtual-time-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("slow-service.json");
    std::fs::write(
        &scenario,
        json!({
            "Vpcgate": {"Extends": repo("scenarios/user-service.json")},
            "Resources": {"UserServiceTargets": {"Properties": {
                "Port": port, "Targets": [{"Id": "127.0.0.1", "Port": port}]}}}
        })
        .to_string(),
    )
    .unwrap();
    let ep = serve(&["--scenario", scenario.to_str().unwrap()]);
    let out = py(
        r#"
import json, sys, time, urllib.request, vpcgate_client as v
ep, port = sys.argv[1], sys.argv[2]
v.wait_healthy(ep)
for _ in range(200):  # the backend is up (bounded)
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/nothing" % port, timeout=5)
    except urllib.error.HTTPError:
        break
    except Exception:
        time.sleep(0.05)
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "call-user-service"][0]
r = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
slow = {"status": r["status"], "body": json.loads(r.get("output") or "null")}
role = sfn.describe_state_machine(stateMachineArn=arn)["roleArn"]
wait = sfn.create_state_machine(name="an-hour", roleArn=role, definition=json.dumps(
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}))["stateMachineArn"]
began = time.monotonic()
ex = sfn.start_execution(stateMachineArn=wait)["executionArn"]
while True:
    d = sfn.describe_execution(executionArn=ex)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.02)
wall = time.monotonic() - began
events = sfn.get_execution_history(executionArn=ex)["events"]
print(json.dumps({"slow": slow, "wait": {"status": d["status"], "wall": wall,
    "history": (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds()}}))
"#,
        &[&ep, &port.to_string()],
    );
    assert_eq!(out["slow"]["status"], "SUCCEEDED", "{out}");
    assert_eq!(
        out["slow"]["body"]["ResponseBody"]["message"], "hello from your service",
        "{out}"
    );
    assert_eq!(out["wait"]["status"], "SUCCEEDED", "{out}");
    let history = out["wait"]["history"].as_f64().unwrap();
    assert!((3600.0..3601.0).contains(&history), "{out}");
    assert!(out["wait"]["wall"].as_f64().unwrap() < 1800.0, "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn two_world_threads_share_one_state_and_each_skips_its_own_waits() {
    // `--world-threads 2`: each host connection is served by one world thread in turn, so two
    // boto3 clients (a connection each) land on different shards. One starts hour-long Standard
    // executions, the other describes them: one state, and each shard's clock skips the waits
    // of the executions it runs, with their records' times in order.
    let ep = serve(&["--world-threads", "2"]);
    let out = py(
        r#"
import json, sys, time, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
a = v.client("stepfunctions", ep, region="ap-northeast-1")
b = v.client("stepfunctions", ep, region="ap-northeast-1")
role = a.describe_state_machine(stateMachineArn=a.list_state_machines()["stateMachines"][0]["stateMachineArn"])["roleArn"]
wait = a.create_state_machine(name="an-hour", roleArn=role, definition=json.dumps(
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
                                 "P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
began = time.monotonic()
started = [a.start_execution(stateMachineArn=wait)["executionArn"],
           b.start_execution(stateMachineArn=wait)["executionArn"]]
done = {}
for _ in range(2000):
    for ex, c in zip(started, (b, a)):  # each described from the other client's shard
        d = c.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING":
            done[ex] = d
    if len(done) == 2:
        break
    time.sleep(0.01)
wall = time.monotonic() - began
out = []
for ex in started:
    d = done.get(ex) or a.describe_execution(executionArn=ex)
    events = b.get_execution_history(executionArn=ex)["events"]
    stamps = [e["timestamp"] for e in events]
    out.append({"status": d["status"],
                "ran": (d["stopDate"] - d["startDate"]).total_seconds() if "stopDate" in d else None,
                "history": (stamps[-1] - stamps[0]).total_seconds(),
                "in_order": all(x <= y for x, y in zip(stamps, stamps[1:]))})
print(json.dumps({"wall": wall, "executions": out}))
"#,
        &[&ep],
    );
    for ex in out["executions"].as_array().unwrap() {
        assert_eq!(ex["status"], "SUCCEEDED", "{out}");
        // (Within tokio's timer resolution, a millisecond.)
        assert!(ex["ran"].as_f64().unwrap() >= 3599.999, "{out}");
        assert!(ex["history"].as_f64().unwrap() >= 3599.999, "{out}");
        assert_eq!(ex["in_order"], true, "{out}");
    }
    assert!(out["wall"].as_f64().unwrap() < 1800.0, "{out}");
}
