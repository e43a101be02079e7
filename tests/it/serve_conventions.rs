//! `vpcgate serve` driven the way users of local AWS emulators already drive them (issue 13):
//! `test` / `test` and any Region, the account named by a 12-digit access key id, state per
//! (account, Region), `--strict-credentials`, the seed's whole setup by default, and
//! `POST /_vpcgate/reset`. Every test starts `serve` through the command line (in process, on
//! an ephemeral port) and talks to it with boto3 and the AWS CLI.

use std::process::Command;

use serde_json::{Value, json};

const SEED_A: &str = "eb-demo-pattern-a-private";
const SEED_B: &str = "eb-demo-pattern-b-apigw";

use vpcgate_tests::repo;

/// Starts `vpcgate serve <args>` on a free loopback port (its own CA directory); returns the
/// endpoint URL. Callers wait for health (`vpcgate_client.wait_healthy`).
pub(crate) fn serve(args: &[&str]) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut argv: Vec<String> = vec![
        "vpcgate".into(),
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--ca-dir".into(),
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("vpcgate-conventions-ca-{port}"))
            .display()
            .to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    std::thread::spawn(move || vpcgate::cli::run(argv));
    format!("http://127.0.0.1:{port}")
}

/// Runs a boto3 script (with `tests/clients` on `PYTHONPATH` for `vpcgate_client`); returns
/// the JSON it printed.
pub(crate) fn py(script: &str, args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env(
            "PYTHONPATH",
            format!("{}/clients", env!("CARGO_MANIFEST_DIR")),
        )
        .output()
        .expect("python3 runs (scripts/test.sh installs boto3)");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs the AWS CLI with these credentials and Region; `Ok(json)` or `Err(stderr)`.
pub(crate) fn aws(
    endpoint: &str,
    key: &str,
    secret: &str,
    region: &str,
    args: &[&str],
) -> Result<Value, String> {
    let out = Command::new("aws")
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", region)
        .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the AWS CLI runs (scripts/test.sh installs awscli)");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn machine_names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["stateMachines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn test_test_and_us_east_1_work_on_step_functions() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, json, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep)  # test / test, us-east-1
out = {"before": v.names(sfn)}
arn = sfn.create_state_machine(name="hello", definition=v.PASS, roleArn=v.role("123456789012", ep))["stateMachineArn"]
ex = sfn.start_execution(stateMachineArn=arn, name="first")["executionArn"]
d = v.wait_execution(sfn, ex)
out.update({"arn": arn, "exec": ex, "status": d["status"], "output": json.loads(d["output"]), "after": v.names(sfn)})
# The scenario's own Region (ap-northeast-1): test / test is its account's root and sees its machines.
home = v.client("stepfunctions", ep, region="ap-northeast-1")
out["home"] = v.names(home)
out["connections"] = [c["Name"] for c in v.client("events", ep).list_connections()["Connections"]]
v.emit(out)
"#,
        &[&ep],
    );
    assert_eq!(
        out["before"],
        json!([]),
        "us-east-1 holds nothing yet: {out}"
    );
    assert_eq!(
        out["arn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    );
    assert_eq!(
        out["exec"],
        "arn:aws:states:us-east-1:123456789012:execution:hello:first"
    );
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"], json!({"ok": true}));
    assert_eq!(out["after"], json!(["hello"]));
    assert_eq!(out["home"], json!([SEED_A]));
    assert_eq!(out["connections"], json!([]));

    let list = aws(
        &ep,
        "test",
        "test",
        "us-east-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap();
    assert_eq!(machine_names(&list), ["hello"]);
    assert_eq!(
        list["stateMachines"][0]["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    );
}

#[test]
fn two_accounts_do_not_see_each_others_state_machines_or_connections() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
a = v.client("stepfunctions", ep, key="111111111111", secret="anything")
b = v.client("stepfunctions", ep, key="222222222222", secret="whatever")
arn_a = a.create_state_machine(name="same", definition=v.PASS, roleArn=v.role("111111111111"))["stateMachineArn"]
arn_b = b.create_state_machine(name="same", definition=v.PASS, roleArn=v.role("222222222222"))["stateMachineArn"]
b.create_state_machine(name="only-b", definition=v.PASS, roleArn=v.role("222222222222"))
ex_a = a.start_execution(stateMachineArn=arn_a)["executionArn"]
ea = v.client("events", ep, key="111111111111", secret="x")
eb = v.client("events", ep, key="222222222222", secret="x")
ea.create_connection(Name="shared-name", AuthorizationType="API_KEY",
    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "a"}})
v.emit({
    "a": v.names(a), "b": v.names(b), "arnA": arn_a, "arnB": arn_b, "execA": ex_a,
    "aDescribesB": v.code(a.describe_state_machine, stateMachineArn=arn_b),
    "bDescribesExecA": v.code(b.describe_execution, executionArn=ex_a),
    "bListsExecA": v.code(b.list_executions, stateMachineArn=arn_a),
    "aConnections": [c["Name"] for c in ea.list_connections()["Connections"]],
    "aConnectionArn": ea.describe_connection(Name="shared-name")["ConnectionArn"],
    "bConnections": [c["Name"] for c in eb.list_connections()["Connections"]],
    "bDescribes": v.code(eb.describe_connection, Name="shared-name"),
})
"#,
        &[&ep],
    );
    assert_eq!(out["a"], json!(["same"]), "{out}");
    assert_eq!(out["b"], json!(["only-b", "same"]), "{out}");
    assert_eq!(
        out["arnA"],
        "arn:aws:states:us-east-1:111111111111:stateMachine:same"
    );
    assert_eq!(
        out["arnB"],
        "arn:aws:states:us-east-1:222222222222:stateMachine:same"
    );
    assert!(
        out["execA"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:states:us-east-1:111111111111:execution:same:")
    );
    assert_eq!(out["aDescribesB"], "StateMachineDoesNotExist");
    assert_eq!(out["bDescribesExecA"], "ExecutionDoesNotExist");
    assert_eq!(out["bListsExecA"], "StateMachineDoesNotExist");
    assert_eq!(out["aConnections"], json!(["shared-name"]));
    assert!(
        out["aConnectionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:events:us-east-1:111111111111:connection/shared-name/")
    );
    assert_eq!(out["bConnections"], json!([]));
    assert_eq!(out["bDescribes"], "ResourceNotFoundException");

    let list = aws(
        &ep,
        "222222222222",
        "x",
        "us-east-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap();
    assert_eq!(machine_names(&list), ["only-b", "same"]);
    let list = aws(
        &ep,
        "111111111111",
        "x",
        "us-east-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap();
    assert_eq!(machine_names(&list), ["same"]);
}

#[test]
fn a_state_machine_made_in_us_east_1_is_not_found_from_eu_west_1() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
east = v.client("stepfunctions", ep, region="us-east-1")
west = v.client("stepfunctions", ep, region="eu-west-1")
arn = east.create_state_machine(name="regional", definition=v.PASS, roleArn=v.role("123456789012", ep))["stateMachineArn"]
ex = east.start_execution(stateMachineArn=arn)["executionArn"]
v.emit({
    "arn": arn, "east": v.names(east), "west": v.names(west),
    "westDescribe": v.code(west.describe_state_machine, stateMachineArn=arn),
    "westStart": v.code(west.start_execution, stateMachineArn=arn),
    "westExecution": v.code(west.describe_execution, executionArn=ex),
    "moon": v.code(v.client("stepfunctions", ep, region="moon").list_state_machines),
})
"#,
        &[&ep],
    );
    assert_eq!(
        out["arn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:regional"
    );
    assert_eq!(out["east"], json!(["regional"]));
    assert_eq!(out["west"], json!([]));
    assert_eq!(out["westDescribe"], "StateMachineDoesNotExist");
    assert_eq!(out["westStart"], "StateMachineDoesNotExist");
    assert_eq!(out["westExecution"], "ExecutionDoesNotExist");
    // Not a Region's shape: AWS's "Credential should be scoped to a valid region".
    assert_eq!(out["moon"], "InvalidSignatureException");

    let arn = out["arn"].as_str().unwrap();
    let err = aws(
        &ep,
        "test",
        "test",
        "eu-west-1",
        &[
            "stepfunctions",
            "describe-state-machine",
            "--state-machine-arn",
            arn,
        ],
    )
    .unwrap_err();
    assert!(err.contains("StateMachineDoesNotExist"), "{err}");
    let ok = aws(
        &ep,
        "test",
        "test",
        "us-east-1",
        &[
            "stepfunctions",
            "describe-state-machine",
            "--state-machine-arn",
            arn,
        ],
    )
    .unwrap();
    assert_eq!(ok["name"], "regional");
}

#[test]
fn a_wrong_secret_for_a_known_key_fails_as_aws() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    let out = py(
        r#"
import sys, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
def ls(key, secret):
    return v.code(v.client("stepfunctions", ep, key=key, secret=secret).list_state_machines)
v.emit({
    "testWrong": ls("test", "wrong"),
    "exampleWrong": ls("AKIAIOSFODNN7EXAMPLE", "wrong"),
    "testRight": ls("test", "test"),
    "exampleRight": ls("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "eventsWrong": v.code(v.client("events", ep, key="test", secret="wrong").list_connections),
})
"#,
        &[&ep],
    );
    assert_eq!(
        out,
        json!({"testWrong": "InvalidSignatureException", "exampleWrong": "InvalidSignatureException",
               "testRight": "ok", "exampleRight": "ok", "eventsWrong": "InvalidSignatureException"})
    );
    let err = aws(
        &ep,
        "test",
        "wrong",
        "us-east-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap_err();
    assert!(err.contains("InvalidSignatureException"), "{err}");
}

#[test]
fn strict_credentials_refuse_unknown_keys() {
    let ep = serve(&[
        "--scenario",
        &repo("scenarios/pattern-a.json"),
        "--strict-credentials",
    ]);
    let out = py(
        r#"
import sys, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
def ls(key, secret, service="stepfunctions"):
    c = v.client(service, ep, key=key, secret=secret)
    return v.code(c.list_state_machines if service == "stepfunctions" else c.list_connections)
v.emit({
    "unknown": ls("AKIAUNKNOWNKEY000000", "x"),
    "account": ls("111111111111", "x"),
    "unknownEvents": ls("AKIAUNKNOWNKEY000000", "x", "events"),
    "test": ls("test", "test"),
})
"#,
        &[&ep],
    );
    assert_eq!(
        out,
        json!({"unknown": "UnrecognizedClientException", "account": "UnrecognizedClientException",
               "unknownEvents": "UnrecognizedClientException", "test": "ok"})
    );
    let err = aws(
        &ep,
        "AKIAUNKNOWNKEY000000",
        "x",
        "us-east-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap_err();
    assert!(err.contains("UnrecognizedClientException"), "{err}");
    // Without the flag the same key is the default account's root.
    let ep = serve(&["--scenario", &repo("scenarios/pattern-a.json")]);
    py(
        "import sys, vpcgate_client as v; v.wait_healthy(sys.argv[1]); v.emit(1)",
        &[&ep],
    );
    let ok = aws(
        &ep,
        "AKIAUNKNOWNKEY000000",
        "x",
        "ap-northeast-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap();
    assert_eq!(machine_names(&ok), [SEED_A]);
}

#[test]
fn the_api_gateway_data_plane_still_refuses_unknown_keys() {
    let ep = serve(&["--scenario", &repo("scenarios/pattern-b.json")]);
    let out = py(
        r#"
import sys, json, urllib.request, urllib.error, vpcgate_client as v
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ep = sys.argv[1]
v.wait_healthy(ep)
world = json.loads(urllib.request.urlopen(ep + "/_vpcgate/world").read())
api = world["restApis"][0]["id"]
def call(key, secret):
    url = f"{ep}/restapis/{api}/prod/_user_request_/"
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(key, secret), "execute-api", "ap-northeast-1").add_auth(req)
    try:
        r = urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers)))
        return [r.status, None, json.loads(r.read())]
    except urllib.error.HTTPError as e:
        return [e.code, e.headers.get("x-amzn-ErrorType"), json.loads(e.read())]
v.emit({"unknown": call("AKIAUNKNOWNKEY000000", "x"), "account": call("111111111111", "x"),
        "test": call("test", "test"), "testWrong": call("test", "nope")})
"#,
        &[&ep],
    );
    for k in ["unknown", "account"] {
        assert_eq!(
            out[k],
            json!([403, "AccessDeniedException", {"message": "The security token included in the request is invalid."}]),
            "{k}: {out}"
        );
    }
    // test / test signs as the root: the resource policy's explicit Deny answers, as for the
    // example key (serve::serve_answers_api_gateway_by_host_and_by_path).
    assert_eq!(out["test"][0], 403);
    assert_eq!(out["test"][1], "AccessDeniedException");
    let msg = out["test"][2]["Message"].as_str().unwrap();
    assert!(
        msg.starts_with("User: arn:aws:iam::123456789012:root is not authorized")
            && msg.ends_with("with an explicit deny"),
        "{msg}"
    );
    assert_eq!(out["testWrong"][0], 403);
    assert_eq!(out["testWrong"][1], "InvalidSignatureException");
}

/// Runs both seed machines through boto3 (test / test, the seed's Region): `[status, output]`.
const RUN_BOTH_SEED_MACHINES: &str = r#"
def run_seed(v, sfn):
    arns = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    out = {}
    for name in ("eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"):
        ex = sfn.start_execution(stateMachineArn=arns[name])["executionArn"]
        d = v.wait_execution(sfn, ex)
        out[name] = {"status": d["status"], "output": json.loads(d.get("output") or "null"), "exec": ex}
    return out
"#;

fn assert_seed_output(run: &Value) {
    for name in [SEED_A, SEED_B] {
        let r = &run[name];
        assert_eq!(r["status"], "SUCCEEDED", "{name}: {r}");
        assert_eq!(r["output"]["StatusCode"], 200, "{name}: {r}");
        assert_eq!(
            r["output"]["ResponseBody"],
            json!({"status": "ok", "source": "internal-alb"}),
            "{name}: {r}"
        );
    }
    assert_eq!(
        run[SEED_A]["output"]["Headers"]["server"],
        json!(["awselb/2.0"])
    );
    assert_eq!(
        run[SEED_B]["output"]["Headers"]["x-amzn-Remapped-Server"],
        json!(["awselb/2.0"])
    );
}

#[test]
fn serve_with_no_arguments_runs_both_seed_patterns() {
    let ep = serve(&[]);
    let script = format!(
        r#"
import sys, json, urllib.request, vpcgate_client as v
{RUN_BOTH_SEED_MACHINES}
ep = sys.argv[1]
v.wait_healthy(ep)
world = json.loads(urllib.request.urlopen(ep + "/_vpcgate/world").read())
sfn = v.client("stepfunctions", ep, region=world["region"])
v.emit({{"region": world["region"], "account": world["accountId"], "names": v.names(sfn), "run": run_seed(v, sfn)}})
"#
    );
    let out = py(&script, &[&ep]);
    assert_eq!(out["region"], "ap-northeast-1");
    assert_eq!(out["account"], "123456789012");
    assert_eq!(out["names"], json!([SEED_A, SEED_B]));
    assert_seed_output(&out["run"]);
    let list = aws(
        &ep,
        "test",
        "test",
        "ap-northeast-1",
        &["stepfunctions", "list-state-machines"],
    )
    .unwrap();
    assert_eq!(machine_names(&list), [SEED_A, SEED_B]);
}

#[test]
fn reset_removes_what_the_apis_made_and_keeps_the_seed() {
    let ep = serve(&[]);
    let script = format!(
        r#"
import sys, json, urllib.request, urllib.error, vpcgate_client as v
{RUN_BOTH_SEED_MACHINES}
ep = sys.argv[1]
v.wait_healthy(ep)
region = "ap-northeast-1"
sfn = v.client("stepfunctions", ep, region=region)
other = v.client("stepfunctions", ep, key="111111111111", secret="x", region=region)
ev = v.client("events", ep, region=region)
made = sfn.create_state_machine(name="made", definition=v.PASS, roleArn=v.role("123456789012", ep))["stateMachineArn"]
made_ex = sfn.start_execution(stateMachineArn=made)["executionArn"]
before = run_seed(v, sfn)
ev.create_connection(Name="made-conn", AuthorizationType="API_KEY",
    AuthParameters={{"ApiKeyAuthParameters": {{"ApiKeyName": "k", "ApiKeyValue": "v"}}}})
other.create_state_machine(name="theirs", definition=v.PASS, roleArn=v.role("111111111111"))
out = {{"before": v.names(sfn), "otherBefore": v.names(other)}}
ca_before = urllib.request.urlopen(ep + "/_vpcgate/ca.pem").read()

# One account only: the other account's machine goes, this account's stays.
out["scoped"] = v.reset(ep, "111111111111")
out["afterScoped"] = {{"mine": v.names(sfn), "other": v.names(other)}}
other.create_state_machine(name="theirs-again", definition=v.PASS, roleArn=v.role("111111111111"))
body = urllib.request.Request(ep + "/_vpcgate/reset", data=json.dumps({{"account": "111111111111"}}).encode(), method="POST")
out["scopedBody"] = json.loads(urllib.request.urlopen(body).read())["account"]
out["otherAfterBody"] = v.names(other)

# Everything.
out["full"] = v.reset(ep)
out["after"] = v.names(sfn)
out["madeDescribe"] = v.code(sfn.describe_state_machine, stateMachineArn=made)
out["madeExec"] = v.code(sfn.describe_execution, executionArn=made_ex)
out["seedExec"] = v.code(sfn.describe_execution, executionArn=before["eb-demo-pattern-a-private"]["exec"])
out["connections"] = sorted(c["Name"] for c in ev.list_connections()["Connections"])
out["sameCa"] = urllib.request.urlopen(ep + "/_vpcgate/ca.pem").read() == ca_before
out["rerun"] = run_seed(v, sfn)
try:
    req = urllib.request.Request(ep + "/_vpcgate/reset", data=b"", method="POST", headers={{"Host": "evil.example"}})
    out["foreignHost"] = urllib.request.urlopen(req).status
except urllib.error.HTTPError as e:
    out["foreignHost"] = e.code
try:
    urllib.request.urlopen(urllib.request.Request(ep + "/_vpcgate/reset?account=12", data=b"", method="POST"))
except urllib.error.HTTPError as e:
    out["badAccount"] = e.code
v.emit(out)
"#
    );
    let out = py(&script, &[&ep]);
    assert_eq!(out["before"], json!([SEED_A, SEED_B, "made"]), "{out}");
    assert_eq!(out["otherBefore"], json!(["theirs"]));
    assert_eq!(out["scoped"]["account"], "111111111111");
    assert_eq!(out["scoped"]["worldRebuilt"], false);
    assert_eq!(
        out["afterScoped"],
        json!({"mine": [SEED_A, SEED_B, "made"], "other": []})
    );
    assert_eq!(out["scopedBody"], "111111111111");
    assert_eq!(out["otherAfterBody"], json!([]));
    let full = &out["full"];
    assert_eq!(full["worldRebuilt"], true);
    assert_eq!(out["after"], json!([SEED_A, SEED_B]));
    assert_eq!(out["madeDescribe"], "StateMachineDoesNotExist");
    assert_eq!(out["madeExec"], "ExecutionDoesNotExist");
    assert_eq!(out["seedExec"], "ExecutionDoesNotExist");
    assert_eq!(
        out["connections"],
        json!(["eb-demo-private-connection", "eb-demo-public-connection"])
    );
    assert_eq!(out["sameCa"], true);
    assert_seed_output(&out["rerun"]);
    assert_eq!(out["foreignHost"], 403);
    assert_eq!(out["badAccount"], 400);
    let ms = full["milliseconds"].as_f64().unwrap();
    eprintln!("full reset of the seed world: {ms} ms");
    assert!(ms < 2000.0, "reset took {ms} ms");
}

/// The README's pytest example (examples/pytest: a session fixture that starts `vpcgate serve`,
/// resets it before every test, and hands out boto3 clients) passes against the built binary.
#[test]
fn the_pytest_example_passes() {
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "examples/pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(repo(""))
        .env("VPCGATE_BIN", env!("CARGO_BIN_EXE_vpcgate-cli"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (scripts/test.sh installs pytest)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed (python3 -m pip install pytest?):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 passed"), "{stdout}");
}

/// One line per request on stderr at the default level (plain text: stderr is no terminal);
/// `--log-level warn` keeps them out.
#[test]
fn serve_logs_one_line_per_request_unless_the_level_is_raised() {
    use std::io::{Read, Write};
    let run = |extra: &[&str]| -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ca = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("vpcgate-log-ca-{port}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_vpcgate-cli"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--ca-dir",
            ])
            .arg(&ca)
            .args(extra)
            .env_remove("VPCGATE_LOG")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut answered = false;
        for _ in 0..400 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(b"GET /_vpcgate/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                answered = buf.starts_with("HTTP/1.1 200");
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        child.kill().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let _ = child.wait();
        assert!(answered, "{err}");
        err
    };
    let info = run(&[]);
    let lines: Vec<&str> = info
        .lines()
        .filter(|l| l.contains("GET /_vpcgate/health"))
        .collect();
    assert_eq!(lines.len(), 1, "{info}");
    assert!(lines[0].contains("status=200"), "{info}");
    assert!(
        !info.contains('\u{1b}'),
        "no ANSI colour off a terminal: {info}"
    );
    let warn = run(&["--log-level", "warn"]);
    assert!(!warn.contains("/_vpcgate/health"), "{warn}");
}
