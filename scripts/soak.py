#!/usr/bin/env python3
"""Soak: `vpcgate serve` with the seed's two stacks under steady load, RSS sampled every 10 s.

Runs, for DURATION seconds (default 600), in parallel threads:
  - Pattern A: StartExecution of eb-demo-pattern-a-private, then DescribeExecution until it ends;
  - Pattern B: StartExecution of eb-demo-pattern-b-apigw, the same;
  - a polling workflow made through the API: a STANDARD machine whose HTTP Task calls the ALB
    through the private connection, then Wait 1 s and Choice, three rounds;
  - hostile requests: catastrophic regexes and deep JSONata through TestState.
Prints one line per sample (seconds, RSS MiB, executions so far) and a summary: the RSS range
after the warm-up (the first minute) and whether it stayed within 10 % of its median.

Usage: scripts/soak.py [--duration 600] [--binary target/release/vpcgate]
Not part of CI (it runs for minutes); its figures go into the reliability issue's note.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "tests", "fixtures", "templates", "seed-000")
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "vpcgate"))
    ap.add_argument("--workload", default="a,b,polling,hostile",
                    help="comma-separated subset of a, b, polling, hostile (to find what grows)")
    args = ap.parse_args()
    port = free_port()
    ep = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [args.binary, "serve", "--listen", f"127.0.0.1:{port}",
         "--stack", f"eb-connection-infra={SEED}/01-infra.yaml",
         "--stack", f"eb-connection-sfn={SEED}/02-stepfunctions.yaml",
         "--environment", f"{SEED}/environment.json",
         "--ca-dir", f"/tmp/vpcgate-soak-ca-{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "VPCGATE_LOG": "warn"})
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(ep + "/_vpcgate/health", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        run(ep, proc.pid, args.duration, set(args.workload.split(",")))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client():
    return boto3.client("stepfunctions", endpoint_url="http://127.0.0.1:%d" % PORT[0],
                        region_name="ap-northeast-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 0}))


PORT = [0]


def run(ep, pid, duration, workload):
    PORT[0] = int(ep.rsplit(":", 1)[1])
    sfn = client()
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    # The polling workflow runs as Pattern A's role through Pattern A's connection.
    seed_a = sfn.describe_state_machine(stateMachineArn=machines["eb-demo-pattern-a-private"])
    role = seed_a["roleArn"]
    conn = json.loads(seed_a["definition"])["States"]["CallPrivateApi"]["Parameters"]["Authentication"]["ConnectionArn"]
    polling = {
        "StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                     "Parameters": {"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET",
                                    "Authentication": {"ConnectionArn": conn}},
                     "ResultSelector": {"code.$": "$.StatusCode"}, "ResultPath": "$.last", "Next": "Count"},
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)", "last.$": "$.last"}, "Next": "Done?"},
            "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "End"}], "Default": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Call"},
            "End": {"Type": "Succeed"}}}
    machines["polling"] = sfn.create_state_machine(
        name="soak-polling", definition=json.dumps(polling), roleArn=role)["stateMachineArn"]
    stop = time.time() + duration
    counts = {"executions": 0, "failed_calls": 0, "hostile": 0}
    lock = threading.Lock()

    def worker(name, arn, inp):
        c = client()
        while time.time() < stop:
            try:
                ex = c.start_execution(stateMachineArn=arn, input=json.dumps(inp))["executionArn"]
                while time.time() < stop:
                    if c.describe_execution(executionArn=ex)["status"] != "RUNNING":
                        break
                    time.sleep(0.02)
                with lock:
                    counts["executions"] += 1
            except Exception:
                with lock:
                    counts["failed_calls"] += 1
                time.sleep(0.1)

    def hostile():
        c = client()
        exprs = ["$match('" + "a" * 40 + "!', /(a+)+$/)", "1" + "+1" * 1500,
                 "( $s := function($n){ $n = 0 ? 0 : $n + $s($n - 1) }; $s(100000) )", "$pad('', 1000000000)"]
        i = 0
        while time.time() < stop:
            d = {"QueryLanguage": "JSONata", "Type": "Pass", "Output": "{% " + exprs[i % len(exprs)] + " %}", "End": True}
            try:
                c.test_state(definition=json.dumps(d), roleArn=role)
            except Exception:
                pass
            with lock:
                counts["hostile"] += 1
            i += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n, machines[n], inp)) for w, n, inp in
               [("a", "eb-demo-pattern-a-private", {}), ("a", "eb-demo-pattern-a-private", {}),
                ("b", "eb-demo-pattern-b-apigw", {}), ("b", "eb-demo-pattern-b-apigw", {}),
                ("polling", "polling", {"n": 0})] if w in workload]
    if "hostile" in workload:
        threads.append(threading.Thread(target=hostile))
    for t in threads:
        t.start()
    samples = []
    begin = time.time()
    while time.time() < stop:
        time.sleep(10)
        r = rss_mib(pid)
        t = time.time() - begin
        samples.append((t, r))
        with lock:
            print(f"{t:6.0f} s  RSS {r:7.1f} MiB  executions {counts['executions']:7d}  hostile {counts['hostile']:6d}  failed calls {counts['failed_calls']}", flush=True)
        try:
            urllib.request.urlopen(ep + "/_vpcgate/health", timeout=2)
        except Exception as e:
            print(f"health did not answer within 2 s: {e}", flush=True)
    for t in threads:
        t.join()
    steady = [r for t, r in samples if t >= 60] or [r for _, r in samples]
    med = statistics.median(steady)
    spread = max(abs(r - med) / med for r in steady)
    print(json.dumps({"samples": len(samples), "rss_min_mib": round(min(steady), 1), "rss_max_mib": round(max(steady), 1),
                      "rss_median_mib": round(med, 1), "max_deviation_pct": round(100 * spread, 1),
                      "flat_within_10pct": spread <= 0.10, "executions": counts["executions"],
                      "hostile_requests": counts["hostile"], "failed_calls": counts["failed_calls"]}))
    sys.exit(0 if spread <= 0.10 else 1)


if __name__ == "__main__":
    main()
