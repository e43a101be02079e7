//! `vpcgate serve` driven by real AWS clients (boto3, the AWS CLI): they sign with SigV4 and
//! speak the JSON protocols, so they check the emulator against code nobody here wrote.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use vpcgate::clock::Clock;
use vpcgate::edge::{AuthMode, Edge};
use vpcgate::world::World;
use vpcgate_tests::scenario;

/// Serves `model`'s world with `serve`'s edge on an ephemeral loopback port, on a runtime of its
/// own (real time: real clients talk to it over real sockets); returns the address.
fn serve_model(model: vpcgate::model::Model, auth: AuthMode) -> SocketAddr {
    serve_model_with(model, auth, vpcgate::edge::LocalEndpoint::default())
}

/// [`serve_model`] with `/_vpcgate/*` rules of its own.
pub(crate) fn serve_model_with(
    model: vpcgate::model::Model,
    auth: AuthMode,
    local: vpcgate::edge::LocalEndpoint,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let world = World::build(model, Clock::system()).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            vpcgate::edge::run(
                listener,
                Arc::new(Edge::new(world, auth).with_local(local)),
                std::future::pending(),
            )
            .await;
        });
    });
    rx.recv().unwrap()
}

/// Starts `serve` on the bundled Pattern A scenario on an ephemeral loopback port, on a runtime
/// of its own (real time: real clients talk to it over real sockets).
pub(crate) fn start(auth: AuthMode) -> (SocketAddr, String, String) {
    let s = scenario("pattern-a.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    let conn = model
        .connections
        .iter()
        .find(|c| c.name == "eb-demo-private-connection")
        .unwrap()
        .arn
        .clone();
    let role = model.roles[0].arn.clone();
    let served = serve_model(model, auth);
    (served, conn, role)
}

fn python(script: &str, args: &[&str]) -> Value {
    let path = format!("{}/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("python3 runs (the README's test command installs boto3)");
    assert!(
        out.status.success(),
        "{script} failed (pip install boto3 botocore awscli?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn boto3_runs_the_seed_pattern_a_workflow_and_gets_typed_errors() {
    let (addr, conn, role) = start(AuthMode::Verify);
    let out = python(
        "boto3_stepfunctions.py",
        &[&format!("http://{addr}"), &conn, &role],
    );

    // StartSyncExecution: `output` is a JSON string holding the task's output (seed 002).
    let sync = &out["sync"];
    assert_eq!(sync["status"], "SUCCEEDED");
    assert_eq!(sync["outputIsString"], true);
    let output = &sync["output"];
    assert_eq!(output["StatusCode"], 200);
    assert_eq!(output["StatusText"], "OK");
    assert_eq!(
        output["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    assert_eq!(output["Headers"]["server"], json!(["awselb/2.0"]));
    assert_eq!(
        output["Headers"]["content-type"],
        json!(["application/json; charset=utf-8"])
    );
    assert_eq!(output["Headers"]["content-length"], json!(["39"]));
    assert!(
        output["Headers"]["date"][0]
            .as_str()
            .unwrap()
            .ends_with(" GMT")
    );
    assert_eq!(sync["billing"]["billedMemoryUsedInMB"], 64);
    assert!(
        sync["arn"]
            .as_str()
            .unwrap()
            .contains(":express:eb-demo-pattern-a-express:")
    );

    assert_eq!(out["missing"]["code"], "StateMachineDoesNotExist");
    assert!(
        out["missing"]["message"]
            .as_str()
            .unwrap()
            .starts_with("State Machine Does Not Exist: 'arn:aws:states:")
    );
    assert!(
        out["invalidDefinition"]
            .as_str()
            .unwrap()
            .contains("MISSING_TRANSITION_TARGET"),
        "{}",
        out["invalidDefinition"]
    );

    assert_eq!(
        out["failed"],
        json!({"status": "FAILED", "error": "Custom.Broken", "cause": "it broke", "input": "{\"a\":1}"})
    );
    assert_eq!(
        out["history"],
        json!(["ExecutionStarted", "FailStateEntered", "ExecutionFailed"])
    );
    assert_eq!(out["executions"], json!(["FAILED"]));
    assert_eq!(
        out["timedOut"],
        json!({"status": "TIMED_OUT", "error": "States.Timeout"})
    );
}

#[test]
fn unsigned_and_badly_signed_requests_get_aws_errors() {
    let (addr, _, _) = start(AuthMode::Verify);
    let script = r#"
import json, sys, boto3
from botocore import UNSIGNED
from botocore.config import Config
ep = sys.argv[1]
out = {}
def call(**kw):
    c = boto3.client("stepfunctions", endpoint_url=ep, region_name="ap-northeast-1", **kw)
    try:
        c.list_state_machines()
        return "ok"
    except c.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
out["unsigned"] = call(config=Config(signature_version=UNSIGNED))
out["wrongSecret"] = call(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="nope")
out["unknownKey"] = call(aws_access_key_id="AKIAUNKNOWNKEY000000", aws_secret_access_key="nope")
out["good"] = call(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["unsigned"],
        json!(["MissingAuthenticationTokenException", 400])
    );
    assert_eq!(v["wrongSecret"], json!(["InvalidSignatureException", 400]));
    // A key vpcgate holds no secret for is the root of its (default) account, unchecked
    // (`--strict-credentials` refuses it: serve_conventions).
    assert_eq!(v["unknownKey"], "ok");
    assert_eq!(v["good"], "ok");
}

#[test]
fn the_aws_cli_lists_and_runs_state_machines() {
    let (addr, _, _) = start(AuthMode::Verify);
    let run = |args: &[&str]| {
        let out = Command::new("aws")
            .args(args)
            .args([
                "--endpoint-url",
                &format!("http://{addr}"),
                "--output",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .env("AWS_DEFAULT_REGION", "ap-northeast-1")
            // The CLI's equivalent of boto3's inject_host_prefix=False (README).
            .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
            .output()
            .expect("the AWS CLI runs (the README's test command installs awscli)");
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let list = run(&["stepfunctions", "list-state-machines"]);
    assert_eq!(
        list["stateMachines"][0]["name"],
        "eb-demo-pattern-a-private"
    );
    let arn = list["stateMachines"][0]["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let started = run(&[
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        &arn,
        "--name",
        "cli-run",
    ]);
    let exec = started["executionArn"].as_str().unwrap().to_string();
    assert!(exec.ends_with(":execution:eb-demo-pattern-a-private:cli-run"));
    let conns = run(&["events", "list-connections"]);
    let names: Vec<&str> = conns["Connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eb-demo-private-connection", "eb-demo-public-connection"]
    );
    let private = run(&[
        "events",
        "describe-connection",
        "--name",
        "eb-demo-private-connection",
    ]);
    assert_eq!(private["ConnectionState"], "ACTIVE");
    assert!(
        private["SecretArn"]
            .as_str()
            .unwrap()
            .contains(":secret:events!connection/eb-demo-private-connection/")
    );
    assert!(private["InvocationConnectivityParameters"]["ResourceParameters"]["ResourceConfigurationArn"].as_str().unwrap().contains(":resourceconfiguration/rcfg-"));
}

#[test]
fn test_state_trace_shows_the_raw_exchange_and_hides_connection_secrets() {
    let (addr, conn, role) = start(AuthMode::Verify);
    let script = r#"
import json, sys, boto3
ep, conn, role = sys.argv[1:4]
from botocore.config import Config
# TestState, like StartSyncExecution, goes to "sync-<host>" unless host prefixes are off.
sfn = boto3.client("stepfunctions", endpoint_url=ep, region_name="ap-northeast-1",
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    config=Config(inject_host_prefix=False))
state = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
    "Parameters": {"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET",
                   "Headers": {"x-task-header": "visible"}, "Authentication": {"ConnectionArn": conn}}})
out = {}
for reveal in (False, True):
    r = sfn.test_state(definition=state, roleArn=role, input="{}", inspectionLevel="TRACE", revealSecrets=reveal)
    out[str(reveal)] = {"status": r["status"], "request": r["inspectionData"]["request"], "response": r["inspectionData"]["response"]}
try:
    sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), roleArn=role, inspectionLevel="TRACE")
except sfn.exceptions.ClientError as e:
    out["passTrace"] = e.response["Error"]["Code"]
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(&conn)
        .arg(&role)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hidden = &v["False"];
    assert_eq!(hidden["status"], "SUCCEEDED");
    let headers = hidden["request"]["headers"].as_str().unwrap();
    assert!(
        headers.starts_with('[') && headers.contains("x-task-header: visible"),
        "{headers}"
    );
    assert!(
        headers.contains("User-Agent: Amazon|StepFunctions|HttpInvoke|ap-northeast-1"),
        "{headers}"
    );
    assert!(headers.contains("Range: bytes=0-262144"), "{headers}");
    assert!(
        !headers.contains("x-dummy-key"),
        "the connection's API key is a secret: {headers}"
    );
    assert_eq!(hidden["request"]["url"], "https://eb-demo.example.com/");
    assert_eq!(hidden["response"]["statusCode"], "200");
    assert_eq!(hidden["response"]["statusMessage"], "OK");
    assert_eq!(
        hidden["response"]["body"],
        "{\"status\":\"ok\",\"source\":\"internal-alb\"}"
    );
    assert!(
        v["True"]["request"]["headers"]
            .as_str()
            .unwrap()
            .contains("x-dummy-key: dummy")
    );
    assert_eq!(v["passTrace"], "ValidationException");
}

#[test]
fn serve_runs_the_seed_templates_as_stacks() {
    // `vpcgate serve --stack … --stack … --environment …`, the README's command for the seed's
    // two YAML templates, driven by boto3.
    let fixtures = format!("{}/fixtures/templates/seed-000", env!("CARGO_MANIFEST_DIR"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = vec![
        "vpcgate".to_string(),
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--stack".into(),
        format!("eb-connection-infra={fixtures}/01-infra.yaml"),
        "--stack".into(),
        format!("eb-connection-sfn={fixtures}/02-stepfunctions.yaml"),
        "--environment".into(),
        format!("{fixtures}/environment.json"),
        "--ca-dir".into(),
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("vpcgate-serve-ca-{port}"))
            .display()
            .to_string(),
    ];
    std::thread::spawn(move || vpcgate::cli::run(args));
    let ep = format!("http://127.0.0.1:{port}");
    let v: Value = crate::serve_conventions::py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep, key="AKIAIOSFODNN7EXAMPLE",
               secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region="ap-northeast-1")
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "eb-demo-pattern-a-private"][0]
d = v.wait_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
v.emit({"status": d["status"], "output": json.loads(d.get("output") or "null")})
"#,
        &[&ep],
    );
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"]["StatusCode"], 200);
    assert_eq!(
        v["output"]["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    assert_eq!(v["output"]["Headers"]["server"], json!(["awselb/2.0"]));
    assert_eq!(
        v["output"]["Headers"]["content-type"],
        json!(["application/json; charset=utf-8"])
    );
}

#[test]
fn serve_answers_api_gateway_by_host_and_by_path() {
    let s = scenario("pattern-b.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    let api = model.apigw.rest_apis[0].id.clone();
    let served = serve_model(model, AuthMode::Verify);
    let addr = served;
    let script = r#"
import json, sys, time, urllib.request, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ep, api = sys.argv[1:3]
creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
def call(url, host=None, sign=True):
    headers = {"Host": host} if host else {}
    req = AWSRequest(method="GET", url=url, headers=headers)
    if sign:
        SigV4Auth(creds, "execute-api", "ap-northeast-1").add_auth(req)
    r = urllib.request.Request(url, headers=dict(req.headers), method="GET")
    try:
        resp = urllib.request.urlopen(r)
        return [resp.status, resp.headers.get("x-amzn-ErrorType"), json.loads(resp.read())]
    except urllib.error.HTTPError as e:
        return [e.code, e.headers.get("x-amzn-ErrorType"), json.loads(e.read())]
out = {
  "pathUnsigned": call(f"{ep}/restapis/{api}/prod/_user_request_/", sign=False),
  "pathRoot": call(f"{ep}/restapis/{api}/prod/_user_request_/"),
  "hostRoot": call(f"{ep}/prod/", host=f"{api}.execute-api.ap-northeast-1.amazonaws.com"),
}
sfn = boto3.client("stepfunctions", endpoint_url=ep, region_name="ap-northeast-1",
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "eb-demo-pattern-b-apigw"][0]
ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
for _ in range(200):
    d = sfn.describe_execution(executionArn=ex)
    if d["status"] != "RUNNING": break
    time.sleep(0.01)
out["stateMachineB"] = {"status": d["status"], "output": json.loads(d.get("output") or "null")}
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(&api)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["pathUnsigned"],
        json!([403, "MissingAuthenticationTokenException", {"message": "Missing Authentication Token"}])
    );
    for form in ["pathRoot", "hostRoot"] {
        assert_eq!(v[form][0], 403, "{form}: {}", v[form]);
        assert_eq!(v[form][1], "AccessDeniedException", "{form}: {}", v[form]);
        let msg = v[form][2]["Message"].as_str().unwrap();
        assert!(
            msg.starts_with("User: arn:aws:iam::123456789012:root is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:ap-northeast-1:")
                && msg.ends_with("/prod/GET/ with an explicit deny"),
            "{form}: {msg}"
        );
    }
    let b = &v["stateMachineB"];
    assert_eq!(b["status"], "SUCCEEDED", "{b}");
    assert_eq!(b["output"]["StatusCode"], 200);
    assert_eq!(
        b["output"]["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
}

#[test]
fn a_scenario_user_signs_with_the_keys_the_world_endpoint_lists() {
    // Scripts find a scenario user's keys at /_vpcgate/world and sign as that user; the user's
    // own policies then apply (pattern-b.json's OtherUser may not touch Step Functions).
    let s = scenario("pattern-b.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    // `serve --expose-secrets`: /_vpcgate/world lists secret keys only when asked.
    let served = serve_model_with(
        model,
        AuthMode::Verify,
        vpcgate::edge::LocalEndpoint {
            expose_secrets: true,
            listen: None,
        },
    );
    let addr = served;
    let script = r#"
import json, sys, urllib.request, boto3
ep = sys.argv[1]
world = json.loads(urllib.request.urlopen(ep + "/_vpcgate/world").read())
user = world["users"][0]
key = user["accessKeys"][0]
sfn = boto3.client("stepfunctions", endpoint_url=ep, region_name="ap-northeast-1",
    aws_access_key_id=key["accessKeyId"], aws_secret_access_key=key["secretAccessKey"])
try:
    sfn.list_state_machines()
    print(json.dumps({"user": user["arn"], "result": "allowed"}))
except sfn.exceptions.ClientError as e:
    print(json.dumps({"user": user["arn"], "result": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "AccessDeniedException", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "User: {} is not authorized to perform: states:ListStateMachines on resource: *",
            v["user"].as_str().unwrap()
        )),
        "{msg}"
    );
}

/// One raw HTTP/1.1 request to `serve` (no SigV4: `AuthMode::Off`); returns status and body.
async fn raw_request(addr: SocketAddr, target: Option<&str>, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = match target {
        Some(t) => format!(
            "POST / HTTP/1.1\r\nHost: states.ap-northeast-1.amazonaws.com\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{t}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => "GET /_vpcgate/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            .to_string(),
    };
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Issue 11: two concurrent `$match(…, /(a+)+$/)` (exponential in a backtracking engine) stopped
/// every other request. Real time, real sockets: the health check must answer within 2 s
/// while they run, and they must answer too.
#[test]
fn catastrophic_regex_requests_do_not_stall_serve() {
    let (addr, _, role) = start(AuthMode::Off);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let subject = format!("{}!", "a".repeat(40));
        let state = json!({"QueryLanguage": "JSONata", "Type": "Pass",
            "Output": format!("{{% $match('{subject}', /(a+)+$/) %}}"), "End": true});
        let body = json!({"definition": state.to_string(), "roleArn": role}).to_string();
        let started = tokio::time::Instant::now();
        let hostile: Vec<_> = (0..2)
            .map(|_| {
                let body = body.clone();
                tokio::spawn(async move { raw_request(addr, Some("TestState"), &body).await })
            })
            .collect();
        let (status, health) = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            raw_request(addr, None, ""),
        )
        .await
        .expect("health answers within 2 s");
        assert_eq!(status, 200, "{health}");
        for h in hostile {
            let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(10), h)
                .await
                .expect("the hostile requests answer too")
                .unwrap();
            assert_eq!(status, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["status"], "SUCCEEDED", "{v}");
        }
        eprintln!(
            "two catastrophic-regex TestStates answered in {:?}",
            started.elapsed()
        );
    });
}

/// `vpcgate serve` with nothing given runs the seed's scenario built into the binary, read
/// where it is: it answers, and nothing is written to the temporary folder (each start used to
/// copy the bundle into a new `vpcgate-bundled-<pid>` folder there and leave it behind).
#[test]
fn serve_with_nothing_given_runs_the_bundle_without_writing_it() {
    use std::io::{BufRead, Read, Write};
    let ca = std::env::temp_dir().join(format!("vpcgate-serve-bundled-ca-{}", std::process::id()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vpcgate-cli"))
        .args(["serve", "--listen", "127.0.0.1:0", "--ca-dir"])
        .arg(&ca)
        .env("VPCGATE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("vpcgate listening on http://")
                .map(str::to_string)
        })
        .expect("serve says where it listens");
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(
            format!("GET /_vpcgate/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&ca);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let left = std::env::temp_dir().join(format!("vpcgate-bundled-{pid}"));
    assert!(!left.exists(), "{} was written", left.display());
}
