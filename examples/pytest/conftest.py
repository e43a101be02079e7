"""pytest fixtures for testing against `vpcgate serve`, the way LocalStack users already do.

One `vpcgate serve` per test session (on a free port, the seed's whole setup: both patterns),
reset before every test (`POST /_vpcgate/reset`, a few milliseconds), and boto3 clients signed
with test / test in the world's Region.

The server: the binary in $VPCGATE_BIN if set, else `cargo run -p vpcgate` from this checkout.
With pytest-xdist each worker starts its own server (the fixture is per session, so per worker);
several suites sharing one server would use an account each (a 12-digit access key id) instead.

    python3 -m pytest examples/pytest -q
"""
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vpcgate:
    """A running `vpcgate serve`: its endpoint, the world's Region and account, and helpers."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        world = json.loads(urllib.request.urlopen(endpoint + "/_vpcgate/world").read())
        self.region = world["region"]
        self.account = world["accountId"]
        # A role Step Functions may assume (CreateStateMachine refuses one that does not exist
        # or does not trust states.amazonaws.com, as AWS does).
        self.states_role = next(
            r["arn"] for r in world["roles"] if "states.amazonaws.com" in r["trustedServices"]
        )

    def client(self, service, key="test", secret="test", region=None):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            # StartSyncExecution and TestState use a host prefix ("sync-"): off for a local endpoint.
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
        )

    def reset(self):
        req = urllib.request.Request(self.endpoint + "/_vpcgate/reset", data=b"", method="POST")
        return json.loads(urllib.request.urlopen(req).read())


@pytest.fixture(scope="session")
def vpcgate_server(tmp_path_factory):
    port = _free_port()
    args = ["serve", "--listen", f"127.0.0.1:{port}", "--ca-dir", str(tmp_path_factory.mktemp("ca"))]
    binary = os.environ.get("VPCGATE_BIN")
    cmd = [binary, *args] if binary else ["cargo", "run", "-q", "-p", "vpcgate", "--", *args]
    env = dict(os.environ)
    env.setdefault("VPCGATE_LOG", "warn")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + (30 if binary else 600)
    while True:
        try:
            urllib.request.urlopen(endpoint + "/_vpcgate/health", timeout=1)
            break
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError(f"vpcgate serve exited with {proc.returncode}")
            if time.time() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    try:
        yield Vpcgate(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def vpcgate(vpcgate_server):
    """The server, back at its start state: what earlier tests made is gone."""
    vpcgate_server.reset()
    return vpcgate_server


@pytest.fixture
def sfn(vpcgate):
    return vpcgate.client("stepfunctions")


@pytest.fixture
def events(vpcgate):
    return vpcgate.client("events")
