"""Shared by the tests that drive `vpcgate serve` with boto3: client construction, the health
wait, and small helpers. Tests put this folder on PYTHONPATH and `import vpcgate_client`."""
import json
import sys
import time
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# A definition every account can run: no Task, no role needed.
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}})


def wait_healthy(endpoint, seconds=20.0, path="/_vpcgate/health"):
    """Waits until `GET <path>` (vpcgate's health by default) answers 200."""
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(endpoint + path, timeout=1)
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def client(service, endpoint, key="test", secret="test", region="us-east-1"):
    """A boto3 client for `serve`: host prefixes off (StartSyncExecution, TestState), one try."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def code(call, *args, **kwargs):
    """"ok", or the error code a call fails with."""
    try:
        call(*args, **kwargs)
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]


def code_and_message(call, *args, **kwargs):
    """"ok", or [code, message] of the error a call fails with."""
    try:
        call(*args, **kwargs)
        return "ok"
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]


def role(account, ep=None):
    """A role Step Functions may assume. In the world's account that is one of its roles whose
    trust policy names states.amazonaws.com (listed at /_vpcgate/world): CreateStateMachine refuses
    unknown roles and roles that do not trust Step Functions, as AWS does. vpcgate holds no IAM
    for other accounts, so any role name is accepted there."""
    if ep is not None:
        world = json.loads(urllib.request.urlopen(ep + "/_vpcgate/world").read())
        if world["accountId"] == account:
            for r in world["roles"]:
                if "states.amazonaws.com" in r["trustedServices"]:
                    return r["arn"]
    return f"arn:aws:iam::{account}:role/vpcgate-test"


def wait_execution(sfn, arn, seconds=20.0):
    """DescribeExecution until the execution is no longer RUNNING."""
    deadline = time.time() + seconds
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.02)


def reset(endpoint, account=None):
    """POST /_vpcgate/reset (one account, or all); returns its JSON answer."""
    url = endpoint + "/_vpcgate/reset" + (f"?account={account}" if account else "")
    req = urllib.request.Request(url, data=b"", method="POST")
    return json.loads(urllib.request.urlopen(req).read())


def names(sfn):
    return sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])


def emit(out):
    json.dump(out, sys.stdout)
