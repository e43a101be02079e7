"""Drives `vpcgate serve` with boto3 the way a user's code would, and prints what came back as
JSON for the Rust test to check. Usage: boto3_stepfunctions.py ENDPOINT CONNECTION_ARN ROLE_ARN"""
import json
import sys
import time

import boto3
from botocore.config import Config

endpoint, connection_arn, role_arn = sys.argv[1:4]
# StartSyncExecution is sent to "sync-<host>" unless host prefix injection is off (README).
sfn = boto3.client(
    "stepfunctions",
    endpoint_url=endpoint,
    region_name="ap-northeast-1",
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
)
out = {}

# The seed's Pattern A state machine, as an Express workflow so StartSyncExecution answers.
definition = json.dumps({
    "StartAt": "CallPrivateApi",
    "States": {"CallPrivateApi": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSeconds": 60,
        "Parameters": {"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET",
                       "Authentication": {"ConnectionArn": connection_arn}},
        "End": True}},
})
created = sfn.create_state_machine(name="eb-demo-pattern-a-express", definition=definition,
                                   roleArn=role_arn, type="EXPRESS")
res = sfn.start_sync_execution(stateMachineArn=created["stateMachineArn"], input="{}")
out["sync"] = {"status": res["status"], "output": json.loads(res["output"]),
               "outputIsString": isinstance(res["output"], str),
               "billing": res["billingDetails"], "arn": res["executionArn"]}

# Typed errors.
try:
    sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"] + "-missing")
except sfn.exceptions.StateMachineDoesNotExist as e:
    out["missing"] = {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
try:
    sfn.create_state_machine(name="bad", definition='{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}}}', roleArn=role_arn)
except sfn.exceptions.InvalidDefinition as e:
    out["invalidDefinition"] = e.response["Error"]["Message"]

# A Standard execution that fails, described.
failing = sfn.create_state_machine(name="fails", roleArn=role_arn, definition=json.dumps(
    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Custom.Broken", "Cause": "it broke"}}}))
started = sfn.start_execution(stateMachineArn=failing["stateMachineArn"], name="run-1", input='{"a": 1}')
for _ in range(200):
    d = sfn.describe_execution(executionArn=started["executionArn"])
    if d["status"] != "RUNNING":
        break
    time.sleep(0.01)
out["failed"] = {"status": d["status"], "error": d.get("error"), "cause": d.get("cause"), "input": d["input"]}
history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
out["history"] = [e["type"] for e in history]
out["executions"] = [e["status"] for e in sfn.list_executions(stateMachineArn=failing["stateMachineArn"])["executions"]]

# An Express execution that times out (TimeoutSeconds 1 at the top level).
slow = sfn.create_state_machine(name="slow", roleArn=role_arn, type="EXPRESS", definition=json.dumps(
    {"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}))
t = sfn.start_sync_execution(stateMachineArn=slow["stateMachineArn"])
out["timedOut"] = {"status": t["status"], "error": t.get("error")}

print(json.dumps(out, default=str))
