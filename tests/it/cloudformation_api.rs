//! CloudFormation's API on `vpcgate serve` (issue 14), driven by the AWS CLI and boto3: the
//! seed's two templates deployed with `aws cloudformation deploy`, boto3's waiters, CloudFormation's
//! query-protocol errors, and the status and event sequences (as recorded from AWS in LocalStack's
//! `tests/aws/services/cloudformation/api/test_stacks.snapshot.json` and
//! `test_changesets.snapshot.json`).

use std::io::{Read, Write};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::serve_conventions::{py, serve};

fn seed(file: &str) -> String {
    format!(
        "{}/fixtures/templates/seed-000/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `serve --environment <the seed's>`: the seed account's VPC, zone and certificate, no stacks.
fn serve_seed_environment() -> String {
    let ep = serve(&["--environment", &seed("environment.json")]);
    py(
        "import sys, vpcgate_client as v; v.wait_healthy(sys.argv[1]); v.emit({})",
        &[&ep],
    );
    ep
}

/// Runs the AWS CLI (the `aws` command, else `python3 -m awscli`) as `test` / `test` in the
/// seed's Region; (exit success, stdout, stderr).
fn aws(endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = if Command::new("aws").arg("--version").output().is_ok() {
        Command::new("aws")
    } else {
        let mut c = Command::new("python3");
        c.args(["-m", "awscli"]);
        c
    };
    let out = cmd
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "ap-northeast-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the AWS CLI runs (scripts/test.sh installs awscli)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn aws_ok(endpoint: &str, args: &[&str]) -> String {
    let (ok, out, err) = aws(endpoint, args);
    assert!(ok, "aws {args:?} failed:\n{err}\n{out}");
    out
}

fn aws_json(endpoint: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    serde_json::from_str(&aws_ok(endpoint, &all)).unwrap()
}

/// Runs both seed machines with boto3; their outputs by name.
fn run_seed_machines(ep: &str) -> Value {
    py(
        r#"
import sys, json, vpcgate_client as v
sfn = v.client("stepfunctions", sys.argv[1], region="ap-northeast-1")
out = {}
for name in ["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"]:
    arn = f"arn:aws:states:ap-northeast-1:123456789012:stateMachine:{name}"
    d = v.wait_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    out[name] = {"status": d["status"], "output": json.loads(d.get("output") or "null"), "cause": d.get("cause")}
v.emit(out)
"#,
        &[ep],
    )
}

fn outputs(describe: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for o in describe["Stacks"][0]["Outputs"].as_array().unwrap() {
        m.insert(
            o["OutputKey"].as_str().unwrap().into(),
            o["OutputValue"].clone(),
        );
    }
    Value::Object(m)
}

#[test]
fn aws_cli_deploys_the_seed_stacks_updates_the_alb_and_deletes_the_machines() {
    let ep = serve_seed_environment();
    // `serve --environment` alone starts empty.
    let empty = aws_json(&ep, &["stepfunctions", "list-state-machines"]);
    assert_eq!(empty["stateMachines"], json!([]));

    // The seed's templates as written; the parameters the seed passes on the command line.
    let infra = aws_ok(
        &ep,
        &[
            "cloudformation",
            "deploy",
            "--stack-name",
            "eb-connection-infra",
            "--template-file",
            &seed("01-infra.yaml"),
            "--parameter-overrides",
            "AlbDomainName=eb-demo.example.com",
            "VpcId=vpc-0example1234567890",
        ],
    );
    assert!(
        infra.contains("Successfully created/updated stack - eb-connection-infra"),
        "{infra}"
    );
    // Stack 2 makes IAM roles: without CAPABILITY_IAM, CloudFormation's refusal.
    let (ok, _, err) = aws(
        &ep,
        &[
            "cloudformation",
            "deploy",
            "--stack-name",
            "eb-connection-sfn",
            "--template-file",
            &seed("02-stepfunctions.yaml"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("InsufficientCapabilitiesException")
            && err.contains("Requires capabilities : [CAPABILITY_IAM]"),
        "{err}"
    );
    aws_ok(
        &ep,
        &[
            "cloudformation",
            "deploy",
            "--stack-name",
            "eb-connection-sfn",
            "--template-file",
            &seed("02-stepfunctions.yaml"),
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            "InfraStackName=eb-connection-infra",
        ],
    );

    // Both machines run to the seed's output (Pattern A through the environment's CNAME, which
    // named stack 1's output before it existed).
    let ran = run_seed_machines(&ep);
    for name in ["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"] {
        assert_eq!(ran[name]["status"], "SUCCEEDED", "{ran}");
        assert_eq!(
            ran[name]["output"]["ResponseBody"],
            json!({"status": "ok", "source": "internal-alb"}),
            "{ran}"
        );
    }

    let d = aws_json(
        &ep,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "eb-connection-sfn",
        ],
    );
    assert_eq!(d["Stacks"][0]["StackStatus"], "CREATE_COMPLETE");
    assert_eq!(
        outputs(&d),
        json!({
            "StateMachineArnPatternA": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:eb-demo-pattern-a-private",
            "StateMachineArnPatternB": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:eb-demo-pattern-b-apigw",
        })
    );
    let d = aws_json(
        &ep,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "eb-connection-infra",
        ],
    );
    let o = outputs(&d);
    assert!(
        o["AlbDnsName"]
            .as_str()
            .unwrap()
            .ends_with(".ap-northeast-1.elb.amazonaws.com"),
        "{o}"
    );
    assert!(o["PrivateConnectionArn"].as_str().unwrap().starts_with(
        "arn:aws:events:ap-northeast-1:123456789012:connection/eb-demo-private-connection/"
    ));

    // The same template again: no changes; --no-fail-on-empty-changeset makes that a success.
    let args_same = [
        "cloudformation",
        "deploy",
        "--stack-name",
        "eb-connection-infra",
        "--template-file",
        &seed("01-infra.yaml"),
    ];
    let (ok, out, _) = aws(&ep, &args_same);
    assert!(!ok, "{out}");
    let mut lenient = args_same.to_vec();
    lenient.push("--no-fail-on-empty-changeset");
    aws_ok(&ep, &lenient);

    // An update: the listeners answer something else. --no-execute-changeset first leaves the
    // change set for review; its Changes name the two listeners.
    let updated =
        std::env::temp_dir().join(format!("vpcgate-cfn-infra-{}.yaml", std::process::id()));
    std::fs::write(
        &updated,
        std::fs::read_to_string(seed("01-infra.yaml"))
            .unwrap()
            .replace("\"source\":\"internal-alb\"", "\"source\":\"updated-alb\""),
    )
    .unwrap();
    let review = aws_ok(
        &ep,
        &[
            "cloudformation",
            "deploy",
            "--stack-name",
            "eb-connection-infra",
            "--template-file",
            updated.to_str().unwrap(),
            "--no-execute-changeset",
        ],
    );
    assert!(review.contains("describe-change-set"), "{review}");
    let sets = aws_json(
        &ep,
        &[
            "cloudformation",
            "list-change-sets",
            "--stack-name",
            "eb-connection-infra",
        ],
    );
    let pending: Vec<&Value> = sets["Summaries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ExecutionStatus"] == "AVAILABLE")
        .collect();
    assert_eq!(pending.len(), 1, "{sets}");
    let cs = aws_json(
        &ep,
        &[
            "cloudformation",
            "describe-change-set",
            "--change-set-name",
            pending[0]["ChangeSetId"].as_str().unwrap(),
        ],
    );
    let mut changed: Vec<(String, String)> = cs["Changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ResourceChange"]["Action"].as_str().unwrap().to_string(),
                c["ResourceChange"]["LogicalResourceId"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            ("Modify".to_string(), "HttpListener".to_string()),
            ("Modify".to_string(), "HttpsListener".to_string())
        ],
        "{cs}"
    );
    aws_ok(
        &ep,
        &[
            "cloudformation",
            "execute-change-set",
            "--change-set-name",
            pending[0]["ChangeSetId"].as_str().unwrap(),
        ],
    );
    let ran = run_seed_machines(&ep);
    for name in ["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"] {
        assert_eq!(
            ran[name]["output"]["ResponseBody"],
            json!({"status": "ok", "source": "updated-alb"}),
            "{ran}"
        );
    }
    let d = aws_json(
        &ep,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "eb-connection-infra",
        ],
    );
    assert_eq!(d["Stacks"][0]["StackStatus"], "UPDATE_COMPLETE");

    // Stack 2 reads stack 1's outputs: stack 1 cannot go first.
    aws_ok(
        &ep,
        &[
            "cloudformation",
            "delete-stack",
            "--stack-name",
            "eb-connection-infra",
        ],
    );
    let d = aws_json(
        &ep,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "eb-connection-infra",
        ],
    );
    assert_eq!(d["Stacks"][0]["StackStatus"], "DELETE_FAILED");

    // Deleting stack 2 removes its machines.
    aws_ok(
        &ep,
        &[
            "cloudformation",
            "delete-stack",
            "--stack-name",
            "eb-connection-sfn",
        ],
    );
    aws_ok(
        &ep,
        &[
            "cloudformation",
            "wait",
            "stack-delete-complete",
            "--stack-name",
            "eb-connection-sfn",
        ],
    );
    let machines = aws_json(&ep, &["stepfunctions", "list-state-machines"]);
    assert_eq!(machines["stateMachines"], json!([]));
    let (ok, _, err) = aws(
        &ep,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "eb-connection-sfn",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("ValidationError")
            && err.contains("Stack with id eb-connection-sfn does not exist"),
        "{err}"
    );
    let _ = std::fs::remove_file(updated);
}

