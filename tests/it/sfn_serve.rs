//! Step Functions APIs of issue 19 on `vpcgate serve`, driven with boto3: definition validation
//! with AWS's diagnostics (shapes AWS-recorded in LocalStack's
//! tests/aws/services/stepfunctions/v2/test_sfn_api_validation.snapshot.json).

use crate::serve_conventions::{py, serve};
use serde_json::json;

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

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