/// A small stack: a Pass state machine (no IAM resources) and, optionally, an export.
const PASS_STACK: &str = r#"
Description: a Pass machine
Parameters:
  Greeting:
    Type: String
    Default: hello
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: waiter-machine
      RoleArn: arn:aws:iam::123456789012:role/vpcgate-test
      DefinitionString: !Sub '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"${Greeting}","End":true}}}'
Outputs:
  MachineArn:
    Value: !Ref Machine
    Export:
      Name: waiter-machine-arn
"#;

const IMPORTER: &str = r#"
Resources:
  Other:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: importer
      RoleArn: arn:aws:iam::123456789012:role/vpcgate-test
      DefinitionString: !Sub
        - '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"${Arn}","End":true}}}'
        - Arn: !ImportValue waiter-machine-arn
"#;

#[test]
fn boto3_waiters_follow_create_update_delete_and_change_sets() {
    let ep = serve_seed_environment();
    let out = py(
        r#"
import sys, json, vpcgate_client as v
from botocore.exceptions import ClientError
ep, body, importer = sys.argv[1], sys.argv[2], sys.argv[3]
ROLES = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: vpcgate-test
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: states.amazonaws.com}
            Action: sts:AssumeRole
"""
cfn = v.client("cloudformation", ep, region="ap-northeast-1")
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
fast = {"Delay": 1, "MaxAttempts": 5}
def events(name):
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in reversed(cfn.describe_stack_events(StackName=name)["StackEvents"])]
def err(call, **kw):
    try:
        call(**kw); return None
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
out = {}
# The execution role the machines name, made first (a role must trust Step Functions: issue 17).
cfn.create_stack(StackName="roles", TemplateBody=ROLES, Capabilities=["CAPABILITY_NAMED_IAM"])
cfn.get_waiter("stack_create_complete").wait(StackName="roles", WaiterConfig=fast)
sid = cfn.create_stack(StackName="waited", TemplateBody=body)["StackId"]
cfn.get_waiter("stack_create_complete").wait(StackName="waited", WaiterConfig=fast)
d = cfn.describe_stacks(StackName="waited")["Stacks"][0]
out["created"] = {"status": d["StackStatus"], "id": sid, "params": d["Parameters"], "description": d.get("Description"),
    "outputs": d["Outputs"], "events": events("waited")}
out["machines1"] = v.names(sfn)
out["resources"] = [(r["LogicalResourceId"], r["ResourceType"], r["ResourceStatus"], r["PhysicalResourceId"]) for r in cfn.describe_stack_resources(StackName="waited")["StackResources"]]
out["resource"] = cfn.describe_stack_resource(StackName="waited", LogicalResourceId="Machine")["StackResourceDetail"]["ResourceStatus"]
out["noResource"] = err(cfn.describe_stack_resource, StackName="waited", LogicalResourceId="Nope")
out["summary"] = [r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName="waited")["StackResourceSummaries"]]
out["exists"] = err(cfn.create_stack, StackName="waited", TemplateBody=body)
out["exports"] = [(e["Name"], e["Value"]) for e in cfn.list_exports()["Exports"]]
out["noImports"] = err(cfn.list_imports, ExportName="waiter-machine-arn")

cfn.update_stack(StackName="waited", UsePreviousTemplate=True, Parameters=[{"ParameterKey": "Greeting", "ParameterValue": "bonjour"}])
cfn.get_waiter("stack_update_complete").wait(StackName="waited", WaiterConfig=fast)
d = cfn.describe_stacks(StackName="waited")["Stacks"][0]
out["updated"] = {"status": d["StackStatus"], "params": d["Parameters"], "events": events("waited")}
arn = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:waiter-machine"
out["ran"] = json.loads(v.wait_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])["output"])
out["noUpdate"] = err(cfn.update_stack, StackName="waited", UsePreviousTemplate=True, Parameters=[{"ParameterKey": "Greeting", "UsePreviousValue": True}])
cfn.create_stack(StackName="importer", TemplateBody=importer)
cfn.get_waiter("stack_create_complete").wait(StackName="importer", WaiterConfig=fast)
out["imports"] = cfn.list_imports(ExportName="waiter-machine-arn")["Imports"]
cfn.delete_stack(StackName="waited")
d = cfn.describe_stacks(StackName="waited")["Stacks"][0]
out["blocked"] = [d["StackStatus"], d.get("StackStatusReason")]
cfn.delete_stack(StackName="importer")
cfn.get_waiter("stack_delete_complete").wait(StackName="importer", WaiterConfig=fast)

# Change sets: CREATE makes the stack REVIEW_IN_PROGRESS until executed.
cs = cfn.create_change_set(StackName="via-cs", ChangeSetName="first", ChangeSetType="CREATE",
    TemplateBody=body.replace("waiter-machine", "cs-machine"))
cfn.get_waiter("change_set_create_complete").wait(ChangeSetName="first", StackName="via-cs", WaiterConfig=fast)
c = cfn.describe_change_set(ChangeSetName="first", StackName="via-cs")
out["changeSet"] = {"status": c["Status"], "exec": c["ExecutionStatus"], "type": c.get("ChangeSetType"),
    "changes": [(x["ResourceChange"]["Action"], x["ResourceChange"]["LogicalResourceId"]) for x in c["Changes"]],
    "stack": cfn.describe_stacks(StackName="via-cs")["Stacks"][0]["StackStatus"]}
cfn.execute_change_set(ChangeSetName=cs["Id"])
cfn.get_waiter("stack_create_complete").wait(StackName="via-cs", WaiterConfig=fast)
out["viaCs"] = events("via-cs")
empty = cfn.create_change_set(StackName="via-cs", ChangeSetName="nothing", TemplateBody=body.replace("waiter-machine", "cs-machine"))
try:
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName="nothing", StackName="via-cs", WaiterConfig=fast)
    out["empty"] = "waited"
except Exception:
    c = cfn.describe_change_set(ChangeSetName="nothing", StackName="via-cs")
    out["empty"] = [c["Status"], c["ExecutionStatus"], c["StatusReason"]]
out["noChangeSet"] = err(cfn.describe_change_set, ChangeSetName="missing", StackName="via-cs")
# The FAILED empty one does not hold its name (vpcgate's choice: its deploys are instant, so the
# AWS CLI's per-second change-set names collide where AWS's never do).
again_empty = cfn.create_change_set(StackName="via-cs", ChangeSetName="nothing", TemplateBody=body.replace("waiter-machine", "cs-machine"))
out["failedReused"] = again_empty["Id"] != empty["Id"]
cfn.delete_change_set(ChangeSetName="nothing", StackName="via-cs")
out["changeSets"] = [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="via-cs")["Summaries"]]
# An executed change set's name can be used again (`cdk deploy` names every one
# cdk-deploy-change-set); a pending one's cannot.
again = cfn.create_change_set(StackName="via-cs", ChangeSetName="first", TemplateBody=body.replace("waiter-machine", "cs-machine-2"))
cfn.get_waiter("change_set_create_complete").wait(ChangeSetName="first", StackName="via-cs", WaiterConfig=fast)
out["reused"] = [cfn.describe_change_set(ChangeSetName="first", StackName="via-cs")["ExecutionStatus"], again["Id"] != cs["Id"]]
out["pendingTaken"] = err(cfn.create_change_set, StackName="via-cs", ChangeSetName="first", TemplateBody=body.replace("waiter-machine", "cs-machine-3"))
cfn.delete_change_set(ChangeSetName="first", StackName="via-cs")

cfn.delete_stack(StackName="waited")
cfn.get_waiter("stack_delete_complete").wait(StackName="waited", WaiterConfig=fast)
out["deleted"] = {"byName": err(cfn.describe_stacks, StackName="waited"),
    "byId": cfn.describe_stacks(StackName=sid)["Stacks"][0]["StackStatus"],
    "events": events(sid)[-4:],
    "list": [(s["StackName"], s["StackStatus"]) for s in cfn.list_stacks()["StackSummaries"]],
    "machines": v.names(sfn)}
out["deleteMissing"] = err(cfn.delete_stack, StackName="never-was")
v.emit(out)
"#,
        &[&ep, PASS_STACK, IMPORTER],
    );
    let c = &out["created"];
    assert_eq!(c["status"], "CREATE_COMPLETE", "{out}");
    assert!(
        c["id"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:cloudformation:ap-northeast-1:123456789012:stack/waited/")
    );
    assert_eq!(
        c["params"],
        json!([{"ParameterKey": "Greeting", "ParameterValue": "hello"}])
    );
    assert_eq!(c["description"], "a Pass machine");
    assert_eq!(
        c["outputs"],
        json!([{"OutputKey": "MachineArn", "ExportName": "waiter-machine-arn",
                "OutputValue": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:waiter-machine"}])
    );
    // test_stacks.snapshot.json, test_list_events_after_deployment (oldest first here).
    assert_eq!(
        c["events"],
        json!([
            ["waited", "CREATE_IN_PROGRESS", "User Initiated"],
            ["Machine", "CREATE_IN_PROGRESS", null],
            [
                "Machine",
                "CREATE_IN_PROGRESS",
                "Resource creation Initiated"
            ],
            ["Machine", "CREATE_COMPLETE", null],
            ["waited", "CREATE_COMPLETE", null],
        ])
    );
    assert_eq!(out["machines1"], json!(["waiter-machine"]));
    assert_eq!(
        out["resources"],
        json!([[
            "Machine",
            "AWS::StepFunctions::StateMachine",
            "CREATE_COMPLETE",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:waiter-machine"
        ]])
    );
    assert_eq!(out["resource"], "CREATE_COMPLETE");
    assert_eq!(
        out["noResource"],
        json!([
            "ValidationError",
            "Resource Nope does not exist for stack waited"
        ])
    );
    assert_eq!(out["summary"], json!(["Machine"]));
    assert_eq!(
        out["exists"],
        json!(["AlreadyExistsException", "Stack [waited] already exists"])
    );
    assert_eq!(
        out["exports"],
        json!([[
            "waiter-machine-arn",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:waiter-machine"
        ]])
    );
    assert_eq!(
        out["noImports"],
        json!([
            "ValidationError",
            "Export 'waiter-machine-arn' is not imported by any stack."
        ])
    );
    assert_eq!(out["imports"], json!(["importer"]));
    assert_eq!(
        out["blocked"],
        json!([
            "DELETE_FAILED",
            "Export waiter-machine-arn cannot be deleted as it is in use by importer"
        ])
    );

    let u = &out["updated"];
    assert_eq!(u["status"], "UPDATE_COMPLETE");
    assert_eq!(
        u["params"],
        json!([{"ParameterKey": "Greeting", "ParameterValue": "bonjour"}])
    );
    let tail: Vec<Value> = u["events"].as_array().unwrap()[5..].to_vec();
    assert_eq!(
        Value::Array(tail),
        json!([
            ["waited", "UPDATE_IN_PROGRESS", "User Initiated"],
            ["Machine", "UPDATE_IN_PROGRESS", null],
            ["Machine", "UPDATE_COMPLETE", null],
            ["waited", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", null],
            ["waited", "UPDATE_COMPLETE", null],
        ]),
        "{u}"
    );
    assert_eq!(out["ran"], "bonjour");
    assert_eq!(
        out["noUpdate"],
        json!(["ValidationError", "No updates are to be performed."])
    );

    let cs = &out["changeSet"];
    assert_eq!(cs["status"], "CREATE_COMPLETE", "{cs}");
    assert_eq!(cs["exec"], "AVAILABLE");
    assert_eq!(cs["changes"], json!([["Add", "Machine"]]));
    assert_eq!(cs["stack"], "REVIEW_IN_PROGRESS");
    assert_eq!(
        out["viaCs"],
        json!([
            ["via-cs", "REVIEW_IN_PROGRESS", "User Initiated"],
            ["via-cs", "CREATE_IN_PROGRESS", "User Initiated"],
            ["Machine", "CREATE_IN_PROGRESS", null],
            [
                "Machine",
                "CREATE_IN_PROGRESS",
                "Resource creation Initiated"
            ],
            ["Machine", "CREATE_COMPLETE", null],
            ["via-cs", "CREATE_COMPLETE", null],
        ])
    );
    assert_eq!(
        out["empty"],
        json!([
            "FAILED",
            "UNAVAILABLE",
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ])
    );
    assert_eq!(
        out["noChangeSet"],
        json!(["ChangeSetNotFound", "ChangeSet [missing] does not exist"])
    );
    assert_eq!(out["failedReused"], true, "{out}");
    assert_eq!(out["changeSets"], json!(["first"]));
    assert_eq!(out["reused"], json!(["AVAILABLE", true]));
    assert_eq!(
        out["pendingTaken"],
        json!(["ValidationError", "ChangeSet [first] already exists"])
    );

    let d = &out["deleted"];
    assert_eq!(
        d["byName"],
        json!(["ValidationError", "Stack with id waited does not exist"])
    );
    assert_eq!(d["byId"], "DELETE_COMPLETE");
    assert_eq!(
        d["events"],
        json!([
            ["waited", "DELETE_IN_PROGRESS", "User Initiated"],
            ["Machine", "DELETE_IN_PROGRESS", null],
            ["Machine", "DELETE_COMPLETE", null],
            ["waited", "DELETE_COMPLETE", null],
        ])
    );
    let list = d["list"].as_array().unwrap();
    assert!(list.contains(&json!(["waited", "DELETE_COMPLETE"])), "{d}");
    assert!(
        list.contains(&json!(["importer", "DELETE_COMPLETE"])),
        "{d}"
    );
    assert!(list.contains(&json!(["via-cs", "CREATE_COMPLETE"])), "{d}");
    assert_eq!(d["machines"], json!(["cs-machine"]));
    assert_eq!(out["deleteMissing"], Value::Null);
}

/// A resource CloudFormation accepts in the template but that fails to create.
const FAILING: &str = r#"
Resources:
  Good:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: never-seen
      RoleArn: arn:aws:iam::123456789012:role/vpcgate-test
      DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: broken
      VpcId: vpc-0example1234567890
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 80
          ToPort: 80
          CidrIp: 10.0.0.0/33
"#;

#[test]
fn a_failed_create_rolls_back_and_template_errors_are_validation_errors() {
    let ep = serve_seed_environment();
    let out = py(
        r#"
import sys, vpcgate_client as v
from botocore.exceptions import ClientError, WaiterError
ep, failing = sys.argv[1], sys.argv[2]
cfn = v.client("cloudformation", ep, region="ap-northeast-1")
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
def err(call, **kw):
    try:
        call(**kw); return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Type"), e.response["Error"]["Code"], e.response["Error"]["Message"]]
out = {}
cfn.create_stack(StackName="failing", TemplateBody=failing)
try:
    cfn.get_waiter("stack_create_complete").wait(StackName="failing", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    out["waiter"] = "succeeded"
except WaiterError as e:
    out["waiter"] = "failed"
d = cfn.describe_stacks(StackName="failing")["Stacks"][0]
out["status"] = d["StackStatus"]
out["events"] = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in reversed(cfn.describe_stack_events(StackName="failing")["StackEvents"])]
out["machines"] = v.names(sfn)
out["badRef"] = err(cfn.create_stack, StackName="bad", TemplateBody="Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !Ref Nope\n")
out["noResources"] = err(cfn.validate_template, TemplateBody="Resources: {}\n")
out["yaml"] = err(cfn.create_stack, StackName="bad", TemplateBody="Resources: [\n")
out["url"] = err(cfn.create_stack, StackName="bad", TemplateURL="https://example.com/t.yaml")
out["name"] = err(cfn.create_stack, StackName="1bad", TemplateBody="Resources: {}")
out["named"] = err(cfn.create_stack, StackName="named", Capabilities=["CAPABILITY_IAM"], TemplateBody="Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: r\n      AssumeRolePolicyDocument: {}\n")
out["noStack"] = err(cfn.describe_stack_events, StackName="nope")
out["badNames"] = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]]
ok = cfn.validate_template(TemplateBody="Description: d\nParameters:\n  P:\n    Type: String\n    Default: x\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {}\n")
out["validate"] = [ok["Description"], ok["Parameters"], ok["Capabilities"], ok["CapabilitiesReason"]]
v.emit(out)
"#,
        &[&ep, FAILING],
    );
    assert_eq!(out["waiter"], "failed", "{out}");
    assert_eq!(out["status"], "ROLLBACK_COMPLETE");
    assert_eq!(
        out["events"],
        json!([
            ["failing", "CREATE_IN_PROGRESS", "User Initiated"],
            ["Sg", "CREATE_IN_PROGRESS", null],
            [
                "Sg",
                "CREATE_FAILED",
                "Properties.SecurityGroupIngress[0].CidrIp: CIDR block 10.0.0.0/33 is malformed"
            ],
            [
                "failing",
                "ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to create: [Sg]. Rollback requested by user."
            ],
            ["Sg", "DELETE_COMPLETE", null],
            ["failing", "ROLLBACK_COMPLETE", null],
        ])
    );
    assert_eq!(
        out["machines"],
        json!([]),
        "a rolled-back stack leaves nothing"
    );
    assert_eq!(
        out["badRef"],
        json!([
            400,
            "Sender",
            "ValidationError",
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        ])
    );
    // LocalStack's test_validations.snapshot.json (AWS's text).
    assert_eq!(
        out["noResources"],
        json!([
            400,
            "Sender",
            "ValidationError",
            "Template format error: At least one Resources member must be defined."
        ])
    );
    assert_eq!(out["yaml"][2], "ValidationError");
    assert!(
        out["yaml"][3]
            .as_str()
            .unwrap()
            .starts_with("Template format error:"),
        "{}",
        out["yaml"]
    );
    assert_eq!(
        out["url"],
        json!([
            400,
            "Sender",
            "ValidationError",
            "TemplateURL must be a supported URL."
        ])
    );
    assert_eq!(out["name"][2], "ValidationError");
    assert!(
        out["name"][3]
            .as_str()
            .unwrap()
            .contains("'1bad' at 'stackName'")
    );
    assert_eq!(
        out["named"],
        json!([
            400,
            "Sender",
            "InsufficientCapabilitiesException",
            "Requires capabilities : [CAPABILITY_NAMED_IAM]"
        ])
    );
    assert_eq!(
        out["noStack"],
        json!([
            400,
            "Sender",
            "ValidationError",
            "Stack with id nope does not exist"
        ])
    );
    assert_eq!(out["badNames"], json!(["failing"]));
    assert_eq!(
        out["validate"],
        json!(["d", [{"ParameterKey": "P", "DefaultValue": "x", "NoEcho": false}], ["CAPABILITY_IAM"],
               "The following resource(s) require capabilities: [R]"])
    );
}

/// The XML on the wire, as botocore parses it: `<ErrorResponse>` with `Type`, `Code`,
/// `Message` and a `RequestId`, status 400.
#[test]
fn errors_come_as_query_protocol_xml() {
    let ep = serve(&["--environment", &seed("environment.json"), "--no-sigv4"]);
    py(
        "import sys, vpcgate_client as v; v.wait_healthy(sys.argv[1]); v.emit({})",
        &[&ep],
    );
    let addr = ep.trim_start_matches("http://");
    let body = "Action=CreateStack&Version=2010-05-15&StackName=bad&TemplateBody=Resources%3A%0A%20%20Sg%3A%0A%20%20%20%20Type%3A%20AWS%3A%3AEC2%3A%3ASecurityGroup%0A%20%20%20%20Properties%3A%0A%20%20%20%20%20%20VpcId%3A%20%21Ref%20Nope%0A";
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("content-type: text/xml"), "{resp}");
    let xml = resp.split("\r\n\r\n").nth(1).unwrap();
    assert!(
        xml.starts_with(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template</Message></Error><RequestId>"
        ),
        "{xml}"
    );
}

/// The seed's two stacks deployed through the API in process (CreateStack, then CreateStack):
/// the time each takes in the server, printed (`cargo test … -- --nocapture`), not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_the_seed_stacks_through_the_api_takes_milliseconds() {
    use vpcgate::edge::query::Form;
    use vpcgate::scenario::stacks::{Environment, deploy, environment_model};
    let env = Environment::load(std::path::Path::new(&seed("environment.json"))).unwrap();
    let model = deploy(&environment_model(&env), &env, &[]).unwrap().model;
    let world = vpcgate::world::World::build(model, vpcgate::clock::Clock::system()).unwrap();
    let edge = Arc::new(
        vpcgate::edge::Edge::new(world, vpcgate::edge::AuthMode::Off).with_environment(env),
    );
    let encode = |pairs: &[(&str, &str)]| {
        let mut f = form_body();
        for (k, v) in pairs {
            f.append_pair(k, v);
        }
        Form::parse(f.finish().as_bytes())
    };
    let infra = std::fs::read_to_string(seed("01-infra.yaml")).unwrap();
    let sfn = std::fs::read_to_string(seed("02-stepfunctions.yaml")).unwrap();
    let mut total = 0.0;
    for (name, body, caps) in [
        ("eb-connection-infra", &infra, ""),
        ("eb-connection-sfn", &sfn, "CAPABILITY_IAM"),
    ] {
        let form = encode(&[
            ("Action", "CreateStack"),
            ("StackName", name),
            ("TemplateBody", body),
            ("Capabilities.member.1", caps),
        ]);
        let call = edge.call_as_root();
        let started = tokio::time::Instant::now();
        vpcgate::edge::cfn_api::dispatch(&edge, &call, "CreateStack", &form).unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        total += ms;
        println!("CreateStack {name}: {ms:.1} ms");
    }
    println!("both seed stacks: {total:.1} ms (target < 50 ms)");
    let names: Vec<String> = edge
        .world()
        .model
        .state_machines
        .iter()
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(
        names,
        ["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"]
    );
}

fn form_body() -> form_urlencoded::Serializer<'static, String> {
    form_urlencoded::Serializer::new(String::new())
}

/// `serve --stack` with a template `vpcgate check --stack` refuses does not start: it exits 2
/// with the check's error, file, line and column (the check runs beside the world's start).
#[test]
fn serve_stack_refuses_a_template_the_check_refuses_with_its_place() {
    let dir = std::env::temp_dir().join(format!("vpcgate-serve-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("s.yaml");
    std::fs::write(
        &template,
        "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !Ref Nope\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vpcgate-cli"))
        .args(["serve", "--listen", "127.0.0.1:0", "--environment"])
        .arg(seed("environment.json"))
        .arg("--stack")
        .arg(format!("bad={}", template.display()))
        .arg("--ca-dir")
        .arg(dir.join("ca"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("s.yaml:6:14: Resources.Sg.Properties.VpcId.Ref"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Unresolved resource dependencies [Nope] in the Resources block"),
        "{stderr}"
    );
}

/// `serve --stack` deploys through the API's path: DescribeStacks lists the stack, a later
/// deploy reads its outputs, and `POST /_vpcgate/reset` returns to it.
#[test]
fn serve_stack_deploys_through_the_api_and_reset_returns_to_it() {
    let ep = serve(&[
        "--environment",
        &seed("environment.json"),
        "--stack",
        &format!("eb-connection-infra={}", seed("01-infra.yaml")),
    ]);
    let out = py(
        r#"
import sys, vpcgate_client as v
ep, sfn_body = sys.argv[1], open(sys.argv[2]).read()
v.wait_healthy(ep)
cfn = v.client("cloudformation", ep, region="ap-northeast-1")
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
out = {"start": [(s["StackName"], s["StackStatus"]) for s in cfn.describe_stacks()["Stacks"]]}
cfn.create_stack(StackName="eb-connection-sfn", TemplateBody=sfn_body, Capabilities=["CAPABILITY_IAM"])
out["deployed"] = v.names(sfn)
v.reset(ep)
out["afterReset"] = [(s["StackName"], s["StackStatus"]) for s in cfn.describe_stacks()["Stacks"]]
out["machinesAfterReset"] = v.names(sfn)
v.emit(out)
"#,
        &[&ep, &seed("02-stepfunctions.yaml")],
    );
    assert_eq!(
        out["start"],
        json!([["eb-connection-infra", "CREATE_COMPLETE"]]),
        "{out}"
    );
    assert_eq!(
        out["deployed"],
        json!(["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"])
    );
    assert_eq!(
        out["afterReset"],
        json!([["eb-connection-infra", "CREATE_COMPLETE"]])
    );
    assert_eq!(out["machinesAfterReset"], json!([]));
}

/// A stack deployed in another (account, Region) builds that scope's own world (issue 12: a
/// world per scope): account 111111111111 deploys a whole Pattern B stack (VPC, internal ALB, VPC
/// link, REST API with IAM auth, role, state machine) beside the seed environment's account, and
/// its execution crosses its own network to its own ALB; the home account sees none of it, and a
/// reset of that account takes its world away.
#[test]
fn a_stack_in_another_account_runs_on_a_world_of_its_own() {
    let ep = serve_seed_environment();
    let scenario: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../scenarios/pattern-b.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let template = json!({"AWSTemplateFormatVersion": "2010-09-09",
                          "Resources": scenario["Resources"], "Outputs": scenario["Outputs"]});
    let out = py(
        r#"
import sys, json, urllib.request, vpcgate_client as v
ep, template = sys.argv[1], sys.argv[2]
other = dict(key="111111111111", secret="anything", region="ap-northeast-1")
cfn = v.client("cloudformation", ep, **other)
cfn.create_stack(StackName="pattern-b", TemplateBody=template, Capabilities=["CAPABILITY_NAMED_IAM"])
status = cfn.describe_stacks(StackName="pattern-b")["Stacks"][0]["StackStatus"]
sfn = v.client("stepfunctions", ep, **other)
arn = "arn:aws:states:ap-northeast-1:111111111111:stateMachine:eb-demo-pattern-b-apigw"
d = v.wait_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
home = v.client("stepfunctions", ep, region="ap-northeast-1")
home_machines = [m["name"] for m in home.list_state_machines()["stateMachines"]]
req = urllib.request.Request(ep + "/_vpcgate/reset?account=111111111111", method="POST")
urllib.request.urlopen(req).read()
after = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
v.emit({"status": status, "execution": d["status"], "output": json.loads(d.get("output") or "null"),
        "cause": d.get("cause"), "home": home_machines, "after_reset": after})
"#,
        &[&ep, &template.to_string()],
    );
    assert_eq!(out["status"], "CREATE_COMPLETE", "{out}");
    assert_eq!(out["execution"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["StatusCode"], 200, "{out}");
    assert_eq!(
        out["output"]["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"}),
        "{out}"
    );
    assert_eq!(out["home"], json!([]), "{out}");
    assert_eq!(out["after_reset"], json!([]), "{out}");
}
